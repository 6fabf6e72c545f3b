// Upgrading a database that already holds data: rows written at migration 001
// (and at 002, once webhooks exist) go through every later migration one at a
// time, then today's service reads them, moves them and adds to them. And two
// `npm run migrate` processes started at once against an empty database.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { hashKey } from '../../core/apiKeys.js';
import { MIGRATIONS_DIR, migrate, readMigrations } from '../../core/platform/migrations.js';
import { rescueOnce } from '../../worker/maintenance/rescuer.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTestDatabase } from '../helpers/database.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { spawnScript } from '../helpers/processes.js';
import { startStack } from '../helpers/stack.js';

/** A folder holding the first `count` migration files: the schema as it was at that migration. */
async function migrationsUpTo(count: number): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `gleaner-migrations-${count}-`));
  onCleanup(() => fs.rm(dir, { recursive: true, force: true }));
  for (const m of (await readMigrations()).slice(0, count)) await fs.copyFile(path.join(MIGRATIONS_DIR, `${m.name}.sql`), path.join(dir, `${m.name}.sql`));
  return dir;
}

const OLD_KEY = `knowledgesdk_live_${'Upgrade0'.repeat(5)}`;

test('rows written at migration 001 survive every later migration and work with today’s service', async () => {
  const all = await readMigrations();
  assert.equal(all[0]!.version, 1);
  assert.ok(all.some((m) => m.name === '006_job_events_without_fk'), 'the foreign key drop is among the migrations');
  const site = await startHttpServer(fixtureSite({ '/old': articlePage('Old page', 'A page first fetched before the upgrade, fetched again after it.') }));
  const db = await createTestDatabase({ migrate: false });
  const { sql } = db;

  // Migration 001 only, with what a service of that time wrote.
  assert.deepEqual(await migrate(sql, await migrationsUpTo(1)), ['001_initial']);
  await sql`insert into api_keys (id, name, key_hash, key_prefix, created_at) values ('key_old', 'old', ${hashKey(OLD_KEY)}, ${OLD_KEY.slice(0, 24)}, now() - interval '30 days')`;
  const job = (id: string, status: string, extra: Record<string, unknown> = {}) => ({
    id,
    api_key_id: 'key_old',
    status,
    input: sql.json({ url: `${site.url}/old` }),
    callback_url: null,
    attempts: 1,
    max_attempts: 3,
    created_at: new Date(Date.now() - 3600_000),
    ...extra,
  });
  const oldResult = { knowledgeItems: [{ title: 'Old page', description: 'd', content: '# Old page', category: 'docs', source: `${site.url}/old` }], pagesScraped: 1 };
  for (const row of [
    job('job_oldcompleted', 'completed', { result: sql.json(oldResult), started_at: new Date(Date.now() - 3599_000), completed_at: new Date(Date.now() - 3598_000) }),
    job('job_oldfailed', 'failed', { error: sql.json({ code: 'upstream_status', message: 'HTTP 503', status: 503 }), completed_at: new Date(Date.now() - 3598_000), attempts: 3 }),
    // Held by a worker that died during the upgrade: silent for an hour.
    job('job_oldprocessing', 'processing', { worker_id: 'w_gone', started_at: new Date(Date.now() - 3600_000), heartbeat_at: new Date(Date.now() - 3600_000) }),
  ]) {
    await sql`insert into jobs ${sql(row)}`;
  }
  const events = (id: string, moves: [string | null, string, number][]) => moves.map(([from, to, attempt]) => ({ job_id: id, from_status: from, to_status: to, attempt, worker_id: from ? 'w_old' : null }));
  await sql`insert into job_events ${sql([
    ...events('job_oldcompleted', [[null, 'pending', 0], ['pending', 'processing', 1], ['processing', 'completed', 1]]),
    ...events('job_oldfailed', [[null, 'pending', 0], ['pending', 'processing', 1], ['processing', 'failed', 1]]),
    ...events('job_oldprocessing', [[null, 'pending', 0], ['pending', 'processing', 1]]),
  ])}`;

  // Then each later migration on its own, adding what the new tables hold once they exist.
  for (let count = 2; count <= all.length; count++) {
    assert.deepEqual(await migrate(sql, await migrationsUpTo(count)), [all[count - 1]!.name]);
    if (all[count - 1]!.name === '002_webhooks') {
      await sql`insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, status_code, duration_ms, outcome) values ('job_oldcompleted', 'job.completed', 'msg_old', 1, 'http://127.0.0.1:9/hook', 200, 12, 'delivered')`;
    }
  }
  assert.deepEqual(await migrate(sql), [], 'the upgraded database is current');
  const [fk] = await sql`select count(*)::int as n from pg_constraint where conrelid = 'job_events'::regclass and contype = 'f'`;
  assert.equal(fk!.n, 0, '006 dropped the foreign key');
  const [counts] = await sql`select (select count(*) from api_keys)::int as keys, (select count(*) from jobs)::int as jobs, (select count(*) from job_events)::int as events, (select count(*) from webhook_deliveries)::int as deliveries`;
  assert.deepEqual({ ...counts }, { keys: 1, jobs: 3, events: 8, deliveries: 1 });

  // Today's service on the upgraded database, through its API with the old key.
  const stack = await startStack({ database: db, worker: true, config: { JOB_MAX_ATTEMPTS: '3' } });
  const as = { key: OLD_KEY };
  const completed = await stack.request('GET', '/v1/jobs/job_oldcompleted', as);
  assert.equal(completed.status, 200, 'the old key authenticates');
  assert.equal(completed.body.status, 'completed');
  assert.deepEqual(completed.body.result, oldResult);
  const history = await stack.request('GET', '/v1/jobs/job_oldcompleted/events', as);
  assert.deepEqual(history.body.events.map((e: { from: string | null; to: string }) => [e.from, e.to]), [[null, 'pending'], ['pending', 'processing'], ['processing', 'completed']]);
  const deliveries = await stack.request('GET', '/v1/jobs/job_oldcompleted/deliveries', as);
  assert.deepEqual(deliveries.body.deliveries.map((d: { webhookId: string; outcome: string; statusCode: number }) => [d.webhookId, d.outcome, d.statusCode]), [['msg_old', 'delivered', 200]]);
  const listed = await stack.request('GET', '/v1/jobs?limit=10', as);
  assert.deepEqual(listed.body.jobs.map((j: { jobId: string }) => j.jobId).sort(), ['job_oldcompleted', 'job_oldfailed', 'job_oldprocessing']);

  // Old rows move through today's state machine: a client retry, a rescue, and a new job.
  const retried = await stack.request('POST', '/v1/jobs/job_oldfailed/retry', as);
  assert.equal(retried.status, 202, JSON.stringify(retried.body));
  const rescue = await rescueOnce(stack.sql, stack.boss, stack.logger, { rescueAfterMs: 60_000 });
  assert.deepEqual(rescue.rescued.map((j) => j.id), ['job_oldprocessing']);
  const fresh = await stack.request('POST', '/v1/extract/async', { ...as, body: { url: `${site.url}/old` } });
  assert.equal(fresh.status, 202);
  for (const id of ['job_oldfailed', 'job_oldprocessing', fresh.body.jobId]) {
    const done = await stack.waitForStatus(id, ['completed', 'failed']);
    assert.equal(done.status, 'completed', `${id}: ${JSON.stringify(done.error)}`);
    assert.equal((done.result as { knowledgeItems: { title: string }[] }).knowledgeItems[0]!.title, 'Old page');
  }
  const rescuedEvents = await stack.request('GET', '/v1/jobs/job_oldprocessing/events', as);
  assert.deepEqual(
    rescuedEvents.body.events.map((e: { to: string }) => e.to),
    ['pending', 'processing', 'pending', 'processing', 'completed'],
    'the events written before the upgrade come first, then today’s',
  );
});

test('two `npm run migrate` processes started at once against an empty database: each migration applied once, both exit 0', async () => {
  const db = await createTestDatabase({ migrate: false });
  const all = await readMigrations();
  // Make them really start together: hold the table that records migrations
  // (created as the first statement of migrate() would) until both processes
  // are blocked, one on it and one on the advisory lock (or both on the table,
  // were the advisory lock gone), then let go.
  await db.sql`create table schema_migrations (version integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`;
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let holding!: () => void;
  const held = new Promise<void>((r) => (holding = r));
  const holder = db.sql.begin(async (tx) => {
    await tx`lock table schema_migrations in access exclusive mode`;
    holding();
    await released;
  });
  await held;
  const env = { DATABASE_URL: db.url, LOG_LEVEL: 'warn' };
  const procs = [spawnScript('cli/migrate.ts', [], env), spawnScript('cli/migrate.ts', [], env)];
  const deadline = Date.now() + 60_000;
  for (;;) {
    const waiting = (await db.sql`select count(*)::int as n from pg_locks where not granted and pid <> pg_backend_pid()`)[0]!.n;
    if (waiting === 2 || !procs.every((p) => p.alive)) break;
    assert.ok(Date.now() < deadline, `both processes blocked (${waiting} waiting)`);
    await new Promise((r) => setTimeout(r, 50));
  }
  release();
  await holder;
  const exits = await Promise.all(procs.map((p) => p.exited));
  exits.forEach((e, i) => assert.equal(e.code, 0, procs[i]!.stderr()));
  const outputs = procs.map((p) => p.stdout().trim()).sort();
  // One applied everything; the other waited on the lock and then found nothing to do.
  assert.deepEqual(outputs, [`applied: ${all.map((m) => m.name).join(', ')}`, 'database is up to date'].sort());
  const rows = await db.sql`select version, count(*)::int as n from schema_migrations group by version order by version`;
  assert.deepEqual(rows.map((r) => [r.version, r.n]), all.map((m) => [m.version, 1]));
});

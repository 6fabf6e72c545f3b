// pg-boss's tables as Gleaner uses them (issue 13, items 3 and 11): queue
// entries are finished inside the caller's transaction, and start-up refuses
// a pg-boss schema the queue SQL was not written for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import PgBoss from 'pg-boss';
import { claimNextJobs, createJob, failAttempt } from '../../core/jobs/index.js';
import { finishQueueEntry } from '../../core/jobs/move.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { EXTRACT_QUEUE, PGBOSS_SCHEMA_VERSION, startQueue } from '../../core/queue/index.js';
import { createTestDatabase } from '../helpers/database.js';
import { runScript } from '../helpers/processes.js';
import { startStack } from '../helpers/stack.js';

test('finishing a queue entry is part of the caller’s transaction: rolled back, the entry is untouched', async () => {
  const stack = await startStack();
  const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url: 'https://example.com/' }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  const [held] = (await claimNextJobs(stack.sql, { workerId: 'w1', limit: 1 })).claimed;
  assert.equal(held?.job.id, job.id);
  const entry = async () => (await stack.sql`select state, output from pgboss.job where name = ${EXTRACT_QUEUE} and id = ${held!.entryId}`)[0]!;

  await assert.rejects(
    stack.sql.begin(async (tx) => {
      await finishQueueEntry(tx, held!.entryId);
      throw new Error('roll back');
    }),
    /roll back/,
  );
  assert.deepEqual({ ...(await entry()) }, { state: 'active', output: null }, 'the rolled-back transaction left the entry active');

  // Through a state change that uses it (failAttempt) and a failure after it: nothing of it stays.
  await assert.rejects(
    stack.sql.begin(async (tx) => {
      await finishQueueEntry(tx, [held!.entryId, null]);
      await tx`select 1/0`;
    }),
  );
  assert.equal((await entry()).state, 'active');

  // Committed, it completes the entry without writing anything into its output.
  await failAttempt(stack.sql, stack.boss, stack.logger, {
    jobId: job.id,
    attempt: 1,
    workerId: 'w1',
    queueJobId: held!.entryId,
    error: { code: 'internal_error', message: 'boom' },
    retryable: false,
    retryDelayMs: 0,
  });
  assert.deepEqual({ ...(await entry()) }, { state: 'completed', output: null });
});

test('start-up refuses a pg-boss schema version the queue SQL was not written for, with a clear message', async () => {
  const db = await createTestDatabase();
  const logger = createSilentLogger();
  // A first start installs pg-boss's schema at the version we know.
  const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  await boss.stop({ graceful: false, wait: true });
  const [row] = await db.sql`select version from pgboss.version`;
  assert.equal(row!.version, PGBOSS_SCHEMA_VERSION);

  // An older schema (pg-boss's own rollback to 23) is migrated by pg-boss at start, not refused.
  const conn = await db.sql.reserve(); // the plan is a transaction of its own (BEGIN … COMMIT)
  await conn.unsafe(PgBoss.getRollbackPlans('pgboss'));
  conn.release();
  assert.equal((await db.sql`select version from pgboss.version`)[0]!.version, PGBOSS_SCHEMA_VERSION - 1);
  const upgraded = await startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  await upgraded.stop({ graceful: false, wait: true });
  assert.equal((await db.sql`select version from pgboss.version`)[0]!.version, PGBOSS_SCHEMA_VERSION);

  // A newer pg-boss migrated the database meanwhile.
  await db.sql`update pgboss.version set version = ${PGBOSS_SCHEMA_VERSION + 1}`;
  await assert.rejects(
    startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger),
    new RegExp(`database has pg-boss schema version ${PGBOSS_SCHEMA_VERSION + 1}, but Gleaner's queue SQL \\(core/queue/\\) was written for version ${PGBOSS_SCHEMA_VERSION}`),
  );

  // The worker process stops at start-up with that message (exit 1, no stack trace).
  const run = await runScript('worker/main.ts', [], { DATABASE_URL: db.url, LOG_LEVEL: 'info' }, 60_000);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /^gleaner failed to start: the database has pg-boss schema version \d+, but Gleaner's queue SQL/m);
  assert.doesNotMatch(run.stderr, /\n\s+at /);
});

test('pg-boss installs the tables, columns, states and keys that core/queue/ reads and writes', async () => {
  const db = await createTestDatabase();
  const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, createSilentLogger());
  await boss.stop({ graceful: false, wait: true });
  // Every column a statement in core/queue/ names, with its type: a pg-boss
  // release that renames, drops or retypes one fails here, not in production.
  const expected: Record<string, Record<string, string>> = {
    job: {
      id: 'uuid', name: 'text', data: 'jsonb', priority: 'int4', state: 'job_state', start_after: 'timestamptz', created_on: 'timestamptz',
      started_on: 'timestamptz', completed_on: 'timestamptz', expire_in: 'interval', keep_until: 'timestamptz', retry_limit: 'int4',
      retry_count: 'int4', retry_delay: 'int4', retry_backoff: 'bool', policy: 'text', dead_letter: 'text', output: 'jsonb',
    },
    queue: {
      name: 'text', partition_name: 'text', policy: 'text', retry_limit: 'int4', retry_delay: 'int4', retry_backoff: 'bool',
      expire_seconds: 'int4', retention_minutes: 'int4', dead_letter: 'text',
    },
    version: { version: 'int4' },
  };
  const columns = await db.sql`
    select table_name, column_name, udt_name from information_schema.columns
    where table_schema = 'pgboss' and table_name in ('job', 'queue', 'version')`;
  for (const [table, want] of Object.entries(expected)) {
    const found = Object.fromEntries(columns.filter((c) => c.table_name === table).map((c) => [c.column_name, c.udt_name]));
    for (const [column, type] of Object.entries(want)) assert.equal(found[column], type, `pgboss.${table}.${column} is ${type}`);
  }
  // The states in pg-boss's order: `state < 'active'` means waiting (created or retry), the last three mean ended.
  const states = await db.sql`select e.enumlabel from pg_enum e join pg_type t on t.oid = e.enumtypid join pg_namespace n on n.oid = t.typnamespace where n.nspname = 'pgboss' and t.typname = 'job_state' order by e.enumsortorder`;
  assert.deepEqual(states.map((s) => s.enumlabel), ['created', 'retry', 'active', 'completed', 'cancelled', 'failed']);
  // An entry is one row per (name, id) (core/queue/lostEntries.ts looks one up by it), and each queue keeps its own partition (claimEntries.ts).
  const [key] = await db.sql`
    select array_agg(a.attname::text order by k.ord) as columns from pg_constraint c
    cross join lateral unnest(c.conkey) with ordinality k(attnum, ord)
    join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum
    where c.conrelid = 'pgboss.job'::regclass and c.contype = 'p'`;
  assert.deepEqual([...(key!.columns as string[])].sort(), ['id', 'name']);
  const [partitioned] = await db.sql`select relkind::text from pg_class where oid = 'pgboss.job'::regclass`;
  assert.equal(partitioned!.relkind, 'p', 'pgboss.job is partitioned by queue');
});

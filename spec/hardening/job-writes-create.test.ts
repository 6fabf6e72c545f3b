// Creating jobs: the batch fallback never duplicates a job (issue 13 item 8);
// MAX_JOBS_IN_FLIGHT_PER_KEY and Idempotency-Key hold under concurrent
// submissions, in one API process and across two (issue 21 item 2); a retry is
// capped like a create (issue 13 item 18); lists and ownership checks never
// read a job's result (issue 13 item 2).
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import postgres from 'postgres';
import { createApiKey } from '../../core/apiKeys.js';
import { JobCreator, TooManyJobsInFlightError, type CreateJobParams } from '../../core/jobs/index.js';
import { lockedOpenJobs } from '../../core/jobs/create.js';
import { listAllJobs } from '../../core/jobs/adminQueries.js';
import { isDataError } from '../../core/platform/sqlErrors.js';
import { createApp } from '../../server/app.js';
import { onCleanup } from '../helpers/cleanup.js';
import { errorCode } from '../helpers/errors.js';
import { spawnScript } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { waitUntil } from '../../testing/waitUntil.js';

const params = (stack: Stack, url: string, extra: Partial<CreateJobParams> = {}): CreateJobParams => ({
  apiKeyId: stack.apiKeyId,
  input: { url },
  callbackUrl: null,
  idempotencyKey: null,
  requestHash: null,
  maxAttempts: 3,
  ...extra,
});

async function countByUrl(stack: Stack, prefix: string): Promise<Map<string, number>> {
  const rows = await stack.sql`select input->>'url' as url, count(*)::int as n from jobs where input->>'url' like ${`${prefix}%`} group by 1`;
  return new Map(rows.map((r) => [r.url as string, r.n as number]));
}

test('a batch refused for one bad item is written item by item: the others are created, the bad one fails alone', async () => {
  const stack = await startStack();
  const jobs = new JobCreator(stack.sql);
  // Submitted in one turn: the first goes as a statement of its own, the next six wait and share one.
  const subs = Array.from({ length: 7 }, (_, i) =>
    jobs.create(params(stack, `https://example.test/data/${i}`, i === 5 ? { maxAttempts: 2 ** 40 } : {})).then(
      () => 'created',
      (err: unknown) => (isDataError(err) ? 'refused' : `other: ${String(err)}`),
    ),
  );
  assert.deepEqual(await Promise.all(subs), ['created', 'created', 'created', 'created', 'created', 'refused', 'created']);
  const counts = await countByUrl(stack, 'https://example.test/data/');
  assert.deepEqual([...counts.keys()].sort(), [0, 1, 2, 3, 4, 6].map((i) => `https://example.test/data/${i}`));
  assert.ok([...counts.values()].every((n) => n === 1));
});

/**
 * A TCP proxy to PostgreSQL that, once a client sends bytes containing
 * `marker`, withholds that connection's answer and cuts it when the server
 * says ReadyForQuery: the statement has committed, the client never learns it.
 */
async function commitThenCutProxy(target: URL, marker: string): Promise<{ url: string; cuts: () => number }> {
  let cuts = 0;
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    let armed = false;
    let held = Buffer.alloc(0);
    client.on('data', (d: Buffer) => {
      if (d.includes(marker)) armed = true;
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      if (!armed) return void client.write(d);
      held = Buffer.concat([held, d]);
      for (let off = 0; held.length - off >= 5; ) {
        const len = held.readUInt32BE(off + 1);
        if (held[off] === 0x5a /* Z: ReadyForQuery, sent after the commit */) {
          cuts++;
          client.destroy();
          upstream.destroy();
          return;
        }
        off += 1 + len;
      }
    });
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  const url = new URL(target);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return { url: url.toString(), cuts: () => cuts };
}

test('a batch whose connection drops after the commit is not written again item by item (no duplicate jobs)', async () => {
  const stack = await startStack();
  // The first job goes alone; the six that wait share the only statement whose jobs list has an "ord":2.
  const proxy = await commitThenCutProxy(new URL(stack.url), '"ord":2');
  const sql = postgres(proxy.url, { max: 8, ssl: false, onnotice: () => {} });
  onCleanup(() => sql.end({ timeout: 1 }));
  const jobs = new JobCreator(sql);
  const outcomes = await Promise.all(
    Array.from({ length: 7 }, (_, i) =>
      jobs.create(params(stack, `https://example.test/cut/${i}`)).then(
        () => 'created',
        () => 'error',
      ),
    ),
  );
  assert.equal(proxy.cuts(), 1, 'the batch statement was cut after its commit');
  assert.deepEqual(outcomes, ['created', 'error', 'error', 'error', 'error', 'error', 'error']);
  const counts = await countByUrl(stack, 'https://example.test/cut/');
  assert.equal(counts.size, 7, 'the cut batch committed');
  assert.deepEqual([...counts.entries()].filter(([, n]) => n !== 1), [], 'no job was created twice');
});

async function submitAll(baseUrls: string[], key: string, n: number, body: (i: number) => unknown, headers: Record<string, string> = {}) {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const res = await fetch(`${baseUrls[i % baseUrls.length]}/v1/extract/async`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': key, ...headers },
        body: JSON.stringify(body(i)),
      });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as { jobId?: string } };
    }),
  );
}

async function openJobs(stack: Stack, apiKeyId: string): Promise<number> {
  const [row] = await stack.sql`select count(*)::int as n from jobs where api_key_id = ${apiKeyId} and status in ('pending', 'processing')`;
  return row!.n as number;
}

async function checkCapAndIdempotency(stack: Stack, baseUrls: string[]) {
  // 50 at once against a cap of 3.
  const capped = await createApiKey(stack.sql, 'capped');
  const answers = await submitAll(baseUrls, capped.key, 50, (i) => ({ url: `https://example.test/cap/${i}` }));
  const accepted = answers.filter((a) => a.status === 202);
  const refused = answers.filter((a) => a.status === 429);
  assert.equal(accepted.length + refused.length, 50, `only 202 and 429: ${JSON.stringify(answers.map((a) => a.status))}`);
  assert.equal(accepted.length, 3, 'exactly the cap is accepted');
  assert.ok(refused.every((a) => a.retryAfter !== null));
  assert.equal(await openJobs(stack, capped.apiKey.id), 3);

  // 20 at once with one Idempotency-Key: one job, every other answer a replay of it.
  const idem = await createApiKey(stack.sql, 'idempotent');
  const same = await submitAll(baseUrls, idem.key, 20, () => ({ url: 'https://example.test/once' }), { 'idempotency-key': 'one-key' });
  const statuses = same.map((a) => a.status);
  assert.equal(statuses.filter((s) => s === 202).length, 1, JSON.stringify(statuses));
  assert.equal(statuses.filter((s) => s === 200).length, 19, JSON.stringify(statuses));
  assert.equal(new Set(same.map((a) => a.body.jobId)).size, 1, 'every answer names the same job');
  assert.ok(same.filter((a) => a.status === 200).every((a) => a.replayed === 'true'));
  const [row] = await stack.sql`select count(*)::int as n from jobs where api_key_id = ${idem.apiKey.id}`;
  assert.equal(row!.n, 1);
}

test('MAX_JOBS_IN_FLIGHT_PER_KEY and Idempotency-Key hold under 50 and 20 concurrent submissions to one API process', async () => {
  const stack = await startStack({ config: { MAX_JOBS_IN_FLIGHT_PER_KEY: '3' } });
  await checkCapAndIdempotency(stack, [stack.baseUrl]);
});

test('... and across two API processes sharing the database', async () => {
  const stack = await startStack({ config: { MAX_JOBS_IN_FLIGHT_PER_KEY: '3' } });
  const env = { DATABASE_URL: stack.url, PORT: '0', MAX_JOBS_IN_FLIGHT_PER_KEY: '3', CREATE_INITIAL_KEY: 'false', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info' };
  const apis = [spawnScript('server/main.ts', [], env), spawnScript('server/main.ts', [], env)];
  const urls = await Promise.all(apis.map(async (p) => (await p.waitForLog((l) => l.message === 'API listening', 60_000, "'API listening'")).url as string));
  await checkCapAndIdempotency(stack, urls);
  for (const p of apis) await p.stop('SIGTERM');
});

test('the cap and idempotency hold for concurrent creates through two independent connection pools, as in two API processes', async () => {
  const stack = await startStack();
  // Each pool has its own job writer, so the two pools' statements reach the database at once and race for the key's cap.
  const other = postgres(stack.url, { max: 10, onnotice: () => {} });
  onCleanup(() => other.end({ timeout: 1 }));
  const pools = [new JobCreator(stack.sql), new JobCreator(other)];
  const capped = await createApiKey(stack.sql, 'capped-direct');
  const outcomes = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      pools[i % 2]!.create({ ...params(stack, `https://example.test/direct/${i}`), apiKeyId: capped.apiKey.id, maxInFlight: 3 }).then(
        () => 'created',
        (err: unknown) => (err instanceof TooManyJobsInFlightError ? 'refused' : String(err)),
      ),
    ),
  );
  assert.equal(outcomes.filter((o) => o === 'created').length, 3, JSON.stringify(outcomes));
  assert.equal(outcomes.filter((o) => o === 'refused').length, 47);
  assert.equal(await openJobs(stack, capped.apiKey.id), 3);

  const idem = await createApiKey(stack.sql, 'idempotent-direct');
  const replays = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      pools[i % 2]!.create({ ...params(stack, 'https://example.test/direct-once'), apiKeyId: idem.apiKey.id, idempotencyKey: 'k', requestHash: 'h', maxInFlight: 3 }),
    ),
  );
  assert.equal(new Set(replays.map((r) => r.job.id)).size, 1);
  assert.equal(replays.filter((r) => !r.replayed).length, 1);
});

test('retry respects MAX_JOBS_IN_FLIGHT_PER_KEY: 429 with Retry-After at the cap, 202 once there is room', async () => {
  const stack = await startStack({ config: { MAX_JOBS_IN_FLIGHT_PER_KEY: '2' } });
  const submit = async (i: number) => (await stack.request('POST', '/v1/extract/async', { body: { url: `https://example.test/retry/${i}` } })).body.jobId as string;
  const first = await submit(0);
  assert.equal((await stack.request('POST', `/v1/jobs/${first}/cancel`)).status, 200);
  const a = await submit(1);
  await submit(2);
  assert.equal(await openJobs(stack, stack.apiKeyId), 2);
  const refused = await stack.request('POST', `/v1/jobs/${first}/retry`);
  assert.equal(refused.status, 429);
  assert.equal(errorCode(refused.body), 'too_many_jobs_in_flight');
  assert.ok(refused.headers.get('retry-after'));
  assert.equal((await stack.request('GET', `/v1/jobs/${first}`)).body.status, 'cancelled', 'the refused retry changed nothing');
  assert.equal(await openJobs(stack, stack.apiKeyId), 2);
  assert.equal((await stack.request('POST', `/v1/jobs/${a}/cancel`)).status, 200);
  const retried = await stack.request('POST', `/v1/jobs/${first}/retry`);
  assert.equal(retried.status, 202);
  assert.equal(retried.body.status, 'pending');
  assert.equal(await openJobs(stack, stack.apiKeyId), 2);
});

test('job lists and ownership checks never read a result (they work for a role that may not read the column)', async () => {
  const stack = await startStack();
  const { body } = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.test/columns' } });
  const jobId = body.jobId as string;
  await stack.sql`update jobs set status = 'completed', result = '{"knowledgeItems": []}'::jsonb, completed_at = now() where id = ${jobId}`;
  // A role that may read every column of jobs but result, made by a superuser (spec/run.ts passes one's URL).
  const adminUrl = new URL(process.env.GLEANER_TEST_DATABASE_URL ?? stack.url);
  adminUrl.pathname = new URL(stack.url).pathname;
  const admin = postgres(adminUrl.toString(), { max: 1, onnotice: () => {} });
  const role = `no_result_${process.pid}`;
  await admin.unsafe(`create role ${role} login password 'pw'`);
  onCleanup(async () => {
    await admin.unsafe(`drop owned by ${role}; drop role ${role}`);
    await admin.end();
  });
  await admin.unsafe(`grant usage on schema public to ${role}; grant select, insert, update on all tables in schema public to ${role}; revoke select on jobs from ${role}`);
  const [columns] = await stack.sql`select string_agg(quote_ident(column_name), ', ') as list from information_schema.columns where table_name = 'jobs' and table_schema = 'public' and column_name <> 'result'`;
  await admin.unsafe(`grant select (${columns!.list as string}) on jobs to ${role}`);
  const url = new URL(stack.url);
  url.username = role;
  url.password = 'pw';
  const limited = postgres(url.toString(), { max: 2, onnotice: () => {} });
  onCleanup(() => limited.end({ timeout: 1 }));
  const app = createApp({ config: stack.config, sql: limited, boss: stack.boss, logger: stack.logger, knowledge: stack.knowledge, client: stack.client });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const get = async (path: string) => {
    const res = await fetch(base + path, { headers: { 'x-api-key': stack.key } });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const list = await get('/v1/jobs');
  assert.equal(list.status, 200, JSON.stringify(list.body));
  assert.deepEqual((list.body.jobs as { jobId: string }[]).map((j) => j.jobId), [jobId]);
  assert.equal((await get('/v1/jobs?status=completed')).status, 200);
  assert.equal((await get(`/v1/jobs/${jobId}/events`)).status, 200);
  assert.equal((await get(`/v1/jobs/${jobId}/deliveries`)).status, 200);
  // The operator dashboard's list across keys, too.
  assert.deepEqual((await listAllJobs(limited, { limit: 10 })).jobs.map((j) => j.id), [jobId]);
  // The restriction is real: the one route that returns the result cannot work for this role.
  assert.equal((await get(`/v1/jobs/${jobId}`)).status, 500);
  // The full reading route returns it for the service's own role.
  assert.deepEqual((await stack.request('GET', `/v1/jobs/${jobId}`)).body.result, { knowledgeItems: [] });
});

test("a statement waiting on one key's in-flight lock does not hold up another key's submissions", async () => {
  // The job writer runs one statement at a time; what waits STALLED_AFTER_MS gets a statement of its own, without
  // the submissions of a key whose statement is in flight (they would wait on the same lock, and the batch with them).
  const stack = await startStack();
  const jobs = new JobCreator(stack.sql);
  const other = await createApiKey(stack.sql, 'other');
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let locked!: () => void;
  const isLocked = new Promise<void>((r) => (locked = r));
  // Another transaction (a second API process creating for the key, say) holds the key's in-flight lock.
  const holder = stack.sql.begin(async (tx) => {
    await lockedOpenJobs(tx, stack.apiKeyId, 5);
    locked();
    await held;
  });
  await isLocked;
  let timer: NodeJS.Timeout | undefined;
  try {
    const order: string[] = [];
    const heldKey = (name: string) => jobs.create(params(stack, `https://example.test/stall/${name}`, { maxInFlight: 5 })).then(() => order.push(name));
    const first = heldKey('held key, first');
    await waitUntil('the first statement to wait on the lock', async () => {
      const [row] = await stack.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted`;
      return row!.n > 0;
    });
    // The held key submits again, then the other key: the statement that starts after the wait takes the other key's job alone.
    const second = heldKey('held key, second');
    const started = performance.now();
    const free = jobs.create(params(stack, 'https://example.test/stall/free', { apiKeyId: other.apiKey.id, maxInFlight: 5 })).then(() => order.push('other key'));
    // The other key's job is written while the lock is still held; a writer that waited would reach 10 s.
    await Promise.race([free, new Promise((r) => (timer = setTimeout(r, 10_000)))]);
    const waitedMs = performance.now() - started;
    assert.deepEqual(order, ['other key'], `the other key's job waited ${Math.round(waitedMs)} ms`);
    assert.ok(waitedMs < 5000, `the other key's job waited ${Math.round(waitedMs)} ms`);
    release();
    await Promise.all([first, second]);
    assert.deepEqual(order, ['other key', 'held key, first', 'held key, second']);
  } finally {
    clearTimeout(timer);
    release();
    await holder;
  }
});

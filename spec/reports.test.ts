// The operational reports (sql/reports/*.sql via core/reports.ts) on a small
// hand-seeded data set with known timestamps, and `npm run report` as a real process.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { listReports, parsePositiveDuration as parseDuration, prepareReport, ReportError, runReport, toPositional } from '../core/reports.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { STACK_TRACE, runScript } from './helpers/processes.js';

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;

let db: TestDatabase;
/** The moment the data set is seeded relative to. */
let N: number;
/** A whole UTC hour 5–6 hours before N: the "c" jobs are created in it, the "f" jobs an hour later. */
let H: number;
const at = (ms: number) => new Date(ms);

interface SeedJob {
  id: string;
  key: string;
  status: string;
  created: number;
  /** Latest attempt start. */
  started?: number;
  completed?: number;
  attempts?: number;
  url?: string;
  error?: Record<string, unknown>;
  progress?: Record<string, unknown>;
  result?: Record<string, unknown>;
  worker?: string;
  heartbeat?: number;
}

async function insertJob(j: SeedJob): Promise<void> {
  await db.sql`
    insert into jobs (id, api_key_id, status, input, attempts, max_attempts, progress, result, error, worker_id, heartbeat_at,
                      created_at, started_at, completed_at, updated_at)
    values (${j.id}, ${j.key}, ${j.status}, ${db.sql.json({ url: j.url ?? `https://example.com/${j.id}` })}, ${j.attempts ?? 0}, 3,
            ${j.progress ? db.sql.json(j.progress as never) : null}, ${j.result ? db.sql.json(j.result as never) : null},
            ${j.error ? db.sql.json(j.error as never) : null}, ${j.worker ?? null}, ${j.heartbeat ? at(j.heartbeat) : null},
            ${at(j.created)}, ${j.started ? at(j.started) : null}, ${j.completed ? at(j.completed) : null}, ${at(j.completed ?? j.started ?? j.created)})`;
  await db.sql`insert into job_events (job_id, from_status, to_status, at, attempt) values (${j.id}, null, 'pending', ${at(j.created)}, 0)`;
}

async function insertDelivery(jobId: string, event: string, webhookId: string, attempt: number, outcome: string, created: number, next?: number) {
  await db.sql`
    insert into webhook_deliveries (job_id, event, webhook_id, attempt, url, status_code, outcome, next_attempt_at, created_at)
    values (${jobId}, ${event}, ${webhookId}, ${attempt}, 'https://hooks.example.net/', ${outcome === 'delivered' ? 200 : 500}, ${outcome},
            ${next ? at(next) : null}, ${at(created)})`;
}

before(async () => {
  db = await createTestDatabase();
  N = Date.now();
  H = Math.floor(N / HOUR) * HOUR - 5 * HOUR;
  for (const [id, name, revoked] of [
    ['key_alpha', 'alpha', false],
    ['key_beta', 'beta', false],
    ['key_idle', 'idle', false],
    ['key_revoked', 'revoked', true],
  ] as const) {
    await db.sql`insert into api_keys (id, name, key_hash, key_prefix, created_at, revoked_at)
                 values (${id}, ${name}, ${Buffer.from(id)}, ${id}, ${at(N - 10 * 24 * HOUR)}, ${revoked ? at(N - 24 * HOUR) : null})`;
  }
  // Completed in hour H: queue waits 1–4 s, run times 10–40 s.
  for (let k = 1; k <= 4; k++) {
    const created = H + 5 * MIN + k * S;
    await insertJob({
      id: `job_c${k}`,
      key: 'key_alpha',
      status: 'completed',
      created,
      started: created + k * S,
      completed: created + k * S + k * 10 * S,
      attempts: 1,
      ...(k === 4 ? { result: { pagesScraped: 3 } } : { progress: { pagesScraped: 1 } }),
    });
  }
  // Completed on its second attempt: first claimed 10 s after creation (the
  // queue wait), latest attempt started after 60 s, ran 50 s.
  const c5 = H + 6 * MIN;
  await insertJob({ id: 'job_c5', key: 'key_beta', status: 'completed', created: c5, started: c5 + 60 * S, completed: c5 + 110 * S, attempts: 2, progress: { pagesScraped: 2 } });
  await db.sql`insert into job_events (job_id, from_status, to_status, at, attempt) values
    ('job_c5', 'pending', 'processing', ${at(c5 + 10 * S)}, 1),
    ('job_c5', 'processing', 'pending', ${at(c5 + 20 * S)}, 1),
    ('job_c5', 'pending', 'processing', ${at(c5 + 60 * S)}, 2),
    ('job_c5', 'processing', 'completed', ${at(c5 + 110 * S)}, 2)`;
  // Failed in hour H+1: queue waits 5–7 s.
  const failed: [string, string, number, string, Record<string, unknown>][] = [
    ['job_f1', 'key_alpha', 5, 'https://www.Example.com/a', { code: 'fetch_timeout', message: 'timed out (older)' }],
    ['job_f2', 'key_alpha', 6, 'https://www.example.com:8443/b?x=1', { code: 'fetch_timeout', message: 'timed out (latest)' }],
    ['job_f3', 'key_beta', 7, 'http://user@Other.org/x', { code: 'http_error', message: 'the server answered 404', status: 404 }],
  ];
  for (const [id, key, wait, url, error] of failed) {
    const created = H + HOUR + (wait - 5) * MIN + 5 * MIN;
    await insertJob({ id, key, status: 'failed', created, started: created + wait * S, completed: created + wait * S + 30 * S, attempts: 1, url, error });
  }
  // Outside a 24h window.
  await insertJob({ id: 'job_old', key: 'key_alpha', status: 'failed', created: N - 72 * HOUR, started: N - 72 * HOUR + 1000 * S, completed: N - 71 * HOUR, attempts: 1, error: { code: 'dns_error', message: 'old' } });
  await insertJob({ id: 'job_rev', key: 'key_revoked', status: 'completed', created: N - 72 * HOUR, started: N - 72 * HOUR + S, completed: N - 72 * HOUR + 2 * S, attempts: 1 });
  // Cancelled while pending in hour H+2.
  await insertJob({ id: 'job_x1', key: 'key_alpha', status: 'cancelled', created: H + 2 * HOUR + 5 * MIN, completed: H + 2 * HOUR + 6 * MIN, error: { code: 'cancelled', message: 'cancelled by the client' } });
  // Processing: running 15 min (stale), 9 min (over 80% of 10 min), 2 min; queue waits 8, 9, 11 s.
  for (const [id, runningFor, wait, worker] of [
    ['job_p1', 15 * MIN, 8 * S, 'w-1'],
    ['job_p2', 9 * MIN, 9 * S, 'w-2'],
    ['job_p3', 2 * MIN, 11 * S, 'w-3'],
  ] as const) {
    await insertJob({ id, key: 'key_beta', status: 'processing', created: N - runningFor - wait, started: N - runningFor, attempts: 1, worker, heartbeat: N - runningFor + MIN });
  }
  // Pending, never claimed.
  await insertJob({ id: 'job_q1', key: 'key_alpha', status: 'pending', created: N - 30 * MIN });
  await insertJob({ id: 'job_q2', key: 'key_beta', status: 'pending', created: N - 5 * MIN });

  // Webhooks: c1 delivered at once, c2 on the second attempt, c3 gave up after
  // three; f1 delivered; f2 and f3 still retrying; job_old outside the window.
  await insertDelivery('job_c1', 'job.completed', 'msg_c1', 1, 'delivered', H + 7 * MIN);
  await insertDelivery('job_c2', 'job.completed', 'msg_c2', 1, 'retrying', H + 7 * MIN, H + 8 * MIN);
  await insertDelivery('job_c2', 'job.completed', 'msg_c2', 2, 'delivered', H + 8 * MIN);
  await insertDelivery('job_c3', 'job.completed', 'msg_c3', 1, 'retrying', H + 7 * MIN, H + 8 * MIN);
  await insertDelivery('job_c3', 'job.completed', 'msg_c3', 2, 'retrying', H + 8 * MIN, H + 10 * MIN);
  await insertDelivery('job_c3', 'job.completed', 'msg_c3', 3, 'failed', H + 10 * MIN);
  await insertDelivery('job_f1', 'job.failed', 'msg_f1', 1, 'delivered', H + HOUR + 6 * MIN);
  await insertDelivery('job_f2', 'job.failed', 'msg_f2', 1, 'retrying', N - 40 * MIN, N + 5 * MIN);
  await insertDelivery('job_f3', 'job.failed', 'msg_f3', 1, 'retrying', N - 10 * MIN, N + MIN);
  await insertDelivery('job_old', 'job.failed', 'msg_old', 1, 'retrying', N - 71 * HOUR, N - 70 * HOUR);
});

/** An age in seconds measured a little after seeding: at least `expected`, at most a minute more. */
function assertAge(actual: unknown, expected: number) {
  assert.equal(typeof actual, 'number');
  assert.ok((actual as number) >= expected && (actual as number) <= expected + 60, `age ${actual} not within a minute after ${expected}`);
}

const report = (name: string, params: Record<string, unknown> = {}) => runReport(db.sql, name, params);

describe('report definitions', () => {
  test('listReports gives the eight reports with a description and their parameters', async () => {
    const reports = await listReports();
    assert.deepEqual(reports.map((r) => r.name), ['failures', 'jobs-by-status', 'latency', 'retention', 'stuck', 'throughput', 'usage', 'webhooks']);
    for (const r of reports) {
      assert.ok(r.description.length > 20 && !r.description.startsWith('--'), `${r.name}: ${r.description}`);
      const names = r.parameters.map((p) => p.name);
      if (r.name === 'stuck') assert.deepEqual(r.parameters, [{ name: 'stale_after_seconds', type: 'integer', description: r.parameters[0]!.description, default: '600' }]);
      else assert.deepEqual(names, ['since'], r.name);
      if (r.name !== 'stuck') assert.equal(r.parameters[0]!.default, '24h');
    }
  });

  test('named parameters become typed positional ones, outside strings, comments and casts', () => {
    const { text, order } = toPositional(
      `select ':nope', "a:b", x::text, :since, :limit * 2 -- :comment\nwhere t >= :since /* :block */`,
      new Map([['since', 'timestamptz'], ['limit', 'integer']]),
    );
    assert.equal(text, `select ':nope', "a:b", x::text, $1::timestamptz, $2::integer * 2 -- :comment\nwhere t >= $1::timestamptz /* :block */`);
    assert.deepEqual(order, ['since', 'limit']);
    assert.throws(() => toPositional('select :undeclared', new Map()), /:undeclared is used but not declared/);
  });

  test('values are bound, never written into the SQL', async () => {
    const hostile = "2020-01-01'; drop table jobs; --";
    await assert.rejects(prepareReport('failures', { since: hostile }), ReportError);
    const prepared = await prepareReport('failures', { since: new Date('2020-01-01T00:00:00Z') });
    assert.ok(!prepared.text.includes('2020'));
    assert.deepEqual(prepared.values, [new Date('2020-01-01T00:00:00Z')]);
  });

  test('durations', () => {
    assert.equal(parseDuration('15m'), 15 * MIN);
    assert.equal(parseDuration('24h'), 24 * HOUR);
    assert.equal(parseDuration('7d'), 7 * 24 * HOUR);
    for (const bad of ['', '24', 'h', '-1h', '0h', '1y', 'yesterday']) assert.equal(parseDuration(bad), undefined, bad);
  });

  test('an unknown report or parameter is a clear error', async () => {
    await assert.rejects(report('nope'), (err: Error) => {
      assert.ok(err instanceof ReportError);
      assert.match(err.message, /unknown report "nope"; the reports are: failures, jobs-by-status, latency, retention, stuck, throughput, usage, webhooks/);
      return true;
    });
    await assert.rejects(report('failures', { until: '1h' }), /report failures has no parameter "until"; it takes since/);
    await assert.rejects(report('stuck', { stale_after_seconds: 'ten' }), /stale_after_seconds must be a whole number/);
    await assert.rejects(report('failures', { since: 'yesterday' }), /must be a duration like 15m, 24h, 7d or an ISO timestamp/);
  });
});

describe('report figures', () => {
  test('jobs-by-status: open jobs now, finished ones in the window, oldest pending age', async () => {
    const { columns, rows } = await report('jobs-by-status');
    assert.deepEqual(columns, ['status', 'scope', 'jobs', 'oldest_age_seconds']);
    assert.deepEqual(
      rows.map((r) => [r.status, r.scope, r.jobs]),
      [
        ['pending', 'now', 2],
        ['processing', 'now', 3],
        ['completed', 'window', 5],
        ['failed', 'window', 3],
        ['cancelled', 'window', 1],
      ],
    );
    assertAge(rows[0]!.oldest_age_seconds, 30 * 60);
    assertAge(rows[1]!.oldest_age_seconds, 15 * 60);
    assert.equal(rows[2]!.oldest_age_seconds, null);
    const wide = await report('jobs-by-status', { since: '7d' });
    assert.equal(wide.rows.find((r) => r.status === 'failed')!.jobs, 4, 'a wider window counts the old failure');
    assert.equal(wide.rows.find((r) => r.status === 'completed')!.jobs, 6);
  });

  test('throughput: created, completed and failed per hour', async () => {
    const { columns, rows } = await report('throughput', { since: at(H) });
    assert.deepEqual(columns, ['hour', 'created', 'completed', 'failed']);
    const bucket = (t: number) => {
      const row = rows.find((r) => (r.hour as Date).getTime() <= t && t < (r.hour as Date).getTime() + HOUR);
      assert.ok(row, `an hour row for ${at(t).toISOString()}`);
      return [row.created, row.completed, row.failed];
    };
    assert.deepEqual(bucket(H + 6 * MIN), [5, 5, 0]);
    assert.deepEqual(bucket(H + HOUR + 6 * MIN), [3, 0, 3]);
    assert.deepEqual(bucket(H + 2 * HOUR + 6 * MIN), [1, 0, 0], 'a cancelled job is neither completed nor failed');
    const sum = (c: string) => rows.reduce((n, r) => n + (r[c] as number), 0);
    assert.deepEqual([sum('created'), sum('completed'), sum('failed')], [14, 5, 3]);
    // One row per hour, consecutive, up to the current hour.
    for (let i = 1; i < rows.length; i++) assert.equal((rows[i]!.hour as Date).getTime() - (rows[i - 1]!.hour as Date).getTime(), HOUR);
    assert.ok((rows.at(-1)!.hour as Date).getTime() > Date.now() - HOUR);
  });

  test('latency: queue wait (first claim, from events for retried jobs) and run time percentiles', async () => {
    const { columns, rows } = await report('latency');
    assert.deepEqual(columns, ['metric', 'jobs', 'p50_ms', 'p95_ms', 'p99_ms']);
    // waits 1..11 s (job_c5 waited 10 s for its first claim, not 60 s);
    // percentile_cont over 11 values: p50 = 6 s, p95 at 9.5 → 10.5 s, p99 at 9.9 → 10.9 s.
    assert.deepEqual(rows[0], { metric: 'queue_wait', jobs: 11, p50_ms: 6000, p95_ms: 10500, p99_ms: 10900 });
    // runs 10..50 s: p95 at 3.8 → 48 s, p99 at 3.96 → 49.6 s.
    assert.deepEqual(rows[1], { metric: 'run_time', jobs: 5, p50_ms: 30000, p95_ms: 48000, p99_ms: 49600 });
    const empty = await report('latency', { since: at(N + HOUR) });
    assert.deepEqual(empty.rows.map((r) => [r.metric, r.jobs, r.p50_ms]), [['queue_wait', 0, null], ['run_time', 0, null]]);
  });

  test('failures: by code and domain, counts, latest message', async () => {
    const { columns, rows } = await report('failures');
    assert.deepEqual(columns, ['code', 'domain', 'failures', 'example_message', 'last_failed_at']);
    assert.deepEqual(
      rows.map((r) => [r.code, r.domain, r.failures, r.example_message]),
      [
        ['fetch_timeout', 'www.example.com', 2, 'timed out (latest)'],
        ['http_error', 'other.org', 1, 'the server answered 404'],
      ],
    );
    const wide = await report('failures', { since: '7d' });
    assert.deepEqual(wide.rows.find((r) => r.code === 'dns_error')?.failures, 1, 'a wider window has the old failure');
  });

  test('stuck: processing past 80% of the stale threshold, oldest first', async () => {
    const { columns, rows } = await report('stuck');
    assert.deepEqual(columns, ['job_id', 'age_seconds', 'stale', 'worker_id', 'attempts', 'max_attempts', 'heartbeat_at', 'heartbeat_age_seconds', 'url']);
    assert.deepEqual(rows.map((r) => [r.job_id, r.stale, r.worker_id, r.attempts]), [
      ['job_p1', true, 'w-1', 1],
      ['job_p2', false, 'w-2', 1],
    ]);
    assertAge(rows[0]!.age_seconds, 15 * 60);
    assertAge(rows[0]!.heartbeat_age_seconds, 14 * 60);
    assert.equal((rows[0]!.heartbeat_at as Date).getTime(), N - 14 * MIN);
    assert.equal(rows[0]!.url, 'https://example.com/job_p1');
    const tight = await report('stuck', { stale_after_seconds: 100 });
    assert.deepEqual(tight.rows.map((r) => [r.job_id, r.stale]), [['job_p1', true], ['job_p2', true], ['job_p3', true]]);
    const loose = await report('stuck', { stale_after_seconds: 3600 });
    assert.deepEqual(loose.rows, []);
  });

  test('webhooks: success rate, attempts per delivered event, failures, oldest still retrying', async () => {
    const { rows } = await report('webhooks');
    const pick = (r: Record<string, unknown>) => [r.event, r.events, r.delivered, r.gave_up, r.retrying, r.success_rate_pct, r.attempts_per_delivered, r.failed_attempts, r.oldest_retrying_webhook_id];
    assert.deepEqual(rows.map(pick), [
      ['job.completed', 3, 2, 1, 0, 66.7, 1.5, 4, null],
      ['job.failed', 3, 1, 0, 2, 100, 1, 2, 'msg_f2'],
      ['all', 6, 3, 1, 2, 75, 1.33, 6, 'msg_f2'],
    ]);
    const all = rows[2]!;
    assert.equal((all.oldest_retrying_since as Date).getTime(), N - 40 * MIN);
    assert.equal((all.oldest_retrying_next_attempt_at as Date).getTime(), N + 5 * MIN);
  });

  test('usage: per key, jobs created in the window and their outcome, pages, last activity', async () => {
    const { columns, rows } = await report('usage');
    assert.deepEqual(columns, ['key_name', 'key_id', 'jobs_created', 'completed', 'failed', 'pages', 'last_activity', 'revoked']);
    assert.deepEqual(
      rows.map((r) => [r.key_name, r.jobs_created, r.completed, r.failed, r.pages, (r.last_activity as Date | null)?.getTime() ?? null]),
      [
        ['alpha', 8, 4, 2, 6, N - 30 * MIN],
        ['beta', 6, 1, 1, 2, N - 2 * MIN - 11 * S],
        ['idle', 0, 0, 0, 0, null],
      ],
      'a revoked key without jobs in the window is left out',
    );
  });
});

describe('report CLI', () => {
  const cli = (...args: string[]) => runScript('cli/report.ts', args, { DATABASE_URL: db.url }, 30_000);

  test('--list lists all eight with their descriptions', async () => {
    const run = await cli('--list');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), ['failures', 'jobs-by-status', 'latency', 'retention', 'stuck', 'throughput', 'usage', 'webhooks']);
    assert.match(run.stdout, /^stuck\s+Jobs processing for longer than 80% of the stale threshold/m);
  });

  test('a report prints an aligned table', async () => {
    const run = await cli('jobs-by-status');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^status\s+scope\s+jobs\s+oldest_age_seconds$/);
    assert.match(lines[1]!, /^pending\s+now\s+2\s+\d+$/);
    assert.match(lines[3]!, /^completed\s+window\s+5\s+-$/);
    // Numbers are right-aligned under their header.
    const end = lines[0]!.indexOf('jobs') + 'jobs'.length;
    for (const l of lines.slice(1)) assert.match(l.slice(end - 1, end), /\d/, l);
  });

  test('--json prints the rows and the parameters used', async () => {
    const run = await cli('failures', '--since', '24h', '--json');
    assert.equal(run.code, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.report, 'failures');
    assert.ok(Math.abs(Date.parse(out.parameters.since) - (Date.now() - 24 * HOUR)) < 60_000);
    assert.deepEqual(out.rows.map((r: Record<string, unknown>) => [r.code, r.failures]), [['fetch_timeout', 2], ['http_error', 1]]);
  });

  test('--stale-after sets the stuck threshold', async () => {
    const run = await cli('stuck', '--stale-after', '100s', '--json');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout).rows.map((r: { job_id: string }) => r.job_id), ['job_p1', 'job_p2', 'job_p3']);
  });

  for (const [label, args, message] of [
    ['an unknown report', ['nope'], /unknown report "nope"; the reports are: failures, jobs-by-status, latency, retention, stuck, throughput, usage, webhooks/],
    ['a bad --since', ['throughput', '--since', 'yesterday'], /--since must be a duration like 15m, 24h, 7d or an ISO timestamp \(got "yesterday"\)/],
    ['--since on a report without a window', ['stuck', '--since', '1h'], /report stuck takes no --since/],
    ['a bad --stale-after', ['stuck', '--stale-after', 'soon'], /--stale-after must be a duration/],
    ['no report', [], /missing report name/],
    ['an unknown option', ['usage', '--frob'], /Unknown option/],
  ] as const) {
    test(`${label} exits 2 with the usage and no stack trace`, async () => {
      const run = await cli(...args);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /usage:/);
      assert.doesNotMatch(run.stderr, STACK_TRACE);
      assert.equal(run.stdout, '');
    });
  }
});

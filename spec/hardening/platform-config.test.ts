// Timing settings derive from STALE_AFTER when unset, so `STALE_AFTER=5s npm
// run reap` runs (it used to be refused because the default RESCUE_AFTER, 60 s,
// was longer); settings given explicitly are still checked.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { ConfigError, loadConfig } from '../../core/platform/config.js';
import { createJob } from '../../core/jobs/index.js';
import { runScript } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
before(async () => {
  stack = await startStack();
});

test('STALE_AFTER=5s npm run reap runs and reaps a job processing for longer', async () => {
  const { job } = await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url: 'https://example.com/' }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  await stack.sql`update jobs set status = 'processing', attempts = 1, started_at = now() - interval '10 seconds', heartbeat_at = now() where id = ${job.id}`;
  const run = await runScript('cli/reap.ts', [], { DATABASE_URL: stack.url, STALE_AFTER: '5s', LOG_LEVEL: 'error' }, 120_000);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`reaped ${job.id} `));
  assert.match(run.stdout, /1 stale job\(s\) reaped \(stale after 5 s\)/);
  const [row] = await stack.sql`select status, error from jobs where id = ${job.id}`;
  assert.equal(row!.status, 'failed');
  assert.equal(row!.error.code, 'stale');
});

test('explicit settings that contradict each other are refused, naming the variable', () => {
  const refused = (env: Record<string, string>, message: RegExp) => assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && message.test(e.message));
  refused({ STALE_AFTER: '5s', RESCUE_AFTER: '60s' }, /RESCUE_AFTER: must be shorter than STALE_AFTER/);
  refused({ STALE_AFTER: '5m', JOB_TIMEOUT: '5m' }, /JOB_TIMEOUT: must be above 0 and shorter than STALE_AFTER/);
  refused({ RETENTION: '2h' }, /RETENTION: must be 0 \(keep forever\) or longer than 1h and than the webhook retry schedule/);
  assert.equal(loadConfig({ RETENTION: '0' }).maintenance.retentionMs, 0);
  assert.equal(loadConfig({ STALE_AFTER: '5m', JOB_TIMEOUT: '4m' }).worker.jobTimeoutMs, 240_000);
  assert.equal(loadConfig({ STALE_AFTER: '1h' }).worker.jobTimeoutMs, 59 * 60_000, 'at most a minute below STALE_AFTER');
});

import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { before, describe, test } from 'node:test';
import winston from 'winston';
import { createApiKey, revokeApiKey } from '../core/apiKeys.js';
import { listJobEvents } from '../core/jobs/index.js';
import { JobRunner } from '../worker/runner.js';
import { runnerOptions } from '../worker/worker.js';
import { onCleanup } from './helpers/cleanup.js';
import { assertDocumented, documentedResult } from './helpers/documented.js';
import { errorCode, errorDetails } from './helpers/errors.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from './helpers/http.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let site: TestServer;
let flakyHits = 0;

before(async () => {
  site = await startHttpServer(
    fixtureSite({
      '/article': articlePage('Gardening', 'Tomatoes need sun, water and patience to grow well in a small garden.'),
      '/broken': (_req, res) => {
        res.writeHead(500, { 'content-type': 'text/html' }).end('<h1>oops</h1>');
      },
      '/gone': (_req, res) => {
        res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>missing</h1>');
      },
      '/flaky': (_req, res) => {
        flakyHits++;
        if (flakyHits < 2) res.writeHead(503, { 'content-type': 'text/html' }).end('busy');
        else res.writeHead(200, { 'content-type': 'text/html' }).end(articlePage('Flaky', 'It worked on the second attempt after one failure.'));
      },
      '/slow': (_req, res) => {
        setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end(articlePage('Slow', 'Late.')), 10_000).unref();
      },
      '/huge': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(64 * 1024, 'a');
        let sent = 0;
        const push = () => {
          while (sent < 50 * 1024 * 1024) {
            sent += chunk.length;
            if (!res.write(chunk)) return res.once('drain', push);
          }
          res.end();
        };
        push();
        res.on('error', () => {});
      },
      '/image': (_req, res) => {
        res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
      },
    }),
  );
  stack = await startStack({
    worker: true,
    config: { FETCH_MAX_BYTES: String(256 * 1024), FETCH_TOTAL_TIMEOUT: '1500ms', FETCH_HEADERS_TIMEOUT: '1s', JOB_MAX_ATTEMPTS: '3' },
  });
});

const submit = (body: unknown, opts: { key?: string | null; headers?: Record<string, string> } = {}) =>
  stack.request('POST', '/v1/extract/async', { body, ...opts });

describe('validation', () => {
  test('a missing url names the field', async () => {
    const res = await submit({});
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.body), 'validation_error');
    assert.deepEqual((errorDetails(res.body) as any).map((d: { field: string }) => d.field), ['url']);
  });

  test('every bad field is listed with its reason', async () => {
    const res = await submit({ url: 'ftp://example.com/x', maxPages: 100_001, singlePage: 'yes', includePatterns: [''], urls: [], apiKeyId: 'k_1' });
    assert.equal(res.status, 400);
    const fields = Object.fromEntries((errorDetails(res.body) as any).map((d: { field: string; message: string }) => [d.field, d.message]));
    assert.match(fields.url, /http/);
    assert.match(fields.maxPages, /at most \d+/); // the server's limit (20 on one worker, MAX_PAGES_PER_JOB as page tasks)
    assert.match(fields.singlePage, /true or false/);
    assert.match(fields['includePatterns.0'], /empty/);
    assert.match(fields.urls, /at least one/);
    assert.deepEqual(Object.keys(fields).sort(), ['includePatterns.0', 'maxPages', 'singlePage', 'url', 'urls'], 'an unknown field (a client’s own apiKeyId) is ignored, not named');
  });

  test('not a URL', async () => {
    const res = await submit({ url: 'not a url' });
    assert.equal(res.status, 400);
    assert.equal((errorDetails(res.body) as any)[0].field, 'url');
  });

  test('malformed JSON is a 400, not a 500', async () => {
    const res = await stack.request('POST', '/v1/extract/async', { rawBody: '{"url":', headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.body), 'invalid_json');
  });

  test('a body that is not JSON is 415', async () => {
    const res = await stack.request('POST', '/v1/extract/async', { rawBody: 'url=http://x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 415);
  });

  test('an oversized body is 413', async () => {
    const res = await submit({ url: 'http://example.com/', includePatterns: ['x'.repeat(100 * 1024)] });
    assert.equal(res.status, 413);
    assert.equal(errorCode(res.body), 'payload_too_large');
  });

  test('a bad job id is a 400, an unknown one a 404, an unknown route a 404', async () => {
    assert.equal((await stack.request('GET', '/v1/jobs/nope')).status, 400);
    assert.equal((await stack.request('GET', '/v1/jobs/job_doesnotexist')).status, 404);
    const res = await stack.request('GET', '/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(errorCode(res.body), 'not_found');
  });

  test('list filters are validated', async () => {
    const res = await stack.request('GET', '/v1/jobs?status=done&limit=1000');
    assert.equal(res.status, 400);
    const fields = (errorDetails(res.body) as any).map((d: { field: string }) => d.field).sort();
    assert.deepEqual(fields, ['limit', 'status']);
    assert.equal((await stack.request('GET', '/v1/jobs?cursor=garbage')).status, 400);
  });
});

describe('authentication', () => {
  test('missing, malformed, unknown and revoked keys are 401', async () => {
    const body = { url: `${site.url}/article` };
    assert.equal((await submit(body, { key: null })).status, 401);
    assert.equal((await submit(body, { key: 'hello' })).status, 401);
    assert.equal((await submit(body, { key: 'knowledgesdk_live_' + 'A'.repeat(40) })).status, 401);
    const { key } = await createApiKey(stack.sql, 'to-revoke');
    assert.equal((await submit(body, { key })).status, 202);
    await revokeApiKey(stack.sql, 'to-revoke');
    const res = await submit(body, { key });
    assert.equal(res.status, 401);
    assert.equal(errorCode(res.body), 'unauthorized');
  });

  test('Authorization: Bearer works as well as x-api-key', async () => {
    const res = await stack.request('GET', '/v1/jobs', { key: null, headers: { authorization: `Bearer ${stack.key}` } });
    assert.equal(res.status, 200);
  });

  test("another key's job is 404 everywhere", async () => {
    const { key: other } = await createApiKey(stack.sql, 'other');
    const created = await submit({ url: `${site.url}/article` });
    const id = created.body.jobId;
    for (const [method, path] of [
      ['GET', `/v1/jobs/${id}`],
      ['GET', `/v1/jobs/${id}/events`],
      ['POST', `/v1/jobs/${id}/cancel`],
      ['POST', `/v1/jobs/${id}/retry`],
    ] as const) {
      const res = await stack.request(method, path, { key: other });
      assert.equal(res.status, 404, `${method} ${path}`);
    }
    const list = await stack.request('GET', '/v1/jobs', { key: other });
    assert.equal(list.body.jobs.length, 0);
  });

  test('keys are stored only as hashes', async () => {
    const rows = await stack.sql`select * from api_keys`;
    const dump = JSON.stringify(rows);
    assert.ok(!dump.includes(stack.key), 'the key itself must not be stored');
    assert.ok(!dump.includes(stack.key.slice(20)));
  });
});

describe('lifecycle', () => {
  test('submit → pending → processing → completed, with events in order', async () => {
    const res = await submit({ url: `${site.url}/article` });
    assert.equal(res.status, 202);
    assert.match(res.body.jobId, /^job_[0-9A-Za-z]{22}$/);
    assert.equal(res.body.status, 'pending');
    assert.ok(!Number.isNaN(Date.parse(res.body.createdAt)));
    await stack.waitForStatus(res.body.jobId, ['completed']);

    const job = await stack.request('GET', `/v1/jobs/${res.body.jobId}`);
    assert.equal(job.status, 200);
    assert.equal(job.body.status, 'completed');
    assert.equal(job.body.attempts, 1);
    // The production pipeline's result, in the shape the README documents.
    const result = assertDocumented(documentedResult, job.body.result, 'the job result');
    assert.equal(result.knowledgeItems.length, 1);
    const [item] = result.knowledgeItems;
    assert.equal(item!.title, 'Gardening');
    assert.equal(item!.description, 'About Gardening');
    assert.equal(item!.source, `${site.url}/article`);
    assert.match(item!.content, /^# Gardening/m);
    assert.match(item!.content, /Tomatoes need sun/);
    assert.doesNotMatch(item!.content, /Copyright notice/);
    assert.deepEqual(result.failedPages, []);
    assert.ok(result.chunksIndexed >= 1);
    assert.deepEqual(job.body.progress, { currentStep: 'done', pagesScraped: 1, totalPages: 1, pagesIndexed: 1, chunksIndexed: result.chunksIndexed });
    // Indexed for this key: the page is found by its words. (Not necessarily under this job's id: the authentication
    // tests submit the same URL for this key, and the latest crawl of a URL owns its chunks.) Every assert.ok here
    // carries a message: without one, node's assert parses the transpiled source to write it, which took 300 s.
    const found = await stack.request('POST', '/v1/search', { body: { query: 'tomatoes patience garden', limit: 5 } });
    assert.equal(found.status, 200);
    const sources = found.body.results.map((r: { source: string; jobId: string }) => `${r.source} (${r.jobId})`);
    assert.ok(found.body.results.some((r: { source: string }) => r.source === item!.source), `search finds ${item!.source}: ${sources.join(', ')}`);
    assert.ok(Date.parse(job.body.startedAt) <= Date.parse(job.body.completedAt), 'started before completed');

    const events = await stack.request('GET', `/v1/jobs/${res.body.jobId}/events`);
    assert.deepEqual(
      events.body.events.map((e: { from: string | null; to: string }) => [e.from, e.to]),
      [
        [null, 'pending'],
        ['pending', 'processing'],
        ['processing', 'completed'],
      ],
    );
    assert.ok(events.body.events[1].workerId, 'the claim event names its worker');
  });

  test('a retryable upstream error is retried and then succeeds', async () => {
    const res = await submit({ url: `${site.url}/flaky` });
    const job = await stack.waitForStatus(res.body.jobId, ['completed', 'failed']);
    assert.equal(job.status, 'completed');
    assert.equal(job.attempts, 2);
    const events = await listJobEvents(stack.sql, job.id);
    assert.deepEqual(
      events.map((e) => e.toStatus),
      ['pending', 'processing', 'pending', 'processing', 'completed'],
    );
    assert.equal((events[2]!.detail as { error: { code: string } }).error.code, 'upstream_status');
  });

  test('a failing page is retried up to the limit, then failed with a structured error', async () => {
    const res = await submit({ url: `${site.url}/broken` });
    const job = await stack.waitForStatus(res.body.jobId, ['failed'], 15_000);
    assert.equal(job.attempts, 3);
    const view = await stack.request('GET', `/v1/jobs/${job.id}`);
    assert.equal(view.body.status, 'failed');
    // `error` is the message the client shows; `errorDetail` the machine-readable object.
    assert.equal(view.body.errorDetail.code, 'upstream_status');
    assert.equal(view.body.errorDetail.status, 500);
    assert.match(view.body.errorDetail.message, /500/);
    assert.equal(view.body.error, view.body.errorDetail.message);
    assert.equal(view.body.result, undefined);
    const events = await listJobEvents(stack.sql, job.id);
    assert.deepEqual(
      events.map((e) => e.toStatus),
      ['pending', 'processing', 'pending', 'processing', 'pending', 'processing', 'failed'],
    );
    assert.deepEqual(
      events.map((e) => e.attempt),
      [0, 1, 1, 2, 2, 3, 3],
    );
  });

  test('a client error (404) fails at once without retries', async () => {
    const res = await submit({ url: `${site.url}/gone` });
    const job = await stack.waitForStatus(res.body.jobId, ['failed']);
    assert.equal(job.attempts, 1);
    assert.equal(job.error?.status, 404);
  });

  test('an oversized page ends in a clear error within the byte limit', async () => {
    const res = await submit({ url: `${site.url}/huge` });
    const job = await stack.waitForStatus(res.body.jobId, ['failed']);
    assert.equal(job.error?.code, 'too_large');
    assert.match(job.error!.message, /262144/);
    assert.equal(job.attempts, 1);
  });

  test('a slow upstream ends in a timeout within the configured bound, retried then failed', async () => {
    const res = await submit({ url: `${site.url}/slow` });
    const job = await stack.waitForStatus(res.body.jobId, ['failed'], 15_000);
    assert.equal(job.error?.code, 'timeout');
    assert.equal(job.attempts, 3);
    // Which limit ended each attempt is in its error, not in a wall-clock bound (those flake under load).
    assert.match(job.error!.message, /no response headers within 1000 ms|total timeout of 1500 ms/);
    const events = await listJobEvents(stack.sql, job.id);
    assert.deepEqual(events.map((e) => e.toStatus), ['pending', 'processing', 'pending', 'processing', 'pending', 'processing', 'failed']);
    for (const e of events.filter((e) => e.toStatus === 'pending' && e.fromStatus === 'processing')) {
      assert.equal((e.detail as { error: { code: string } }).error.code, 'timeout');
    }
  });

  test('a non-HTML resource fails with a clear error', async () => {
    const res = await submit({ url: `${site.url}/image` });
    const job = await stack.waitForStatus(res.body.jobId, ['failed']);
    assert.equal(job.error?.code, 'not_html');
    assert.match(job.error!.message, /image\/png/);
  });
});

describe('idempotency', () => {
  test('the same key and body returns the same job with 200', async () => {
    const body = { url: `${site.url}/article`, maxPages: 1 };
    const headers = { 'idempotency-key': 'order-1' };
    const first = await submit(body, { headers });
    assert.equal(first.status, 202);
    const replay = await submit({ maxPages: 1, url: `${site.url}/article` }, { headers });
    assert.equal(replay.status, 200);
    assert.equal(replay.body.jobId, first.body.jobId);
    assert.equal(replay.headers.get('idempotent-replayed'), 'true');
    const [row] = await stack.sql`select count(*)::int as n from jobs where idempotency_key = 'order-1'`;
    assert.equal(row!.n, 1);
  });

  test('the same key with a different body is 409', async () => {
    const headers = { 'idempotency-key': 'order-2' };
    assert.equal((await submit({ url: `${site.url}/article` }, { headers })).status, 202);
    const conflict = await submit({ url: `${site.url}/other` }, { headers });
    assert.equal(conflict.status, 409);
    assert.equal(errorCode(conflict.body), 'idempotency_conflict');
  });

  test('idempotency keys are per API key', async () => {
    const { key: other } = await createApiKey(stack.sql, 'idem-other');
    const headers = { 'idempotency-key': 'shared-name' };
    const a = await submit({ url: `${site.url}/article` }, { headers });
    const b = await submit({ url: `${site.url}/article` }, { headers, key: other });
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.notEqual(a.body.jobId, b.body.jobId);
  });
});

describe('cancel, retry and listing', () => {
  test('a pending job can be cancelled and then retried', async () => {
    // Whether the worker has claimed it yet or not, cancel applies (pending or processing).
    const res = await submit({ url: `${site.url}/slow` });
    const cancel = await stack.request('POST', `/v1/jobs/${res.body.jobId}/cancel`);
    assert.equal(cancel.status, 200);
    assert.equal(cancel.body.status, 'cancelled');
    assert.equal((await stack.request('POST', `/v1/jobs/${res.body.jobId}/cancel`)).status, 409);
    const retried = await stack.request('POST', `/v1/jobs/${res.body.jobId}/retry`);
    assert.equal(retried.status, 202);
    assert.equal(retried.body.status, 'pending');
    await stack.request('POST', `/v1/jobs/${res.body.jobId}/cancel`);
  });

  test('a running job is cancelled and its late result is refused', async () => {
    // Force the late write: a pipeline that ignores its abort signal finishes
    // right after the cancel, long before the runner's next heartbeat (1 h)
    // could notice it, so the runner really tries to complete the job.
    const own = await startStack();
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const lines: { message: string; jobId?: string }[] = [];
    const logger = winston.createLogger({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: new Writable({ write: (c, _e, cb) => (String(c).split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l))), cb()) }) })],
    });
    const runner = new JobRunner(own.sql, own.boss, logger, async () => (started(), await gate, { late: true }), { ...runnerOptions(own.config), heartbeatIntervalMs: 3_600_000 });
    await runner.start();
    onCleanup(() => runner.stop(0));

    const res = await own.request('POST', '/v1/extract/async', { body: { url: `${site.url}/article` } });
    await running;
    const cancel = await own.request('POST', `/v1/jobs/${res.body.jobId}/cancel`);
    assert.equal(cancel.status, 200);
    finish();
    for (const deadline = Date.now() + 30_000; !lines.some((l) => l.message === 'job result discarded'); ) {
      assert.ok(Date.now() < deadline, `the runner tried to write the late result: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(!lines.some((l) => l.message === 'job completed'));
    const job = await own.request('GET', `/v1/jobs/${res.body.jobId}`);
    assert.equal(job.body.status, 'cancelled');
    assert.equal(job.body.result, undefined);
    const events = await listJobEvents(own.sql, res.body.jobId);
    assert.deepEqual(events.map((e) => e.toStatus), ['pending', 'processing', 'cancelled']);
  });

  test('only failed or cancelled jobs can be retried', async () => {
    const res = await submit({ url: `${site.url}/article` });
    await stack.waitForStatus(res.body.jobId, ['completed']);
    const retry = await stack.request('POST', `/v1/jobs/${res.body.jobId}/retry`);
    assert.equal(retry.status, 409);
  });

  test('a failed job retried by the client runs again', async () => {
    const res = await submit({ url: `${site.url}/gone` });
    await stack.waitForStatus(res.body.jobId, ['failed']);
    const retry = await stack.request('POST', `/v1/jobs/${res.body.jobId}/retry`);
    assert.equal(retry.status, 202);
    const job = await stack.waitForStatus(res.body.jobId, ['failed']);
    assert.equal(job.attempts, 2);
  });

  test('listing is newest first, filtered by status, and paginates without gaps', async () => {
    const { key } = await createApiKey(stack.sql, 'lister');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await submit({ url: `${site.url}/gone?i=${i}` }, { key })).body.jobId);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { jobs: { jobId: string; result?: unknown }[]; nextCursor: string | null } } = await stack.request(
        'GET',
        `/v1/jobs?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { key },
      );
      assert.ok(page.body.jobs.length <= 3);
      seen.push(...page.body.jobs.map((j) => j.jobId));
      cursor = page.body.nextCursor;
    } while (cursor);
    assert.deepEqual(seen, [...ids].reverse());
    await Promise.all(ids.map((id) => stack.waitForStatus(id, ['failed'])));
    const failed = await stack.request('GET', '/v1/jobs?status=failed&limit=100', { key });
    assert.equal(failed.body.jobs.length, 7);
    const done = await stack.request('GET', '/v1/jobs?status=completed', { key });
    assert.equal(done.body.jobs.length, 0);
  });
});

describe('SSRF by default', () => {
  test('private and loopback callback or page URLs are refused at submit time unless allowed', async () => {
    const strict = await startStack({ config: { ALLOW_PRIVATE_NETWORKS: 'false' } });
    for (const url of ['http://127.0.0.1/', 'http://localhost:8080/', 'http://10.0.0.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://2130706433/']) {
      const res = await strict.request('POST', '/v1/extract/async', { body: { url } });
      assert.equal(res.status, 400, url);
      assert.equal((errorDetails(res.body) as any)[0].field, 'url');
    }
    const cb = await strict.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/', callbackUrl: 'http://192.168.1.10/hook' } });
    assert.equal(cb.status, 400);
    assert.equal((errorDetails(cb.body) as any)[0].field, 'callbackUrl');
  });
});

describe('health', () => {
  test('healthz and readyz', async () => {
    const health = await stack.request('GET', '/healthz', { key: null });
    assert.equal(health.status, 200);
    const ready = await stack.request('GET', '/readyz', { key: null });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
  });
});

describe('metrics', () => {
  test('GET /metrics exposes job counts, queue depth and request durations', async () => {
    const res = await stack.request('GET', '/metrics', { key: null });
    assert.equal(res.status, 200);
    assert.match(res.body, /gleaner_jobs\{status="completed"\} \d+/);
    assert.match(res.body, /gleaner_queue_depth \d+/);
    assert.match(res.body, /gleaner_http_request_duration_seconds_bucket\{.*route="\/v1\/extract\/async"/);
    assert.match(res.body, /gleaner_job_attempts_total\{outcome="completed"\} [1-9]/);
  });

  test('with METRICS_TOKEN set, /metrics needs it', async () => {
    const guarded = await startStack({ config: { METRICS_TOKEN: 'a-long-metrics-token-123' } });
    assert.equal((await guarded.request('GET', '/metrics', { key: null })).status, 401);
    assert.equal((await guarded.request('GET', '/metrics', { key: null, headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status, 401);
    const ok = await guarded.request('GET', '/metrics', { key: null, headers: { authorization: 'Bearer a-long-metrics-token-123' } });
    assert.equal(ok.status, 200);
  });
});

describe('abuse limits', () => {
  test('per-key rate limit: 429 with Retry-After once the burst is spent; other keys unaffected', async () => {
    const limited = await startStack({ config: { RATE_LIMIT_PER_MINUTE: '60', RATE_LIMIT_BURST: '3' } });
    for (let i = 0; i < 3; i++) assert.equal((await limited.request('GET', '/v1/jobs')).status, 200);
    const res = await limited.request('GET', '/v1/jobs');
    assert.equal(res.status, 429);
    assert.equal(errorCode(res.body), 'rate_limited');
    const retryAfter = Number(res.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 2, `Retry-After ${retryAfter}`);
    const { key: other } = await createApiKey(limited.sql, 'other-limited');
    assert.equal((await limited.request('GET', '/v1/jobs', { key: other })).status, 200);
  });

  test('per-key cap on jobs in flight', async () => {
    const capped = await startStack({ config: { MAX_JOBS_IN_FLIGHT_PER_KEY: '2' } });
    const body = { url: 'https://example.com/' };
    const first = await capped.request('POST', '/v1/extract/async', { body });
    assert.equal((await capped.request('POST', '/v1/extract/async', { body })).status, 202);
    const over = await capped.request('POST', '/v1/extract/async', { body });
    assert.equal(over.status, 429);
    assert.equal(errorCode(over.body), 'too_many_jobs_in_flight');
    assert.ok(over.headers.get('retry-after'));
    await capped.request('POST', `/v1/jobs/${first.body.jobId}/cancel`);
    assert.equal((await capped.request('POST', '/v1/extract/async', { body })).status, 202);
  });
});

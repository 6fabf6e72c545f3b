import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { before, test } from 'node:test';
import winston from 'winston';
import { createJob, listJobEvents } from '../core/jobs/index.js';
import { createOutboundClient } from '../core/outbound/index.js';
import { singlePagePipeline } from '../worker/pipeline/singlePage.js';
import { JobRunner } from '../worker/runner.js';
import { outboundOptions } from '../worker/worker.js';
import { testConfig } from './helpers/config.js';
import { onCleanup } from './helpers/cleanup.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from './helpers/http.js';
import { spawnScript } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let site: TestServer;
let hits = 0;

before(async () => {
  site = await startHttpServer((req, res) => {
    hits++;
    fixtureSite({ '/page': articlePage('Worker page', 'Some text for the worker to extract from the page.') })(req, res);
  });
  stack = await startStack();
});

const enqueue = async (url: string) =>
  (await createJob(stack.sql, { apiKeyId: stack.apiKeyId, input: { url }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 })).job;

/** A runner whose JSON log lines are captured. */
async function runnerWithLog(overrides: Record<string, string>) {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      cb();
    },
  });
  const config = testConfig(overrides);
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
  const client = createOutboundClient(outboundOptions(config));
  const runner = new JobRunner(stack.sql, stack.boss, logger, singlePagePipeline(client), {
    concurrency: 2,
    pollIntervalMs: config.worker.pollIntervalMs,
    shutdownGraceMs: 1000,
    retryBaseDelayMs: 100,
    retryMaxDelayMs: 1000,
  });
  await runner.start();
  onCleanup(async () => {
    await runner.stop(0);
    await client.close();
  });
  return { runner, lines };
}

test('by default the worker refuses loopback pages: the job fails without a request being made', async () => {
  const { runner, lines } = await runnerWithLog({ ALLOW_PRIVATE_NETWORKS: 'false' });
  const before = hits;
  const job = await enqueue(`${site.url}/page`);
  const failed = await stack.waitForStatus(job.id, ['failed']);
  assert.equal(failed.error?.code, 'blocked_address');
  assert.equal(failed.attempts, 1, 'a refused address is not retried');
  assert.equal(hits, before, 'no request reached the server');
  await runner.stop(0);
  const jobLines = lines.filter((l) => String(l.message).startsWith('job '));
  assert.ok(jobLines.length >= 2);
  for (const line of jobLines) assert.equal(line.jobId, job.id, `log line ${JSON.stringify(line)} carries the jobId`);
});

test('a NOTIFY wakes the worker: an idle runner that would next poll in an hour picks the job up', async () => {
  const { runner } = await runnerWithLog({ WORKER_POLL_INTERVAL: '1h' });
  // Let the runner reach its idle wait first: from then on only a NOTIFY can wake it before the test times out.
  await new Promise((r) => setTimeout(r, 300));
  const job = await enqueue(`${site.url}/page`);
  await stack.waitForStatus(job.id, ['completed'], 60_000);
  const events = await listJobEvents(stack.sql, job.id);
  assert.deepEqual(events.map((e) => e.toStatus), ['pending', 'processing', 'completed']);
  await runner.stop(0);
});

test('a worker process at debug level logs neither the API key nor the webhook secret it handles', async () => {
  // Bait: the key in the page URL's query string and in the callback's, which the worker logs and requests.
  const secret = (await stack.request('GET', '/v1/webhooks/secret')).body.secret as string;
  assert.match(secret, /^whsec_/);
  const received: string[] = [];
  const receiver = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push(`${req.url} ${req.headers['webhook-signature']} ${body}`);
      res.writeHead(200).end();
    });
  });
  const worker = spawnScript('worker/main.ts', [], { DATABASE_URL: stack.url, ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'debug', WORKER_POLL_INTERVAL: '200ms' });
  await worker.waitForLog((l) => l.message === 'worker started', 60_000, "'worker started'");
  const res = await stack.request('POST', '/v1/extract/async', { body: { url: `${site.url}/page?key=${stack.key}`, callbackUrl: `${receiver.url}/hook?token=${stack.key}` } });
  assert.equal(res.status, 202);
  await stack.waitForStatus(res.body.jobId, ['completed'], 60_000);
  for (const deadline = Date.now() + 30_000; received.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
  assert.equal(received.length, 1, 'the signed webhook arrived');
  await worker.stop('SIGTERM');
  // The worker did handle both: the job ran on the URL carrying the key, and the delivery was signed with the secret.
  assert.ok(worker.logs.some((l) => l.message === 'job started' && l.jobId === res.body.jobId), 'the job ran in this process');
  const output = worker.stdout() + worker.stderr();
  assert.ok(output.length > 1000, 'debug output was written');
  assert.ok(!output.includes(stack.key), 'no API key in the worker output');
  assert.ok(!output.includes(stack.key.slice('knowledgesdk_live_'.length)), 'not even the key without its prefix');
  assert.ok(!output.includes(secret) && !output.includes(secret.slice('whsec_'.length)), 'no webhook secret in the worker output');
});

test('the runner never takes more jobs than its concurrency', async () => {
  let inFlight = 0;
  let peak = 0;
  const slowSite = await startHttpServer((_req, res) => {
    inFlight++;
    peak = Math.max(peak, inFlight);
    setTimeout(() => {
      inFlight--;
      res.writeHead(200, { 'content-type': 'text/html' }).end(articlePage('Slow', 'Some slow text that arrives after a while.'));
    }, 150);
  });
  const { runner } = await runnerWithLog({});
  const jobs = await Promise.all(Array.from({ length: 8 }, (_, i) => enqueue(`${slowSite.url}/p${i}`)));
  await Promise.all(jobs.map((j) => stack.waitForStatus(j.id, ['completed'], 10_000)));
  assert.equal(peak, 2);
  await runner.stop(0);
});

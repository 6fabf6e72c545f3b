// No internal DNS oracle: a host that resolves to a private address is refused
// with a generic reason on every path a client can read (POST /v1/scrape, a
// failed job's error, a webhook delivery's error), while the log keeps the
// address it resolved to. The default address policy, with a resolver that
// maps test names to private addresses.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { before, describe, test } from 'node:test';
import winston from 'winston';
import { createOutboundClient, outboundOptions, type OutboundClient } from '../../core/outbound/index.js';
import { createApp } from '../../server/app.js';
import { knowledgePipeline } from '../../worker/pipeline/knowledge.js';
import { JobRunner } from '../../worker/runner.js';
import { WebhookSender } from '../../worker/webhooks.js';
import { knowledgePipelineOptions, runnerOptions, webhookSenderOptions } from '../../worker/worker.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { errorCode, errorDetails } from '../helpers/errors.js';
import { startStack, type Stack } from '../helpers/stack.js';

const INTERNAL_IP = '10.123.45.67';
const config = testConfig({ ALLOW_PRIVATE_NETWORKS: 'false', FETCH_CONNECT_TIMEOUT: '1s', WEBHOOK_RETRY_SCHEDULE: '100ms' });
const logLines: string[] = [];
const logger = winston.createLogger({
  level: 'debug',
  format: winston.format.json(),
  transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, cb) => (logLines.push(String(chunk)), cb()) }) })],
});

let stack: Stack;
let baseUrl: string;
let client: OutboundClient;

before(async () => {
  stack = await startStack();
  // Every *.intranet.example name resolves to one private address, as a split-horizon resolver would.
  client = createOutboundClient({
    ...outboundOptions(config),
    lookup: async (hostname) => (hostname.endsWith('intranet.example') ? [{ address: INTERNAL_IP, family: 4 }] : []),
  });
  onCleanup(() => client.close());
  const app = createApp({ config, sql: stack.sql, boss: stack.boss, logger, knowledge: stack.knowledge, client });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  onCleanup(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(baseUrl + path, { method, headers: { 'x-api-key': stack.key, ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: res.status, text: await res.text() };
}

const logged = () => logLines.join('\n');

describe('refused destinations never name the address they resolved to', () => {
  test('POST /v1/scrape: 400 naming url with a generic reason; the log has the address', async () => {
    const res = await call('POST', '/v1/scrape', { url: 'http://db.intranet.example/' });
    assert.equal(res.status, 400, res.text);
    const body = JSON.parse(res.text);
    assert.equal(errorCode(body), 'validation_error');
    const [problem] = errorDetails(body) as { field: string; message: string }[];
    assert.equal(problem!.field, 'url');
    assert.match(problem!.message, /private, loopback or reserved/);
    assert.ok(!res.text.includes(INTERNAL_IP), res.text);
    assert.match(logged(), new RegExp(`scrape destination refused.*${INTERNAL_IP.replace(/\./g, '\\.')}|${INTERNAL_IP.replace(/\./g, '\\.')}.*scrape destination refused`));
  });

  test("a failed job's error and a webhook delivery's error: generic reason, blocked_address code kept; the log has the address", async () => {
    const runner = new JobRunner(stack.sql, stack.boss, logger, knowledgePipeline({ client, knowledge: stack.knowledge, options: knowledgePipelineOptions(config) }), { ...runnerOptions(config), heartbeatIntervalMs: 500 });
    await runner.start();
    onCleanup(() => runner.stop(0));
    const sender = new WebhookSender(stack.sql, stack.boss, logger, client, { ...webhookSenderOptions(config), userAgent: 'gleaner-test' });
    await sender.start();
    onCleanup(() => sender.stop());

    const created = await call('POST', '/v1/extract/async', { url: 'http://wiki.intranet.example/', singlePage: true, callbackUrl: 'http://hooks.intranet.example/hook' });
    assert.equal(created.status, 202, created.text);
    const { jobId } = JSON.parse(created.text);
    await stack.waitForStatus(jobId, ['failed'], 20_000);

    const job = await call('GET', `/v1/jobs/${jobId}`);
    const error = JSON.parse(job.text).errorDetail;
    assert.equal(error.code, 'blocked_address', job.text);
    assert.ok(!job.text.includes(INTERNAL_IP), job.text);

    let deliveries: { error: string | null; outcome: string }[] = [];
    for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      const res = await call('GET', `/v1/jobs/${jobId}/deliveries`);
      deliveries = JSON.parse(res.text).deliveries;
      if (deliveries.some((d) => d.outcome === 'failed')) {
        assert.ok(!res.text.includes(INTERNAL_IP), res.text);
        break;
      }
    }
    const failed = deliveries.find((d) => d.outcome === 'failed');
    assert.ok(failed, `a failed delivery: ${JSON.stringify(deliveries)} ${job.text} ${logLines.filter((l) => /webhook/i.test(l)).join("\n").slice(0, 3000)}`);
    assert.match(failed.error ?? '', /private, loopback or reserved/);

    const events = await call('GET', `/v1/jobs/${jobId}/events`);
    assert.ok(!events.text.includes(INTERNAL_IP), events.text);
    assert.match(logged(), /page fetch refused|destination refused/);
    assert.ok(logLines.some((l) => l.includes('webhook destination refused') && l.includes(INTERNAL_IP)), 'the sender logs the address');
    assert.ok(logLines.some((l) => l.includes('fetch refused') && l.includes(INTERNAL_IP)), 'the crawler logs the address');
  });
});

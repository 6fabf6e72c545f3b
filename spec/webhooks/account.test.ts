// KnowledgeSDK's account webhooks (/v1/webhooks) end to end: the client's
// shapes (checked with schemas written from its WebhookFull type), per-key
// isolation, and events delivered through the durable queue to real receivers
// on 127.0.0.1, verified with the standardwebhooks package.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { createApiKey } from '../../core/apiKeys.js';
import { errorCode, errorDetails as details } from '../helpers/errors.js';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { startReceiver, waitFor as waitUntil } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

// KnowledgeSDK's WebhookFull (src/api/webhooks.ts of its Node client), plus the token Gleaner hands out at creation.
const webhookFull = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.string()),
  displayName: z.string().nullable().optional(),
  status: z.string(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
const envelope = z.object({ event: z.string(), payload: z.record(z.string(), z.unknown()), timestamp: z.iso.datetime(), version: z.literal(1) });

// A generous attempt timeout: a loaded machine must not turn a receiver's 200 into a timeout.
const SCHEDULE = { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms', WEBHOOK_TIMEOUT: '5s', WORKER_POLL_INTERVAL: '100ms' };

let stack: Stack;
let siteUrl: string;

before(async () => {
  const site = await startHttpServer(
    fixtureSite({
      '/': articlePage('Account home', 'The home page of a small site whose crawl announces each page to an account webhook.'),
      '/about': articlePage('About us', 'The about page, the second page the crawl finds and announces.'),
      '/missing': (_req, res) => {
        res.writeHead(404).end();
      },
    }),
  );
  siteUrl = site.url;
  stack = await startStack({ worker: true, config: SCHEDULE });
  await stack.startWebhookSender();
});

/** A receiver answering `statuses` in turn (the last repeats), recording every request. */
async function receiver(statuses: number[] = [200]) {
  const { baseUrl, received } = await startReceiver((_body, seen) => statuses[Math.min(seen.length - 1, statuses.length - 1)]!);
  return { url: `${baseUrl}/hook?tenant=secret-query`, received };
}

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000) => waitUntil(fn, timeoutMs);

async function subscribe(url: string, events: string[], key = stack.key) {
  const res = await stack.request('POST', '/v1/webhooks', { key, body: { url, events, displayName: 'Test hook', apiKeyId: 'ignored by Gleaner' } });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body as z.infer<typeof webhookFull> & { token: string };
}

const errorDetails = (res: { body: unknown }) => details(res.body as never) as { field: string; message: string }[];

const secretOf = async (key = stack.key) => (await stack.request('GET', '/v1/webhooks/secret', { key })).body.secret as string;

test('create, list and delete answer in the client’s shapes, and a key sees only its own webhooks', async () => {
  const other = await createApiKey(stack.sql, 'other tenant');
  const created = await subscribe('https://hooks.example.com/a', ['EXTRACTION_COMPLETED', 'extract.failed']);
  webhookFull.parse(created);
  assert.match(created.id, /^wh_/);
  assert.deepEqual(created.events, ['EXTRACTION_COMPLETED', 'EXTRACTION_FAILED']);
  assert.equal(created.status, 'active');
  assert.equal(created.displayName, 'Test hook');
  assert.match(created.token, /^whtok_/);

  const mine = await stack.request('GET', '/v1/webhooks');
  assert.equal(mine.status, 200);
  z.array(webhookFull).parse(mine.body);
  assert.ok(mine.body.some((w: { id: string }) => w.id === created.id));
  assert.ok(!mine.body.some((w: Record<string, unknown>) => 'token' in w), 'the token is handed out at creation only');

  const theirs = await stack.request('GET', '/v1/webhooks', { key: other.key });
  assert.deepEqual(theirs.body, []);
  assert.equal((await stack.request('DELETE', `/v1/webhooks/${created.id}`, { key: other.key })).status, 404);
  assert.equal((await stack.request('POST', `/v1/webhooks/${created.id}/test`, { key: other.key })).status, 404);
  assert.equal((await stack.request('GET', `/v1/webhooks/${created.id}/deliveries`, { key: other.key })).status, 404);

  const deleted = await stack.request('DELETE', `/v1/webhooks/${created.id}`);
  assert.deepEqual([deleted.status, deleted.body], [200, { id: created.id, deleted: true }]);
  assert.ok(!(await stack.request('GET', '/v1/webhooks')).body.some((w: { id: string }) => w.id === created.id));
  assert.equal((await stack.request('DELETE', `/v1/webhooks/${created.id}`)).status, 404);
  assert.equal((await stack.request('DELETE', '/v1/webhooks/not-an-id')).status, 404);
});

test('bad input is a 400 naming the field; every KnowledgeSDK event name is accepted', async () => {
  const cases: [unknown, string][] = [
    [{ events: ['EXTRACTION_COMPLETED'] }, 'url'],
    [{ url: 'ftp://hooks.example.com/', events: ['EXTRACTION_COMPLETED'] }, 'url'],
    [{ url: 'https://hooks.example.com/', events: [] }, 'events'],
    [{ url: 'https://hooks.example.com/', events: 'EXTRACTION_COMPLETED' }, 'events'],
    [{ url: 'https://hooks.example.com/', events: ['EXTRACTION_COMPLETED', 'NOPE'] }, 'events.1'],
    [{ url: 'https://hooks.example.com/', events: ['PAGE_UPDATED', 'extract.started'] }, 'events.1'],
    [{ url: 'https://hooks.example.com/', events: ['EXTRACTION_COMPLETED'], displayName: 7 }, 'displayName'],
  ];
  for (const [body, field] of cases) {
    const res = await stack.request('POST', '/v1/webhooks', { body });
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(errorCode(res.body), 'validation_error');
    assert.ok(errorDetails(res).some((d) => d.field === field), `${JSON.stringify(body)} names ${field}: ${JSON.stringify(res.body)}`);
  }
  const all = ['EXTRACTION_STARTED', 'PAGE_SCRAPED', 'PAGE_UPDATED', 'EXTRACTION_COMPLETED', 'EXTRACTION_FAILED', 'TESTING_CONNECTION'];
  const every = await stack.request('POST', '/v1/webhooks', { body: { url: 'https://hooks.example.com/', events: all } });
  assert.equal(every.status, 201, JSON.stringify(every.body));
  assert.deepEqual(every.body.events, all);
  await stack.request('DELETE', `/v1/webhooks/${every.body.id}`);
  const redeliver = await stack.request('POST', `/v1/webhooks/${(await subscribe('https://hooks.example.com/b', ['TESTING_CONNECTION'])).id}/redeliver`, { body: {} });
  assert.equal(redeliver.status, 400);
  assert.ok(errorDetails(redeliver).some((d) => d.field === 'webhookId'));
});

test('test delivers TESTING_CONNECTION with the token, the dedup key and a verifiable signature', async () => {
  const hook = await receiver();
  const sub = await subscribe(hook.url, ['TESTING_CONNECTION']);
  const res = await stack.request('POST', `/v1/webhooks/${sub.id}/test`);
  assert.equal(res.status, 202);
  assert.equal(res.body.event, 'TESTING_CONNECTION');
  await waitFor(() => hook.received.length === 1);
  const r = hook.received[0]!;
  new Webhook(await secretOf()).verify(r.body, r.headers);
  assert.equal(r.headers['x-knowledgesdk-webhook-token'], sub.token);
  assert.equal(r.headers['x-knowledgesdk-dedup-key'], res.body.webhookId);
  assert.equal(r.headers['webhook-id'], res.body.webhookId);
  const body = envelope.parse(JSON.parse(r.body));
  assert.equal(body.event, 'TESTING_CONNECTION');
  assert.equal(body.payload.webhookId, sub.id);

  const log = await waitFor(async () => {
    const d = await stack.request('GET', `/v1/webhooks/${sub.id}/deliveries`);
    return d.body.deliveries.length === 1 ? d.body : undefined;
  });
  assert.deepEqual(log.deliveries.map((d: { outcome: string; event: string }) => [d.event, d.outcome]), [['TESTING_CONNECTION', 'delivered']]);
});

test('a finished crawl announces each page and its completion; a failed job its failure; another key’s jobs nothing', async () => {
  const hook = await receiver();
  const sub = await subscribe(hook.url, ['EXTRACTION_COMPLETED', 'EXTRACTION_FAILED', 'PAGE_SCRAPED']);
  const crawl = await stack.request('POST', '/v1/extract/async', { body: { url: `${siteUrl}/`, maxPages: 5 } });
  await stack.waitForStatus(crawl.body.jobId, ['completed']);
  const bodies = () => hook.received.map((r) => envelope.parse(JSON.parse(r.body)));
  // Each event is a delivery of its own (order not guaranteed): two pages and the completion.
  const forCrawl = await waitFor(() => {
    const all = bodies().filter((b) => b.payload.jobId === crawl.body.jobId);
    return all.length === 3 ? all : undefined;
  });
  const pages = forCrawl.filter((b) => b.event === 'PAGE_SCRAPED');
  assert.deepEqual(pages.map((p) => p.payload.url).sort(), [`${siteUrl}/`, `${siteUrl}/about`]);
  assert.ok(pages.every((p) => p.payload.status === 'done' && p.payload.title));
  const completed = forCrawl.find((b) => b.event === 'EXTRACTION_COMPLETED')!;
  assert.equal(completed.payload.status, 'completed');
  assert.equal((completed.payload.result as { knowledgeItems: unknown[] }).knowledgeItems.length, 2);
  for (const r of hook.received) {
    new Webhook(await secretOf()).verify(r.body, r.headers);
    assert.equal(r.headers['x-knowledgesdk-webhook-token'], sub.token);
  }

  const failed = await stack.request('POST', '/v1/extract/async', { body: { url: `${siteUrl}/missing`, singlePage: true } });
  await stack.waitForStatus(failed.body.jobId, ['failed']);
  const failure = await waitFor(() => bodies().find((b) => b.event === 'EXTRACTION_FAILED'));
  assert.equal(failure.payload.jobId, failed.body.jobId);
  assert.equal(typeof failure.payload.error, 'string');
  assert.equal(failure.payload.code, 'upstream_status');

  // Another key's job reaches none of this key's subscriptions.
  const other = await createApiKey(stack.sql, 'quiet tenant');
  const theirs = await stack.request('POST', '/v1/extract/async', { key: other.key, body: { url: `${siteUrl}/about`, singlePage: true } });
  await stack.waitForStatus(theirs.body.jobId, ['completed']);
  const before = hook.received.length;
  await new Promise((r) => setTimeout(r, 600));
  assert.equal(hook.received.length, before);
  assert.ok(!bodies().some((b) => b.payload.jobId === theirs.body.jobId));
  // The job's own delivery log shows the subscription's attempts.
  const jobLog = await stack.request('GET', `/v1/jobs/${crawl.body.jobId}/deliveries`);
  assert.ok(jobLog.body.deliveries.some((d: { event: string; outcome: string }) => d.event === 'EXTRACTION_COMPLETED' && d.outcome === 'delivered'));
  for (const d of jobLog.body.deliveries as { url: string }[]) assert.equal(d.url, hook.url);
});

test('a receiver that is down gets the event on a later attempt, same id and body; redeliver sends it once more', async () => {
  const hook = await receiver([503, 500, 200]);
  const sub = await subscribe(hook.url, ['TESTING_CONNECTION']);
  const queued = await stack.request('POST', `/v1/webhooks/${sub.id}/test`);
  await waitFor(() => hook.received.length === 3);
  assert.equal(new Set(hook.received.map((r) => r.headers['webhook-id'])).size, 1);
  assert.equal(new Set(hook.received.map((r) => r.body)).size, 1);
  const log = await waitFor(async () => {
    const d = (await stack.request('GET', `/v1/webhooks/${sub.id}/deliveries`)).body.deliveries as { outcome: string; statusCode: number }[];
    return d.length === 3 ? d : undefined;
  });
  assert.deepEqual(log.map((d) => [d.outcome, d.statusCode]), [['retrying', 503], ['retrying', 500], ['delivered', 200]]);

  const again = await stack.request('POST', `/v1/webhooks/${sub.id}/redeliver`, { body: { webhookId: queued.body.webhookId } });
  assert.equal(again.status, 202);
  await waitFor(() => hook.received.length === 4);
  assert.equal(hook.received[3]!.headers['webhook-id'], queued.body.webhookId);
  assert.equal(hook.received[3]!.body, hook.received[0]!.body);
  const missing = await stack.request('POST', `/v1/webhooks/${sub.id}/redeliver`, { body: { webhookId: 'msg_doesnotexist' } });
  assert.equal(missing.status, 404);
});

test('a message whose first attempt failed is sent by another sender after the first one stops', async () => {
  const quiet = await startStack({ worker: true, config: { ...SCHEDULE, WEBHOOK_RETRY_SCHEDULE: '1500ms,100ms' } });
  const hook = await receiver([500, 200]);
  const created = await quiet.request('POST', '/v1/webhooks', { body: { url: hook.url, events: ['TESTING_CONNECTION'] } });
  const queued = await quiet.request('POST', `/v1/webhooks/${created.body.id}/test`);
  const first = await quiet.startWebhookSender({ random: () => 0.5 });
  await waitFor(() => hook.received.length === 1);
  await first.stop();
  await quiet.startWebhookSender();
  await waitFor(() => hook.received.length === 2);
  assert.equal(hook.received[1]!.headers['webhook-id'], queued.body.webhookId);
  const rows = await waitFor(async () => {
    const all = await quiet.sql`select outcome from webhook_deliveries where message_id = ${queued.body.webhookId} order by id`;
    return all.length === 2 ? all : undefined;
  });
  assert.deepEqual(rows.map((r) => r.outcome), ['retrying', 'delivered']);
});

// Firecrawl's `webhook` on crawl and batch scrape, driven by the official SDK
// (@mendable/firecrawl-js, v2 client and .v1 client) against a running
// Gleaner and a real receiver on 127.0.0.1: Firecrawl's event types and body
// shape, X-Firecrawl-Signature over the body with the key's secret, the
// client's headers and metadata, and the durable queue's retries and redelivery.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { before, test } from 'node:test';
import Firecrawl, { SdkError } from '@mendable/firecrawl-js';
import { z } from 'zod';
import { articlePage, fixtureSite, startHttpServer } from '../helpers/http.js';
import { startReceiver, waitFor as waitUntil } from '../helpers/receiver.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Firecrawl's webhook payload (apps/api/src/services/webhook: {success, type, id, webhookId, data, error?, metadata?}).
const firecrawlEvent = z.object({
  success: z.boolean(),
  type: z.string(),
  id: z.string(),
  webhookId: z.string(),
  data: z.array(z.object({ markdown: z.string(), metadata: z.object({ sourceURL: z.string(), url: z.string(), statusCode: z.number() }).loose() }).loose()),
  error: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

let stack: Stack;
let app: Firecrawl;
let siteUrl: string;

before(async () => {
  const site = await startHttpServer(
    fixtureSite({
      '/': articlePage('Hook home', 'The home page of a site whose crawl reports to a Firecrawl webhook, page by page.'),
      '/about': articlePage('About us', 'The about page, the second page the crawl finds and reports.'),
    }),
  );
  siteUrl = site.url;
  stack = await startStack({ worker: true, config: { WEBHOOK_RETRY_SCHEDULE: '100ms,100ms,100ms', WEBHOOK_TIMEOUT: '5s', WORKER_POLL_INTERVAL: '100ms', CRAWL_HOST_DELAY: '0' } });
  await stack.startWebhookSender();
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

/** A receiver that answers 500 to the first request of each `failFirst` type, 200 to everything else. */
async function receiver(failFirst: string[] = []) {
  const failed = new Set<string>();
  const { baseUrl, received } = await startReceiver((body) => {
    const type = (JSON.parse(body) as { type: string }).type;
    if (!failFirst.includes(type) || failed.has(type)) return 200;
    failed.add(type);
    return 500;
  });
  return { url: `${baseUrl}/firecrawl-hook`, received, events: () => received.map((r) => firecrawlEvent.parse(JSON.parse(r.body))) };
}

const waitFor = <T>(fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000) => waitUntil(fn, timeoutMs);

const secret = async () => (await stack.request('GET', '/v1/webhooks/secret')).body.secret as string;
const signed = (key: string, body: string) => `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

test('a v2 crawl sends crawl.started, a crawl.page per page with its document and crawl.completed, signed, with the client’s headers and metadata', async () => {
  const hook = await receiver(['crawl.completed']);
  const started = await app.startCrawl(`${siteUrl}/`, {
    limit: 5,
    webhook: { url: hook.url, headers: { authorization: 'Bearer receiver-token' }, metadata: { run: 'r1' }, events: ['started', 'page', 'completed'] },
  });
  await waitFor(() => hook.events().filter((e) => e.type === 'crawl.completed').length === 2); // the first answered 500: sent again
  const events = hook.events();
  const unique = [...new Map(events.map((e) => [e.webhookId, e])).values()];
  assert.deepEqual(unique.map((e) => e.type).sort(), ['crawl.completed', 'crawl.page', 'crawl.page', 'crawl.started']);
  for (const e of unique) {
    assert.equal(e.id, started.id);
    assert.deepEqual(e.metadata, { run: 'r1' });
    assert.equal(e.success, true);
  }
  const pages = unique.filter((e) => e.type === 'crawl.page');
  assert.deepEqual(pages.map((p) => p.data[0]!.metadata.sourceURL).sort(), [`${siteUrl}/`, `${siteUrl}/about`]);
  assert.match(pages.find((p) => p.data[0]!.metadata.sourceURL.endsWith('/about'))!.data[0]!.markdown, /second page the crawl finds/);
  assert.deepEqual(unique.find((e) => e.type === 'crawl.completed')!.data, []);

  const key = await secret();
  for (const r of hook.received) {
    assert.equal(r.headers['x-firecrawl-signature'], signed(key, r.body));
    assert.equal(r.headers.authorization, 'Bearer receiver-token');
    assert.equal(r.headers['webhook-id'], (JSON.parse(r.body) as { webhookId: string }).webhookId);
  }
  // The retried completion: the same message (id and body) on both attempts.
  const completions = hook.received.filter((r) => (JSON.parse(r.body) as { type: string }).type === 'crawl.completed');
  assert.equal(completions[0]!.body, completions[1]!.body);

  // Its deliveries are the job's, and one can be sent again by its id.
  const log = await waitFor(async () => {
    const d = (await stack.request('GET', `/v1/jobs/${started.id}/deliveries`)).body.deliveries as { webhookId: string; event: string; outcome: string }[];
    return d.filter((x) => x.outcome === 'delivered').length === 4 ? d : undefined;
  });
  const completedId = log.find((d) => d.event === 'crawl.completed')!.webhookId;
  const again = await stack.request('POST', `/v1/jobs/${started.id}/redeliver`, { body: { webhookId: completedId } });
  assert.equal(again.status, 202);
  await waitFor(() => hook.received.length === 6);
  assert.equal(hook.received[5]!.body, completions[0]!.body);
});

test('the v1 client’s batch scrape with a webhook URL sends every batch_scrape event', async () => {
  const hook = await receiver();
  const res = await app.v1.asyncBatchScrapeUrls([`${siteUrl}/`, `${siteUrl}/about`], { formats: ['markdown'] }, undefined, hook.url);
  assert.ok(res.success && 'id' in res);
  const id = (res as { id: string }).id;
  await waitFor(() => hook.events().some((e) => e.type === 'batch_scrape.completed'));
  await waitFor(() => hook.events().length === 4);
  assert.deepEqual(hook.events().map((e) => e.type).sort(), ['batch_scrape.completed', 'batch_scrape.page', 'batch_scrape.page', 'batch_scrape.started']);
  assert.ok(hook.events().every((e) => e.id === id && e.metadata === undefined));
});

test('a failed crawl sends crawl.failed with its error; events not asked for are not sent', async () => {
  const hook = await receiver();
  const started = await app.startCrawl(`${siteUrl}/nothing-here`, { limit: 2, webhook: { url: hook.url, events: ['failed'] } });
  const failed = await waitFor(() => hook.events().find((e) => e.type === 'crawl.failed'));
  assert.equal(failed.id, started.id);
  assert.equal(failed.success, false);
  assert.equal(typeof failed.error, 'string');
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(hook.events().map((e) => e.type), ['crawl.failed']);
});

test('a bad webhook is a 400 naming its field, and nothing is started', async () => {
  const cases: [unknown, string][] = [
    ['ftp://hooks.example.com/', 'webhook'],
    [{ url: 'not a url' }, 'webhook.url'],
    [{ url: 'https://hooks.example.com/', events: ['page', 'finished'] }, 'webhook.events.1'],
    [{ url: 'https://hooks.example.com/', headers: { 'X-Firecrawl-Signature': 'forged' } }, 'webhook.headers.X-Firecrawl-Signature'],
  ];
  const before = (await stack.sql`select count(*)::int as n from jobs`)[0]!.n as number;
  for (const [webhook, field] of cases) {
    const res = await fetch(`${stack.baseUrl}/firecrawl/v2/crawl`, {
      method: 'POST',
      headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ url: `${siteUrl}/`, webhook }),
    });
    const body = (await res.json()) as { success: boolean; details: { field: string }[] };
    assert.equal(res.status, 400, JSON.stringify(webhook));
    assert.equal(body.success, false);
    assert.ok(body.details.some((d) => d.field === field), `${JSON.stringify(webhook)} names ${field}: ${JSON.stringify(body)}`);
  }
  await assert.rejects(app.startCrawl(`${siteUrl}/`, { webhook: { url: 'https://hooks.example.com/', events: ['nope' as 'page'] } }), SdkError);
  assert.equal((await stack.sql`select count(*)::int as n from jobs`)[0]!.n, before);
});

test('a crawl run as page tasks announces each page while it is still running, and each page once', async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const site = await startHttpServer(
    fixtureSite({
      '/': `<!doctype html><html><head><title>Live home</title></head><body><article><h1>Live home</h1><p>The home page links to a page that answers only when the test lets it, so the crawl is still running while its first pages are announced.</p><a href="/slow">slow</a> <a href="/quick">quick</a></article></body></html>`,
      '/quick': articlePage('Quick page', 'A page that answers at once and is announced before the crawl ends.'),
      '/slow': (_req, res) => {
        void gate.then(() => res.writeHead(200, { 'content-type': 'text/html' }).end(articlePage('Slow page', 'The page that holds the crawl open until the test has seen the others announced.')));
      },
    }),
  );
  const tasks = await startStack({ worker: true, config: { CRAWL_PAGE_TASKS: 'true', WORKER_POLL_INTERVAL: '100ms', CRAWL_HOST_DELAY: '0' } });
  await tasks.startWebhookSender();
  const client = new Firecrawl({ apiKey: tasks.key, apiUrl: `${tasks.baseUrl}/firecrawl` });
  const hook = await receiver();
  const started = await client.startCrawl(`${site.url}/`, { limit: 5, webhook: { url: hook.url, events: ['page', 'completed'] } });
  const pageOf = (e: z.infer<typeof firecrawlEvent>) => new URL(e.data[0]!.metadata.sourceURL).pathname;
  await waitFor(() => hook.events().some((e) => e.type === 'crawl.page' && pageOf(e) === '/quick'));
  assert.equal((await tasks.waitForStatus(started.id, ['processing'])).status, 'processing', 'announced while the crawl runs');
  assert.ok(!hook.events().some((e) => e.type === 'crawl.completed'));
  release();
  await waitFor(() => hook.events().some((e) => e.type === 'crawl.completed'));
  await waitFor(() => hook.events().filter((e) => e.type === 'crawl.page').length === 3);
  await new Promise((r) => setTimeout(r, 500));
  const pages = hook.events().filter((e) => e.type === 'crawl.page');
  assert.deepEqual(pages.map(pageOf).sort(), ['/', '/quick', '/slow']);
  assert.equal(new Set(pages.map((p) => p.webhookId)).size, 3);
});

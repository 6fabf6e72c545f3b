// extract.runStream (KnowledgeSDK src/api/extract.ts → src/utils/http-client.ts
// streamPost): POST /v1/business/stream with Accept: text/event-stream, read
// with a real SSE parser (eventsource-parser); every event is checked against
// the client's ExtractStreamEvent type, and their order and counts against the job.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createParser } from 'eventsource-parser';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { asClientReads, clientKey, extractResult, extractStreamEvent } from './contract.js';

let stack: Stack;
let site: FixtureSite;

before(async () => {
  stack = await startStack({ config: { CRAWL_HOST_DELAY: '0' } });
  site = await startFixtureSite();
  await stack.startWorker({ pipeline: stack.knowledgePipeline() });
});
after(() => site.close());

type StreamEvent = ReturnType<typeof extractStreamEvent.parse>;

/** streamPost: the client's headers and body; each message's data is JSON, typed by its `type` (or the SSE event name). */
async function runStream(body: unknown): Promise<StreamEvent[]> {
  const res = await fetch(`${stack.baseUrl}/v1/business/stream`, {
    method: 'POST',
    headers: { 'x-api-key': clientKey(stack.key), 'Content-Type': 'application/json', 'User-Agent': 'KnowledgeSDK Node SDK v0.1.0', Accept: 'text/event-stream' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(90_000),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  const events: StreamEvent[] = [];
  const parser = createParser({
    onEvent(ev) {
      if (!ev.data) return;
      events.push(asClientReads(extractStreamEvent, { type: ev.event || 'message', ...JSON.parse(ev.data) }, `stream event ${ev.data.slice(0, 80)}`));
    },
  });
  const decoder = new TextDecoder();
  for await (const chunk of res.body!) parser.feed(decoder.decode(chunk, { stream: true }));
  return events;
}

test('a crawl streams connected, progress, pages_planned, one page_scraped per page, business_classified, then complete with the ExtractResult', async () => {
  const events = await runStream({ url: `${site.baseUrl}/`, maxPages: 5 });
  const types = events.map((e) => e.type);
  assert.equal(types[0], 'connected');
  assert.equal(types.at(-1), 'complete');
  assert.ok(types.includes('progress'));
  assert.ok(types.indexOf('pages_planned') < types.indexOf('business_classified') && types.indexOf('business_classified') < types.indexOf('complete'), types.join(' '));
  const complete = events.at(-1) as Extract<StreamEvent, { type: 'complete' }>;
  const result = asClientReads(extractResult, complete.result, 'complete.result');
  const scraped = events.filter((e): e is Extract<StreamEvent, { type: 'page_scraped' }> => e.type === 'page_scraped');
  const done = scraped.filter((e) => e.status === 'done');
  assert.equal(done.length, result.pagesScraped, 'one page_scraped (done) per page of the result');
  assert.deepEqual(scraped.map((e) => e.index), scraped.map((_, i) => i), 'indices 0, 1, 2, … in order');
  assert.equal(new Set(scraped.map((e) => e.url)).size, scraped.length, 'each page reported once');
  const classified = events.find((e): e is Extract<StreamEvent, { type: 'business_classified' }> => e.type === 'business_classified')!;
  assert.equal(classified.business.businessName, result.business.businessName);
  assert.equal(classified.business.industry, result.business.industrySector);
});

test('a job that fails ends the stream with an error event carrying its message', async () => {
  const events = await runStream({ url: `${site.baseUrl}/missing-page` });
  assert.equal(events[0]?.type, 'connected');
  const last = events.at(-1)!;
  assert.equal(last.type, 'error');
  assert.match((last as { message: string }).message, /404/);
});

test('bad input is a 400 before any stream starts, with the message the client shows', async () => {
  const res = await fetch(`${stack.baseUrl}/v1/business/stream`, { method: 'POST', headers: { 'x-api-key': stack.key, 'content-type': 'application/json', accept: 'text/event-stream' }, body: JSON.stringify({ url: 'ftp://nope' }) });
  assert.equal(res.status, 400);
  const body = (await res.json()) as { message: string; code: string };
  assert.equal(body.code, 'validation_error');
  assert.match(body.message, /url/);
});

// render: auto | always | never on the scrape path and in crawls: static
// first, the browser only for pages that need it (an app shell, or too little
// extracted text); crawls discover client-side routes from the rendered DOM;
// without a browser auto keeps the static page with a warning and always
// fails browser_unavailable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createSilentLogger } from '../../core/platform/logger.js';
import { createOutboundClient, outboundOptions } from '../../core/outbound/index.js';
import { PipelineError } from '../../core/page/errors.js';
import { scrapePage } from '../../core/page/scrape.js';
import { runCrawl } from '../../worker/pipeline/crawl/crawler.js';
import type { StepContext } from '../../worker/pipeline/types.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';
import { errorCode } from '../helpers/errors.js';
import { startHttpServer } from '../helpers/http.js';
import { startStack } from '../helpers/stack.js';
import { browserForTest, needBrowser } from './helpers.js';
import { startSpaSite } from './spaSite.js';

const logger = createSilentLogger();
const client = createOutboundClient(outboundOptions(testConfig()));
onCleanup(() => client.close());
const signal = () => new AbortController().signal;

const STATIC_ARTICLE = `<html><head><title>Tide tables</title><script src="/analytics.js"></script></head><body><article><h1>Tide tables</h1><p>${'High water comes about fifty minutes later each day, following the moon around the earth. '.repeat(6)}</p></article></body></html>`;
// Some text, a script that would add the rest: thin after extraction, not an app shell by its markup.
const THIN_PAGE = '<html><head><title>Thin</title></head><body><main><p>Loading the forecast.</p><div id="forecast"></div></main><script>setTimeout(() => { document.getElementById("forecast").innerHTML = "<p>" + "Tomorrow brings a westerly breeze and a spring tide at dawn, with showers clearing by noon. ".repeat(4) + "</p>"; }, 100)</script></body></html>';

describe('render modes on the scrape path', () => {
  test('auto renders an app shell, never keeps the static shell (no text: empty_content), and a static page starts no browser', async (t) => {
    if (!needBrowser(t)) return;
    const spa = await startSpaSite();
    const site = await startHttpServer((req, res) => {
      if (req.url === '/analytics.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end('');
      res.writeHead(200, { 'content-type': 'text/html' }).end(STATIC_ARTICLE);
    });
    const browser = browserForTest(t);
    const staticPage = await scrapePage(client, `${site.url}/tides`, { signal: signal(), logger, rendering: { mode: 'auto', browser } });
    assert.equal(staticPage.rendered, false);
    assert.equal(browser.launches(), 0, 'auto on a static page starts no browser');

    const page = await scrapePage(client, `${spa.url}/`, { signal: signal(), logger, rendering: { mode: 'auto', browser } });
    assert.equal(page.rendered, true);
    assert.equal(page.title, 'Orbit Docs');
    assert.match(page.text, /scheduling engine for satellite ground stations/);
    assert.match(page.text, /Fact one about \/: fetched from the API/);
    assert.ok(page.links.some((l) => l.endsWith('/guide')), page.links.join());

    const never = await scrapePage(client, `${spa.url}/`, { signal: signal(), logger, rendering: { mode: 'never', browser } }).then(() => undefined, (e: unknown) => e);
    assert.ok(never instanceof PipelineError && never.code === 'empty_content', String(never));
  });

  test('auto renders a page whose extracted text is too short', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startHttpServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(THIN_PAGE));
    const browser = browserForTest(t);
    const page = await scrapePage(client, `${site.url}/`, { signal: signal(), logger, rendering: { mode: 'auto', browser } });
    assert.equal(page.rendered, true);
    assert.match(page.text, /westerly breeze/);
  });

  test('without a browser: auto keeps the static page with a warning, always fails browser_unavailable', async (t) => {
    const site = await startHttpServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end(THIN_PAGE));
    const browser = browserForTest(t, { BROWSER_EXECUTABLE: '/nonexistent/chromium' });
    assert.equal(browser.available, false);
    const page = await scrapePage(client, `${site.url}/`, { signal: signal(), logger, rendering: { mode: 'auto', browser } });
    assert.equal(page.rendered, false);
    assert.match(page.text, /Loading the forecast/);
    assert.ok(page.warnings?.some((w) => /no browser is available/.test(w)), JSON.stringify(page.warnings));
    const err = await scrapePage(client, `${site.url}/`, { signal: signal(), logger, rendering: { mode: 'always', browser } }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PipelineError && err.code === 'browser_unavailable', String(err));
  });
});

describe('render modes over HTTP and in crawls', () => {
  test('POST /v1/scrape: an SPA is rendered by default, a screenshot comes back as a PNG, a bad render mode is a 400 naming it', async (t) => {
    if (!needBrowser(t)) return;
    const spa = await startSpaSite();
    const stack = await startStack();
    const res = await stack.request('POST', '/v1/scrape', { body: { url: `${spa.url}/guide` } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.rendered, true);
    assert.match(res.body.markdown, /pass prediction/);
    const shot = await stack.request('POST', '/v1/scrape', { body: { url: `${spa.url}/`, screenshot: 'fullPage', waitFor: 100 } });
    assert.equal(shot.status, 200, JSON.stringify(shot.body));
    const png = Buffer.from(shot.body.screenshot.base64, 'base64');
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(png.readUInt32BE(16), 1280, 'width from the PNG header');
    assert.equal(shot.body.screenshot.fullPage, true);
    const bad = await stack.request('POST', '/v1/scrape', { body: { url: `${spa.url}/`, render: 'sometimes' } });
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.body), 'validation_error');
    assert.match(JSON.stringify(bad.body), /render/);
  });

  test('a crawl discovers client-side routes from the rendered DOM; with render never it finds none', async (t) => {
    if (!needBrowser(t)) return;
    const spa = await startSpaSite();
    const browser = browserForTest(t);
    const run = async (mode: 'auto' | 'never') => {
      const ctx: StepContext = { jobId: 'job_render', apiKeyId: 'key_render', logger, signal: signal(), progress: () => {}, rendering: { mode, browser } };
      return runCrawl({ url: `${spa.url}/`, maxPages: 5 }, { robotsUserAgent: 'GleanerBot', hostConcurrency: 2, hostDelayMs: 0 }, { client }, ctx, () => {});
    };
    const rendered = await run('auto');
    const paths = rendered.pages.map((p) => new URL(p.url).pathname).sort();
    assert.deepEqual(paths, ['/', '/guide', '/guide/advanced']);
    const text = rendered.pages.find((p) => p.url.endsWith('/guide/advanced'))?.content.text ?? '';
    assert.match(text, /Doppler correction/);
    const plain = await run('never').then((r) => r.pages.length, () => 0);
    assert.equal(plain, 0, 'the static shell has no text and no links');
  });
});

// The Firecrawl-compatible scrape, driven by the official SDK (@mendable/firecrawl-js):
// its default v2 client and its .v1 client, against a running Gleaner and the fixture site.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import Firecrawl, { SdkError } from '@mendable/firecrawl-js';
import { setSharedBrowser } from '../../core/browser/index.js';
import { needBrowser, testBrowserService } from '../browser/helpers.js';
import { startFixtureSite, type FixtureSite } from '../helpers/fixtureSite.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let site: FixtureSite;
let app: Firecrawl;
const seenHeaders: Record<string, string | undefined>[] = [];

const OG_PAGE = `<!doctype html><html lang="de"><head><title>Cider notes</title>
<meta property="og:title" content="Cider, properly"><meta property="og:image" content="https://example.com/c.png"><meta property="og:site_name" content="Orchard Ledger">
<meta name="description" content="How cider is pressed."><script>var tracking = 1;</script><style>p{}</style></head>
<body><header><a href="/">Home</a> <a href="/shop">Shop</a></header>
<article><h1>Pressing cider</h1><p class="lead">Apples are washed, milled into pomace and pressed; the juice ferments for weeks in cool cellars before it is bottled.</p>
<p class="detail">A good press extracts most of the juice without crushing the pips, which would make the cider bitter.</p></article>
<footer>Footer text of the cider site</footer></body></html>`;

async function expectSdkError(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SdkError, `expected an SdkError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

before(async () => {
  site = await startFixtureSite({
    routes: {
      '/og': (_req, res) => void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(OG_PAGE),
      '/spa': (_req, res) =>
        void res
          .writeHead(200, { 'content-type': 'text/html' })
          .end(`<html><head><title>App</title></head><body><div id="app"></div><script>setTimeout(() => { document.getElementById('app').innerHTML = '<main><h1>Rendered by script</h1><p>This paragraph exists only after the page script has run in a browser, long enough to be content.</p></main>'; }, 50);</script></body></html>`),
      '/echo-headers': (req, res) => {
        seenHeaders.push({ 'x-tenant': req.headers['x-tenant'] as string | undefined, 'user-agent': req.headers['user-agent'] });
        res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><main><h1>Echo</h1><p>The page saw the header value ${String(req.headers['x-tenant'])} on its request, which proves the header was sent.</p></main></body></html>`);
      },
    },
  });
  stack = await startStack();
  // The API's browser as a process sets it up, on the test configuration (loopback allowed).
  setSharedBrowser(testBrowserService());
  app = new Firecrawl({ apiKey: stack.key, apiUrl: `${stack.baseUrl}/firecrawl` });
});

describe('v2 scrape', () => {
  test('markdown by default: the main content, metadata from the page', async () => {
    const doc = await app.scrape(`${site.baseUrl}/pricing`);
    assert.match(doc.markdown ?? '', /# Pricing/);
    assert.match(doc.markdown ?? '', /Enterprise plan — \$249 per month/);
    assert.doesNotMatch(doc.markdown ?? '', /\[Home\]/, 'navigation is not main content');
    assert.equal(doc.html, undefined);
    assert.equal(doc.rawHtml, undefined);
    const m = doc.metadata!;
    assert.equal(m.title, 'Pricing — Orchard Ledger');
    assert.match(String(m.description), /Seedling, Grower/);
    assert.equal(m.language, 'en');
    assert.equal(m.sourceURL, `${site.baseUrl}/pricing`);
    assert.equal(m.url, `${site.baseUrl}/pricing`);
    assert.equal(m.statusCode, 200);
    assert.match(String(m.contentType), /text\/html/);
  });

  test('html (cleaned main content), rawHtml, links and Open Graph fields', async () => {
    const doc = await app.scrape(`${site.baseUrl}/og`, { formats: ['markdown', 'html', 'rawHtml', 'links'] });
    assert.match(doc.html ?? '', /<h1>Pressing cider<\/h1>/);
    assert.doesNotMatch(doc.html ?? '', /<script|<style|<header|<footer/);
    assert.equal(doc.rawHtml, OG_PAGE);
    assert.deepEqual(doc.links, [`${site.baseUrl}/`, `${site.baseUrl}/shop`]);
    const m = doc.metadata as Record<string, unknown>;
    assert.equal(m['ogTitle'], 'Cider, properly');
    assert.equal(m['ogImage'], 'https://example.com/c.png');
    assert.equal(m['ogSiteName'], 'Orchard Ledger');
    assert.equal(m['language'], 'de');
  });

  test('onlyMainContent false: the whole page as Markdown', async () => {
    const main = await app.scrape(`${site.baseUrl}/og`, { formats: ['markdown'] });
    const whole = await app.scrape(`${site.baseUrl}/og`, { formats: ['markdown'], onlyMainContent: false });
    assert.doesNotMatch(main.markdown ?? '', /Footer text/);
    assert.match(whole.markdown ?? '', /Footer text of the cider site/);
    assert.match(whole.markdown ?? '', /\[Shop\]\(/);
    assert.match(whole.markdown ?? '', /Pressing cider/);
    assert.doesNotMatch(whole.markdown ?? '', /tracking/, 'scripts are never text');
  });

  test('includeTags keeps only the matching elements, excludeTags removes them', async () => {
    const only = await app.scrape(`${site.baseUrl}/og`, { formats: ['markdown', 'html'], includeTags: ['p.detail'] });
    assert.match(only.markdown ?? '', /good press extracts/);
    assert.doesNotMatch(only.markdown ?? '', /Apples are washed/);
    assert.doesNotMatch(only.html ?? '', /Apples are washed/);
    const without = await app.scrape(`${site.baseUrl}/og`, { formats: ['markdown'], excludeTags: ['.lead'], onlyMainContent: false });
    assert.doesNotMatch(without.markdown ?? '', /Apples are washed/);
    assert.match(without.markdown ?? '', /good press extracts/);
    // The page's metadata still comes from the whole page.
    assert.equal(only.metadata?.title, 'Cider, properly');
  });

  test('headers are sent on the page request', async () => {
    const doc = await app.scrape(`${site.baseUrl}/echo-headers`, { headers: { 'X-Tenant': 'acme-42' } });
    assert.match(doc.markdown ?? '', /acme-42/);
    assert.equal(seenHeaders.at(-1)?.['x-tenant'], 'acme-42');
  });

  test('mobile, timeout and the SDK\'s extra fields are accepted (waitFor: see the browser test)', async () => {
    const doc = await app.scrape(`${site.baseUrl}/pricing`, { mobile: true, timeout: 60_000, zeroDataRetention: false } as never);
    assert.equal(doc.metadata?.statusCode, 200);
  });

  test('screenshot: a PNG data URL from the browser, viewport or full page; waitFor renders the page\'s scripts', async (t) => {
    if (!needBrowser(t)) return;
    const doc = await app.scrape(`${site.baseUrl}/pricing`, { formats: ['markdown', 'screenshot'] });
    assert.match(doc.screenshot ?? '', /^data:image\/png;base64,iVBORw0KGgo/);
    assert.match(doc.markdown ?? '', /# Pricing/);
    const full = await app.scrape(`${site.baseUrl}/pricing`, { formats: [{ type: 'screenshot', fullPage: true }] });
    assert.match(full.screenshot ?? '', /^data:image\/png;base64,/);
    const v1 = await app.v1.scrapeUrl(`${site.baseUrl}/pricing`, { formats: ['screenshot@fullPage'] });
    assert.match((v1 as { screenshot?: string }).screenshot ?? '', /^data:image\/png;base64,/);
    const statik = await app.scrape(`${site.baseUrl}/spa`);
    assert.doesNotMatch(statik.markdown ?? '', /Rendered by script/);
    const rendered = await app.scrape(`${site.baseUrl}/spa`, { waitFor: 300 });
    assert.match(rendered.markdown ?? '', /Rendered by script/);
  });

  test('screenshot without a browser: a 400 naming the format', async () => {
    setSharedBrowser(testBrowserService({ BROWSER_EXECUTABLE: '/nonexistent/chromium' }));
    try {
      const shot = await expectSdkError(app.scrape(`${site.baseUrl}/pricing`, { formats: ['screenshot'] }));
      assert.equal(shot.status, 400);
      assert.match(shot.message, /formats: the screenshot format is not available: BROWSER_EXECUTABLE \/nonexistent\/chromium is not an executable file/);
      // waitFor without a browser reads the page as served.
      const doc = await app.scrape(`${site.baseUrl}/pricing`, { waitFor: 100 });
      assert.equal(doc.metadata?.statusCode, 200);
    } finally {
      setSharedBrowser(testBrowserService());
    }
  });

  test('a missing page: its status code in the metadata', async () => {
    const doc = await app.scrape(`${site.baseUrl}/no-such-page`);
    assert.equal(doc.metadata?.statusCode, 404);
    assert.match(String(doc.metadata?.error), /404/);
  });

  test('an unsupported format, a pseudo-class selector and a reserved header are 400s that name them', async () => {
    const json = await expectSdkError(app.scrape(`${site.baseUrl}/pricing`, { formats: [{ type: 'json', prompt: 'the prices' }] }));
    assert.equal(json.status, 400);
    assert.match(json.message, /formats\.0: the format "json" is not supported/);
    const has = await expectSdkError(app.scrape(`${site.baseUrl}/pricing`, { includeTags: ['div:has(p)'] }));
    assert.equal(has.status, 400);
    assert.match(has.message, /includeTags\.0: .*no pseudo-classes/);
    const host = await expectSdkError(app.scrape(`${site.baseUrl}/pricing`, { headers: { Host: 'evil.example' } }));
    assert.match(host.message, /headers\.Host: is set by Gleaner/);
  });

  test('a wrong key is a 401 from the SDK', async () => {
    const wrong = new Firecrawl({ apiKey: 'gl_not_a_key', apiUrl: `${stack.baseUrl}/firecrawl` });
    const err = await expectSdkError(wrong.scrape(`${site.baseUrl}/pricing`));
    assert.equal(err.status, 401);
    assert.match(err.message, /invalid or revoked API key/);
  });

  test('search and LLM extract answer a clear "not supported", not a 404', async () => {
    const search = await expectSdkError(app.search('orchard accounting'));
    assert.equal(search.status, 501);
    assert.match(search.message, /search is not supported by Gleaner/);
    const res = await fetch(`${stack.baseUrl}/firecrawl/v1/extract`, { method: 'POST', headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'application/json' }, body: JSON.stringify({ urls: [`${site.baseUrl}/pricing`], prompt: 'prices' }) });
    assert.equal(res.status, 501);
    const body = (await res.json()) as { success: boolean; error: string };
    assert.equal(body.success, false);
    assert.match(body.error, /LLM extract is not supported by Gleaner/);
  });
});

describe('v1 scrape (the .v1 client)', () => {
  test('scrapeUrl with formats', async () => {
    const doc = await app.v1.scrapeUrl(`${site.baseUrl}/pricing`, { formats: ['markdown', 'links'] });
    assert.ok(doc.success);
    assert.match((doc as { markdown?: string }).markdown ?? '', /# Pricing/);
    assert.ok((doc as { links?: string[] }).links?.includes(`${site.baseUrl}/docs/getting-started`));
    assert.equal((doc as { metadata?: { statusCode?: number } }).metadata?.statusCode, 200);
  });

  test('a wrong key throws with status 401', async () => {
    const wrong = new Firecrawl({ apiKey: 'gl_not_a_key', apiUrl: `${stack.baseUrl}/firecrawl` });
    await assert.rejects(wrong.v1.scrapeUrl(`${site.baseUrl}/pricing`, {}), (err: { statusCode?: number }) => err.statusCode === 401);
  });
});

describe('a blocked address', () => {
  test('with private networks refused, scraping the loopback site is a 400 naming the url', async () => {
    const strict = await startStack({ config: { ALLOW_PRIVATE_NETWORKS: 'false' } });
    const requestsBefore = site.requests.length;
    const client = new Firecrawl({ apiKey: strict.key, apiUrl: `${strict.baseUrl}/firecrawl` });
    const err = await expectSdkError(client.scrape(`${site.baseUrl}/pricing`));
    assert.equal(err.status, 400);
    assert.match(err.message, /url: /);
    const viaDns = await expectSdkError(client.scrape(`http://localhost:${new URL(site.baseUrl).port}/pricing`));
    assert.equal(viaDns.status, 400);
    assert.equal(site.requests.length, requestsBefore, 'nothing was fetched');
  });
});

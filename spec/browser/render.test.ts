// Rendering in Chromium: content and links that exist only after scripts run,
// the page time limit, capped scrolling, and a browser killed mid-page.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { looksLikeAppShell, setSharedBrowser, takeScreenshot } from '../../core/browser/index.js';
import { OutboundError } from '../../core/outbound/index.js';
import { startHttpServer } from '../helpers/http.js';
import { browserForTest, needBrowser } from './helpers.js';
import { SHELL, startSpaSite } from './spaSite.js';

const signal = () => new AbortController().signal;

describe('app shell detection', () => {
  test('an empty root with a script bundle is a shell; an article with scripts, or a page without any, is not', () => {
    const shell = looksLikeAppShell(SHELL);
    assert.equal(shell.render, true);
    assert.ok(shell.signs.includes('empty_root') && shell.signs.includes('noscript_js') && shell.signs.includes('script_bundles'), shell.signs.join());
    const article = `<html><body><article><h1>Tides</h1><p>${'The tide rises and falls twice a day because of the moon. '.repeat(8)}</p></article><script src="/analytics.js"></script></body></html>`;
    assert.equal(looksLikeAppShell(article).render, false);
    assert.equal(looksLikeAppShell('<html><body><div id="root"></div></body></html>').render, false, 'no script: rendering could not change anything');
  });
});

describe('rendering', () => {
  test('content and links written by scripts (a 300 ms timer, a fetch to the app API) are in the rendered DOM', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startSpaSite();
    const browser = browserForTest(t);
    const page = await browser.render(`${site.url}/guide`, { signal: signal() });
    assert.equal(page.status, 200);
    assert.equal(page.title, 'Orbit Guide');
    assert.match(page.html, /pass prediction and antenna hand-over/, 'timer content');
    assert.match(page.html, /Fact one about \/guide: fetched from the API/, 'API content');
    assert.match(page.html, /href="\/guide\/advanced"/, 'client-side link');
    assert.ok(site.paths.includes('/api/facts'), 'the page called its API through the guard');
    assert.ok(page.requests.fulfilled >= 3, `requests fulfilled: ${page.requests.fulfilled}`);
  });

  test('a page that never settles (polling, a request never answered) is read once the network-idle cap passes', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startHttpServer((req, res) => {
      if (req.url === '/poll') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      if (req.url === '/hang') return; // never answered
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><div id="root"></div><script>
        setInterval(() => fetch('/poll'), 100); fetch('/hang');
        document.getElementById('root').innerHTML = '<p>Restless page content that keeps polling forever.</p>';
      </script></body></html>`);
    });
    const browser = browserForTest(t, { BROWSER_NETWORK_IDLE: '700ms' });
    const page = await browser.render(`${site.url}/`, { signal: signal() });
    assert.match(page.html, /Restless page content/);
  });

  test('a page whose script never yields fails with timeout at the page time limit, and the pool renders the next page', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startHttpServer((req, res) => {
      if (req.url === '/busy') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><p>Busy</p><script>setTimeout(() => { for (;;) {} }, 0)</script></body></html>');
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body><p>Calm page after the busy one.</p></body></html>');
    });
    // Long enough for the calm page on a loaded machine; the busy page still never finishes.
    const browser = browserForTest(t, { BROWSER_PAGE_TIMEOUT: '8s', BROWSER_CONCURRENCY: '1' });
    const err = await browser.render(`${site.url}/busy`, { signal: signal() }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof OutboundError, String(err));
    assert.equal(err.code, 'timeout');
    const next = await browser.render(`${site.url}/calm`, { signal: signal() });
    assert.match(next.html, /Calm page after the busy one/);
  });

  test('an endless-scroll page is scrolled BROWSER_MAX_SCROLLS times, then read', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startHttpServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><div id="feed"></div><script>
        let n = 0;
        function more() { for (let i = 0; i < 10; i++) { const p = document.createElement('p'); p.style.height = '200px'; p.textContent = 'Item ' + (++n); document.getElementById('feed').appendChild(p); } }
        more();
        window.addEventListener('scroll', () => { if (window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 10) more(); });
      </script></body></html>`);
    });
    const browser = browserForTest(t, { BROWSER_MAX_SCROLLS: '3' });
    const page = await browser.render(`${site.url}/`, { signal: signal() });
    const items = [...page.html.matchAll(/<p[^>]*>Item \d+<\/p>/g)].length;
    assert.ok(items > 10, `scrolling loaded more (${items})`);
    assert.ok(items <= 10 + 3 * 10, `at most 3 scroll batches (${items})`);
  });

  test('the browser killed mid-page is started again and the page retried', async (t) => {
    if (!needBrowser(t)) return;
    let onApi: (() => void) | undefined;
    const apiCalled = new Promise<void>((resolve) => (onApi = resolve));
    let apiCalls = 0;
    const site = await startSpaSite({
      '/api/facts': (_req, res) => {
        apiCalls++;
        onApi?.();
        // The first call is held until the browser is gone; the retry is answered at once.
        const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(['Fact after the restart']));
        if (apiCalls === 1) setTimeout(answer, 3000);
        else answer();
      },
    });
    const browser = browserForTest(t, { BROWSER_CONCURRENCY: '1' });
    const rendering = browser.render(`${site.url}/`, { signal: signal() });
    await apiCalled;
    const pids = execFileSync('pgrep', ['-P', String(process.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number).filter((pid) => {
      try {
        return execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).includes('chromium');
      } catch {
        return false;
      }
    });
    assert.equal(pids.length, 1, 'one browser process started by this test');
    process.kill(pids[0]!, 'SIGKILL');
    const page = await rendering;
    assert.match(page.html, /Fact after the restart/);
    assert.equal(browser.launches(), 2, 'launched once more');
    assert.equal(apiCalls, 2);
  });

  test('takeScreenshot (the building block of the screenshot routes): a viewport PNG, and a full page cut at its height', async (t) => {
    if (!needBrowser(t)) return;
    const site = await startSpaSite();
    const browser = browserForTest(t);
    setSharedBrowser(browser);
    t.after(() => setSharedBrowser(undefined));
    const shot = await takeScreenshot(`${site.url}/guide`);
    const png = Buffer.from(shot.base64, 'base64');
    assert.equal(png.subarray(1, 4).toString('latin1'), 'PNG');
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [1280, 800], 'viewport size from the PNG header');
    assert.equal(shot.title, 'Orbit Guide');
    assert.equal(shot.finalUrl, `${site.url}/guide`);
    const full = await takeScreenshot(`${site.url}/`, { fullPage: true });
    assert.equal(full.fullPage, true);
    assert.equal(Buffer.from(full.base64, 'base64').readUInt32BE(20), full.height);
  });
});

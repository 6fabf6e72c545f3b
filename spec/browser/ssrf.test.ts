// The SSRF policy inside the browser: every request a rendered page makes is
// carried out by the guarded client, so page scripts reaching a private
// address, or a public-looking name that resolves to loopback, are refused
// and nothing reaches the listener there. The fixture site on 127.0.0.1 is
// the one address allowed; the forbidden listener is on 127.0.0.2.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OutboundError } from '../../core/outbound/index.js';
import { startHttpServer as startCountingServer } from '../outbound/helpers.js';
import { startHttpServer } from '../helpers/http.js';
import { browserForTest, needBrowser, resolverWith } from './helpers.js';

const signal = () => new AbortController().signal;
const policy = (forbiddenName: string) => ({ isAddressAllowed: (ip: string) => ip === '127.0.0.1', lookup: resolverWith({ [forbiddenName]: '127.0.0.2' }) });

describe('SSRF inside the browser', () => {
  test('fetch, XHR, iframe, redirect, worker, beacon, WebSocket and service worker never reach a private listener', async (t) => {
    if (!needBrowser(t)) return;
    const forbidden = await startCountingServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/plain', 'access-control-allow-origin': '*' }).end('secret'), '127.0.0.2');
    t.after(() => forbidden.close());
    const private_ = `http://127.0.0.2:${forbidden.port}`;
    const rebound = `http://rebind.test:${forbidden.port}`;
    const served: string[] = [];
    const site = await startHttpServer((req, res) => {
      served.push(req.url ?? '');
      if (req.url === '/redirect') return void res.writeHead(302, { location: `${private_}/redirected` }).end();
      if (req.url === '/sw.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end('self.addEventListener("fetch", () => {});');
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><h1>Probe</h1><iframe src="${private_}/frame"></iframe><p id="out"></p><script>
        const attempt = (name, p) => p.then(() => name + ':reached', () => name + ':refused');
        const xhr = (url) => new Promise((ok, fail) => { const x = new XMLHttpRequest(); x.open('GET', url); x.onload = () => ok(); x.onerror = () => fail(); x.send(); });
        const ws = (url) => new Promise((ok, fail) => { const s = new WebSocket(url); s.onopen = () => ok(); s.onerror = () => fail(); s.onclose = () => fail(); });
        const worker = () => new Promise((ok, fail) => {
          const w = new Worker(URL.createObjectURL(new Blob(["fetch('${private_}/worker').then(() => postMessage('ok'), () => postMessage('no'))"], { type: 'text/javascript' })));
          w.onmessage = (e) => (e.data === 'ok' ? ok() : fail());
        });
        navigator.sendBeacon('${private_}/beacon', 'x');
        Promise.all([
          attempt('fetch', fetch('${private_}/fetch', { mode: 'no-cors' })),
          attempt('post', fetch('${private_}/post', { method: 'POST', body: 'x', mode: 'no-cors' })),
          attempt('xhr-rebind', xhr('${rebound}/xhr')),
          attempt('redirect', fetch('/redirect', { mode: 'no-cors' })),
          attempt('worker', worker()),
          attempt('websocket', ws('ws://127.0.0.2:${forbidden.port}/ws')),
          attempt('serviceworker', navigator.serviceWorker ? navigator.serviceWorker.register('/sw.js') : Promise.reject()),
        ]).then((r) => { document.getElementById('out').textContent = r.join(' '); });
      </script></body></html>`);
    });
    const browser = browserForTest(t, { BROWSER_NETWORK_IDLE: '1s' }, policy('rebind.test'));
    const page = await browser.render(`${site.url}/`, { signal: signal(), waitForMs: 2000 });
    const out = /<p id="out">([^<]*)<\/p>/.exec(page.html)?.[1] ?? '';
    for (const name of ['fetch', 'post', 'xhr-rebind', 'redirect', 'worker', 'websocket', 'serviceworker']) {
      assert.ok(out.includes(`${name}:refused`), `${name} refused (page says: ${out})`);
    }
    assert.equal(forbidden.connections, 0, 'nothing reached the private listener');
    assert.ok(page.requests.blocked >= 4, `blocked: ${JSON.stringify(page.requests)}`);
    assert.ok(!served.includes('/sw.js'), 'no service worker script was even fetched');
  });

  test('a page at a private address, or at a name resolving to loopback, fails as blocked_address like the fetcher', async (t) => {
    if (!needBrowser(t)) return;
    const forbidden = await startCountingServer((_req, res) => void res.writeHead(200, { 'content-type': 'text/html' }).end('<p>secret</p>'), '127.0.0.2');
    t.after(() => forbidden.close());
    const browser = browserForTest(t, {}, policy('inside.test'));
    for (const url of [`http://127.0.0.2:${forbidden.port}/`, `http://inside.test:${forbidden.port}/`]) {
      const err = await browser.render(url, { signal: signal() }).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof OutboundError, `${url}: ${String(err)}`);
      assert.equal(err.code, 'blocked_address', url);
    }
    assert.equal(forbidden.connections, 0);
  });
});

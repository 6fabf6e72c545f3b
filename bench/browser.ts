// Browser rendering figures (README "Rendering"): rendered pages/s and p50/p99
// page time at BROWSER_CONCURRENCY on a local single-page app (content after a
// 300 ms timer and a fetch to its own API), the RSS of this process plus its
// browser while the pool is busy, and what render=auto costs a static page.
//   npx tsx bench/browser.ts [pages=40]
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createBrowserService } from '../core/browser/index.js';
import { looksLikeAppShell } from '../core/browser/appShell.js';
import { fetchPageSource } from '../core/browser/pageSource.js';
import { loadConfig } from '../core/platform/config.js';
import { createLogger } from '../core/platform/logger.js';
import { createOutboundClient, outboundOptions } from '../core/outbound/index.js';
import { fetchHtmlPage } from '../core/page/scrape.js';

const PAGES = Number(process.argv[2] ?? 40);
const SHELL = '<!doctype html><html><head><title>Loading</title><script type="module" src="/app.js"></script></head><body><div id="root"></div></body></html>';
const APP = `setTimeout(() => { document.getElementById('root').insertAdjacentHTML('beforeend', '<h1>Rendered ' + location.pathname + '</h1><p>' + 'Content that exists only after scripts ran. '.repeat(20) + '</p>'); }, 300);
fetch('/api').then((r) => r.json()).then((d) => document.getElementById('root').insertAdjacentHTML('beforeend', '<ul>' + d.map((x) => '<li>' + x + '</li>').join('') + '</ul>'));`;
const ARTICLE = `<!doctype html><html><head><title>Static</title><script src="/analytics.js"></script></head><body><article><h1>Static article</h1>${'<p>Plain server-rendered text about tides and harbours, long enough to be an article. </p>'.repeat(30)}</article></body></html>`;

const server = http.createServer((req, res) => {
  if (req.url === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(APP);
  if (req.url === '/api') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(['one', 'two', 'three']));
  if (req.url === '/analytics.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end('');
  if (req.url?.startsWith('/static')) return void res.writeHead(200, { 'content-type': 'text/html' }).end(ARTICLE);
  res.writeHead(200, { 'content-type': 'text/html' }).end(SHELL);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const config = loadConfig({ ...process.env, ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'error' });
const logger = createLogger('error', { service: 'bench-browser' });
const client = createOutboundClient(outboundOptions(config));
const browser = createBrowserService({ browser: config.browser, outbound: outboundOptions(config), logger });
if (!browser.available) throw new Error('no browser: apt-get install -y chromium, or set BROWSER_EXECUTABLE / BROWSER_WS_URL');
const signal = new AbortController().signal;

/** RSS of a process and all its descendants (the browser's processes), in MB; from /proc alone (spawning pgrep would stall the event loop being measured). */
function treeRssMb(pid: number): number {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      parent.set(Number(entry), Number(/PPid:\s+(\d+)/.exec(status)?.[1] ?? 0));
      rss.set(Number(entry), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {}
  }
  const inTree = (p: number): boolean => p === pid || (p > 1 && parent.has(p) && inTree(parent.get(p)!));
  let kb = 0;
  for (const [p, v] of rss) if (inTree(p)) kb += v;
  return kb / 1024;
}

// auto on static pages: no browser may start.
const STATIC_N = 200;
let t0 = performance.now();
for (let i = 0; i < STATIC_N; i++) await fetchHtmlPage(client, `${base}/static/${i}`, { signal, logger });
const plainMs = (performance.now() - t0) / STATIC_N;
t0 = performance.now();
for (let i = 0; i < STATIC_N; i++) await fetchPageSource(client, `${base}/static/${i}`, { signal, logger, rendering: { mode: 'auto', browser } });
const autoMs = (performance.now() - t0) / STATIC_N;
t0 = performance.now();
for (let i = 0; i < 1000; i++) looksLikeAppShell(ARTICLE);
const verdictUs = ((performance.now() - t0) / 1000) * 1000;
const launchesAfterStatic = browser.launches();

// Rendered pages at BROWSER_CONCURRENCY.
const rssBefore = treeRssMb(process.pid);
await browser.render(`${base}/warmup`, { signal });
const times: number[] = [];
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, treeRssMb(process.pid))), 1000);
let next = 0;
t0 = performance.now();
await Promise.all(
  Array.from({ length: config.browser.concurrency }, async () => {
    while (next < PAGES) {
      const i = next++;
      const s = performance.now();
      const page = await browser.render(`${base}/page/${i}`, { signal });
      if (!page.html.includes('only after scripts ran') || !page.html.includes('<li>three</li>')) throw new Error(`page ${i} not rendered`);
      times.push(performance.now() - s);
    }
  }),
);
const wallS = (performance.now() - t0) / 1000;
clearInterval(sampler);
times.sort((a, b) => a - b);
const pct = (p: number) => Math.round(times[Math.min(times.length - 1, Math.floor((p / 100) * times.length))]!);

console.log(
  JSON.stringify(
    {
      browser: browser.source.kind === 'local' ? browser.source.executable : browser.source.kind,
      concurrency: config.browser.concurrency,
      renderedPages: PAGES,
      pagesPerSecond: Number((PAGES / wallS).toFixed(2)),
      p50Ms: pct(50),
      p99Ms: pct(99),
      rssIdleMb: Math.round(rssBefore),
      rssBusyPeakMb: Math.round(peakRss),
      staticFetchMs: Number(plainMs.toFixed(2)),
      staticFetchAutoMs: Number(autoMs.toFixed(2)),
      appShellCheckUs: Number(verdictUs.toFixed(1)),
      browserLaunchesDuringStaticAuto: launchesAfterStatic,
    },
    null,
    2,
  ),
);
await browser.close();
await client.close();
server.close();

// A local single-page app: every page is the same empty shell, and the
// content and links appear only after scripts run (one part after a 300 ms
// timer, one after a fetch to the app's own API). Client-side routes
// (/guide, /guide/advanced) are reached only through links the script writes.
import type http from 'node:http';
import { startHttpServer, type TestServer } from '../helpers/http.js';

export const SHELL = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Loading…</title><script type="module" src="/assets/app.js"></script></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div></body></html>`;

const PAGES: Record<string, { title: string; body: string; links: string[] }> = {
  '/': { title: 'Orbit Docs', body: 'Orbit is a scheduling engine for satellite ground stations. It plans contact windows and hands passes to antennas.', links: ['/guide'] },
  '/guide': { title: 'Orbit Guide', body: 'The guide walks through contact windows, pass prediction and antenna hand-over in the Orbit scheduler.', links: ['/guide/advanced'] },
  '/guide/advanced': { title: 'Advanced Orbit', body: 'Advanced topics: Doppler correction, elevation masks and conflict resolution between overlapping passes.', links: ['/'] },
};

const APP_JS = `
const routes = ${JSON.stringify(PAGES)};
const page = routes[location.pathname] || { title: 'Not found', body: 'No such page.', links: [] };
const root = document.getElementById('root');
setTimeout(() => {
  document.title = page.title;
  const h1 = document.createElement('h1'); h1.textContent = page.title; root.appendChild(h1);
  const p = document.createElement('p'); p.className = 'timer'; p.textContent = page.body + ' (rendered after a timer)'; root.appendChild(p);
  const nav = document.createElement('nav');
  for (const href of page.links) { const a = document.createElement('a'); a.href = href; a.textContent = 'Go to ' + href; nav.appendChild(a); }
  root.appendChild(nav);
}, 300);
fetch('/api/facts?path=' + encodeURIComponent(location.pathname)).then((r) => r.json()).then((facts) => {
  const ul = document.createElement('ul'); ul.className = 'facts';
  for (const f of facts) { const li = document.createElement('li'); li.textContent = f; ul.appendChild(li); }
  root.appendChild(ul);
});
`;

export interface SpaSite extends TestServer {
  /** Paths requested, in order. */
  paths: string[];
}

/** Serve the SPA; `extra` adds or replaces routes (exact pathnames). */
export async function startSpaSite(extra: Record<string, http.RequestListener> = {}): Promise<SpaSite> {
  const paths: string[] = [];
  const server = await startHttpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://spa');
    paths.push(url.pathname);
    const custom = extra[url.pathname];
    if (custom) return custom(req, res);
    if (url.pathname === '/assets/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(APP_JS);
    if (url.pathname === '/api/facts') {
      const path = url.searchParams.get('path') ?? '/';
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify([`Fact one about ${path}: fetched from the API`, 'Ground stations track low-earth orbit passes lasting ten minutes']));
    }
    if (url.pathname in PAGES) return void res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(SHELL);
    res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
  });
  return Object.assign(server, { paths });
}

// A generated website on 127.0.0.1 for crawl tests and the crawl benchmark:
// `pages` article pages (/p/0 … /p/N-1), each with its own text and links to
// a few others (so discovery finds the same links from many pages at once),
// a home page linking to the first ones, robots.txt and sitemap answered 404.
// It counts every request per path and the most connections it served at once.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GeneratedSite {
  baseUrl: string;
  /** Requests per path (query included). */
  hits: Map<string, number>;
  /** Most requests in progress at once. */
  maxInFlight(): number;
  /** Requests in progress now. */
  inFlight(): number;
  /** Requests in all. */
  requests(): number;
  close(): Promise<void>;
}

const WORDS = ['crawler', 'queue', 'worker', 'page', 'index', 'search', 'knowledge', 'database', 'politeness', 'latency', 'vector', 'chunk', 'passage', 'sitemap', 'robots'];

function pageHtml(n: number, pages: number, tiny: boolean): string {
  const links = [1, 2, 3, 7, 11].map((d) => (n * 3 + d) % pages).map((m) => `<li><a href="/p/${m}">Page ${m}</a></li>`);
  // A tiny page: a title, one short sentence and its links (the crawl's own cost per page, not the model's per word).
  if (tiny) return `<!doctype html><html lang="en"><head><title>Page ${n}</title></head><body><ul>${links.join('')}</ul><main><p>Tiny page ${n} says ${WORDS[n % WORDS.length]}.</p></main></body></html>`;
  const text = Array.from({ length: 6 }, (_, i) => `${WORDS[(n + i) % WORDS.length]} number ${n} explains topic ${i} of page ${n} in a sentence of its own.`).join(' ');
  return `<!doctype html><html lang="en"><head><title>Page ${n}</title><meta name="description" content="Page ${n} of the generated site."></head>
<body><nav><ul>${links.join('')}</ul></nav><main><article><h1>Page ${n}</h1><p>${text}</p><h2>More about ${n}</h2><p>Page ${n} has its own words: ${WORDS[n % WORDS.length]} ${n * 7} ${n * 13}.</p></article></main></body></html>`;
}

export async function startGeneratedSite(opts: { pages: number; latencyMs?: number; tiny?: boolean }): Promise<GeneratedSite> {
  const hits = new Map<string, number>();
  let inFlight = 0;
  let max = 0;
  let total = 0;
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    total++;
    inFlight++;
    max = Math.max(max, inFlight);
    let done = false;
    const end = () => {
      if (!done) inFlight--;
      done = true;
    };
    res.on('close', end);
    setTimeout(() => {
      const m = /^\/p\/(\d+)$/.exec(path);
      if (path === '/') {
        const links = Array.from({ length: Math.min(opts.pages, 10) }, (_, i) => `<li><a href="/p/${i}">Page ${i}</a></li>`).join('');
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><html><head><title>Home</title></head><body><main><h1>Generated site</h1><p>The home page of a generated site with ${opts.pages} pages of text.</p><ul>${links}</ul></main></body></html>`);
      } else if (m && Number(m[1]) < opts.pages) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(pageHtml(Number(m[1]), opts.pages, opts.tiny === true));
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      }
      end();
    }, opts.latencyMs ?? 0);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    hits,
    maxInFlight: () => max,
    inFlight: () => inFlight,
    requests: () => total,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

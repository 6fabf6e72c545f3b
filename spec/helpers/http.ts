// Real HTTP servers on 127.0.0.1 for fixture sites and receivers.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { onCleanup } from './cleanup.js';

export interface TestServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

export async function startHttpServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  onCleanup(close);
  return { url: `http://127.0.0.1:${port}`, port, server, close };
}

/** A small site: path → [status, content-type, body] or a custom handler. */
export function fixtureSite(routes: Record<string, string | http.RequestListener>): http.RequestListener {
  return (req, res) => {
    const route = routes[new URL(req.url ?? '/', 'http://x').pathname];
    if (typeof route === 'function') return route(req, res);
    if (route === undefined) {
      res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>Not found</h1>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(route);
  };
}

export const articlePage = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><title>${title}</title><meta name="description" content="About ${title}"></head>
  <body><nav><a href="/">Home</a> <a href="/about">About</a></nav>
  <article><h1>${title}</h1><p>${body}</p><p>More text about ${title} so that the page reads like a real article with several sentences in it.</p></article>
  <footer>Copyright notice</footer></body></html>`;

// The fixture website (spec/fixtures/site/) served on 127.0.0.1: pages by
// clean URL (/pricing → pricing.html, /blog/ → blog/index.html; with or
// without the trailing slash), the /old-pricing → /pricing redirect, an
// extension-less image, right content types, {{ORIGIN}} filled in robots.txt
// and the sitemaps, and a log of every request for assertions on what was
// (not) fetched and when.
import fs from 'node:fs/promises';
import type http from 'node:http';
import path from 'node:path';
import { startHttpServer } from './http.js';

export const FIXTURE_SITE_DIR = path.resolve(import.meta.dirname, '../fixtures/site');

export interface FixtureRequest {
  /** Path and query as requested. */
  path: string;
  userAgent: string | undefined;
  /** performance.now() when the request arrived and when its response ended (or the connection closed). */
  start: number;
  end: number | undefined;
}

export interface FixtureSiteOptions {
  /** Delay before each response (ms), to make concurrency observable. */
  latencyMs?: number | ((path: string) => number);
  /** Handlers that replace the files for exact paths (query ignored). */
  routes?: Record<string, http.RequestListener>;
}

export interface FixtureSite {
  baseUrl: string;
  requests: FixtureRequest[];
  /** Paths requested (query included), in arrival order. */
  paths(): string[];
  /** Most requests in progress at once. */
  maxInFlight(): number;
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml; charset=utf-8',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
};

const REDIRECTS: Record<string, string> = { '/old-pricing': '/pricing' };
/** Extension-less URLs of non-HTML files: a crawler only finds out by fetching them. */
const ALIASES: Record<string, string> = { '/media/team-photo': 'media/team-photo.png' };

/** The file a clean URL path maps to, or null (never outside the fixture folder). */
async function resolveFile(urlPath: string): Promise<string | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  const alias = ALIASES[decoded];
  const base = decoded.replace(/\/+$/, '');
  const candidates = alias ? [alias] : decoded === '/' ? ['index.html'] : [`${base}.html`, `${base}/index.html`, base];
  for (const rel of candidates) {
    const file = path.resolve(FIXTURE_SITE_DIR, `.${path.posix.normalize(`/${rel}`)}`);
    if (!file.startsWith(FIXTURE_SITE_DIR + path.sep)) return null;
    const stat = await fs.stat(file).catch(() => null);
    if (stat?.isFile()) return file;
  }
  return null;
}

export async function startFixtureSite(opts: FixtureSiteOptions = {}): Promise<FixtureSite> {
  const requests: FixtureRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let origin = '';

  const serve: http.RequestListener = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const route = opts.routes?.[url.pathname];
    if (route) return route(req, res);
    const redirect = REDIRECTS[url.pathname];
    if (redirect) {
      res.writeHead(301, { location: redirect, 'content-type': 'text/html' }).end(`<a href="${redirect}">Moved</a>`);
      return;
    }
    const file = await resolveFile(url.pathname);
    if (file === null) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<!doctype html><title>Not found</title><h1>Page not found</h1>');
      return;
    }
    const ext = path.extname(file);
    let body: Buffer | string = await fs.readFile(file);
    if (ext === '.txt' || ext === '.xml') body = body.toString('utf8').replaceAll('{{ORIGIN}}', origin);
    res.writeHead(200, { 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream' }).end(body);
  };

  const server = await startHttpServer((req, res) => {
    const entry: FixtureRequest = { path: req.url ?? '/', userAgent: req.headers['user-agent'], start: performance.now(), end: undefined };
    requests.push(entry);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on('close', () => {
      entry.end = performance.now();
      inFlight--;
    });
    const latency = typeof opts.latencyMs === 'function' ? opts.latencyMs(entry.path) : (opts.latencyMs ?? 0);
    const go = () => void Promise.resolve(serve(req, res)).catch(() => res.destroy());
    if (latency > 0) setTimeout(go, latency);
    else go();
  });
  origin = server.url;

  return {
    baseUrl: server.url,
    requests,
    paths: () => requests.map((r) => r.path),
    maxInFlight: () => maxInFlight,
    close: server.close,
  };
}

// The fixture website (spec/fixtures/site/) served on 127.0.0.1: pages by
// clean URL (/pricing → pricing.html, /blog/ → blog/index.html; with or
// without the trailing slash), the /old-pricing → /pricing redirect, an
// extension-less image, right content types, {{ORIGIN}} filled in robots.txt
// and the sitemaps, and a log of every request for assertions on what was
// (not) fetched and when.
import type http from 'node:http';
import { FIXTURE_SITE_DIR, FIXTURE_SITE_EXTRAS, staticSiteHandler } from '../../testing/staticSite.js';
import { startHttpServer } from './http.js';

export { FIXTURE_SITE_DIR };

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

export async function startFixtureSite(opts: FixtureSiteOptions = {}): Promise<FixtureSite> {
  const requests: FixtureRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let origin = '';

  const files = staticSiteHandler(FIXTURE_SITE_DIR, { ...FIXTURE_SITE_EXTRAS, origin: () => origin });
  const serve: http.RequestListener = async (req, res) => {
    const route = opts.routes?.[new URL(req.url ?? '/', 'http://fixture').pathname];
    if (route) return route(req, res);
    return files(req, res);
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

// Every request a rendered page makes is intercepted (route '**') and carried
// out here, through undici on the guarded connector: the same address policy
// as the fetcher, checked on the address actually connected to, with the same
// size and time limits. A redirect is handed back to the browser as a 3xx, so
// its next hop is intercepted and checked again. The browser itself never
// opens a connection for page traffic.
import { Agent, request } from 'undici';
import type { Route } from 'playwright-core';
import { isBlockedAddress, webUrlProblem } from '../outbound/ssrf.js';
import { readLimitedBody } from '../outbound/body.js';
import { createGuardedConnector } from '../outbound/connector.js';
import { Deadline } from '../outbound/deadline.js';
import { OutboundError } from '../outbound/errors.js';
import type { OutboundOptions } from '../outbound/client.js';

/** Resource types not worth the bytes for text extraction. */
const HEAVY_TYPES = new Set(['image', 'media', 'font']);
// Request headers the browser sets that undici must set itself (or must not see).
const DROPPED_REQUEST_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'accept-encoding', 'proxy-authorization', 'proxy-connection']);
// The body is handed over decoded and whole.
const DROPPED_RESPONSE_HEADERS = new Set(['content-encoding', 'content-length', 'transfer-encoding', 'connection', 'keep-alive']);
const NO_BODY_STATUSES = new Set([101, 204, 205, 304]);

export interface GuardStats {
  /** Requests fulfilled through the guarded client. */
  fulfilled: number;
  /** Requests refused by the address policy (or as non-web URLs). */
  blocked: number;
  /** Heavy resources (images, media, fonts) not loaded. */
  skipped: number;
  /** Requests that failed otherwise (timeout, too large, connect). */
  failed: number;
}

/** What one page's traffic went through: the counters and the main document's own failure, if any. */
export interface PageGuard {
  stats: GuardStats;
  /** Set when the top-level document request itself failed (e.g. blocked_address): the render reports it as the fetcher would. */
  documentError: OutboundError | undefined;
  handle(route: Route): Promise<void>;
}

export type RequestGuardOptions = OutboundOptions;

export interface RequestGuard {
  /** `blockResources`: images, media and fonts are not loaded (text extraction does not need them; screenshots do). */
  forPage(signal: AbortSignal, page: { blockResources: boolean }): PageGuard;
  close(): Promise<void>;
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    if (v === undefined || DROPPED_RESPONSE_HEADERS.has(name)) continue;
    // Playwright takes repeated Set-Cookie values joined by newlines.
    out[name] = Array.isArray(v) ? v.join(name === 'set-cookie' ? '\n' : ', ') : v;
  }
  return out;
}

function abortReason(code: OutboundError['code']): 'blockedbyclient' | 'timedout' | 'namenotresolved' | 'failed' {
  if (code === 'blocked_address' || code === 'invalid_url' || code === 'unsupported_protocol') return 'blockedbyclient';
  if (code === 'timeout') return 'timedout';
  if (code === 'dns_failed') return 'namenotresolved';
  return 'failed';
}

export function createRequestGuard(opts: RequestGuardOptions): RequestGuard {
  const isAllowed = opts.isAddressAllowed ?? (opts.allowPrivateNetworks ? () => true : (ip: string) => !isBlockedAddress(ip));
  const agent = new Agent({
    connect: createGuardedConnector({ connectTimeoutMs: opts.connectTimeoutMs, isAllowed, ...(opts.lookup ? { resolve: opts.lookup } : {}) }),
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
  });
  const limits = { connectTimeoutMs: opts.connectTimeoutMs, headersTimeoutMs: opts.headersTimeoutMs, bodyTimeoutMs: opts.bodyTimeoutMs };

  function forPage(signal: AbortSignal, pageOpts: { blockResources: boolean }): PageGuard {
    const guard: PageGuard = {
      stats: { fulfilled: 0, blocked: 0, skipped: 0, failed: 0 },
      documentError: undefined,
      handle,
    };

    async function handle(route: Route): Promise<void> {
      const req = route.request();
      if (pageOpts.blockResources && HEAVY_TYPES.has(req.resourceType())) {
        guard.stats.skipped++;
        await route.abort('blockedbyclient').catch(() => {});
        return;
      }
      const isDocument = req.isNavigationRequest() && req.frame().parentFrame() === null;
      let hops = 0;
      for (let r = req.redirectedFrom(); r; r = r.redirectedFrom()) hops++;
      const deadline = new Deadline(opts.totalTimeoutMs, signal);
      let target = req.url();
      try {
        const url = new URL(target);
        const problem = webUrlProblem(url);
        if (problem) throw new OutboundError(problem.code === 'credentials_in_url' ? 'invalid_url' : problem.code, url.href, problem.message);
        url.hash = '';
        target = url.href;
        if (hops > opts.maxRedirects) throw new OutboundError('too_many_redirects', target, `more than ${opts.maxRedirects} redirects`);
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(await req.allHeaders())) {
          if (!DROPPED_REQUEST_HEADERS.has(k.toLowerCase()) && !k.startsWith(':')) headers[k.toLowerCase()] = v;
        }
        headers['accept-encoding'] = 'gzip, deflate, br';
        const method = req.method();
        const postBody = req.postDataBuffer();
        const res = await request(url, { method: method as 'GET', headers, body: postBody ?? null, signal: deadline.signal, dispatcher: agent });
        const resHeaders = flatten(res.headers);
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
          res.body.destroy();
          throw new OutboundError('too_large', target, `response body exceeded ${opts.maxBodyBytes} bytes (Content-Length: ${declared})`);
        }
        const encoding = res.headers['content-encoding'];
        const body =
          method === 'HEAD' || NO_BODY_STATUSES.has(res.statusCode)
            ? Buffer.alloc(0)
            : await readLimitedBody(res.body, { url: target, maxBytes: opts.maxBodyBytes, contentEncoding: Array.isArray(encoding) ? encoding.join(', ') : encoding });
        await route.fulfill({ status: res.statusCode, headers: resHeaders, body });
        guard.stats.fulfilled++;
      } catch (err) {
        const e = err instanceof OutboundError ? err : deadline.classify(err, target, limits);
        if (e.code === 'blocked_address' || e.code === 'invalid_url' || e.code === 'unsupported_protocol') guard.stats.blocked++;
        else guard.stats.failed++;
        if (isDocument && guard.documentError === undefined) guard.documentError = e;
        await route.abort(abortReason(e.code)).catch(() => {});
      } finally {
        deadline.dispose();
      }
    }
    return guard;
  }

  // destroy, not close: close waits for requests of pages that never finish.
  return { forPage, close: () => agent.destroy() };
}

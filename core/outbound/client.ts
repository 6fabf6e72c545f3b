// The one outbound HTTP client (page fetcher, webhook sender). Redirects are
// followed here, by hand, so every hop goes back through the guarded
// connector; undici never follows anything on its own.
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { isBlockedAddress, webUrlProblem } from './ssrf.js';
import { destroyQuietly, readCappedText, readLimitedBody } from './body.js';
import { createGuardedConnector } from './connector.js';
import type { ResolveFn } from './connector.js';
import { Deadline } from './deadline.js';
import { OutboundError } from './errors.js';
import type { TimeoutLimits } from './errors.js';

export interface OutboundOptions {
  allowPrivateNetworks: boolean;
  userAgent: string;
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  /** Max idle time between body chunks. */
  bodyTimeoutMs: number;
  /** Hard cap for a whole fetch() incl. redirects and body. */
  totalTimeoutMs: number;
  maxBodyBytes: number;
  maxRedirects: number;
  /** Test hook: replaces the system resolver (must return all addresses). */
  lookup?: ResolveFn;
  /** Test hook: replaces the address policy (allowPrivateNetworks is then ignored). */
  isAddressAllowed?: (ip: string) => boolean;
}

export interface FetchedResponse {
  /** Final URL after redirects (fragment dropped). */
  url: string;
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Lower-case MIME essence ("text/html"), without parameters; charset is in headers['content-type']. */
  contentType: string | null;
  /** Decoded (decompressed) body. */
  body: Uint8Array;
  /** URLs that answered with a redirect, in order (empty if none). */
  redirects: string[];
  durationMs: number;
}

export interface FetchInit {
  signal?: AbortSignal;
  /** Accepted MIME types ("text/html", "text/*"); a missing Content-Type always passes. */
  accept?: string[];
  headers?: Record<string, string>;
}

export interface PostInit {
  headers: Record<string, string>;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
}

export interface PostResult {
  status: number;
  headers: Record<string, string>;
  body: string;
  durationMs: number;
}

export interface OutboundClient {
  fetch(url: string, init?: FetchInit): Promise<FetchedResponse>;
  post(url: string, body: string, init: PostInit): Promise<PostResult>;
  close(): Promise<void>;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
// Dropped when a redirect leaves the origin, like browsers do.
const CROSS_ORIGIN_STRIPPED = ['authorization', 'cookie', 'proxy-authorization'];
const REDIRECT_BODY_DUMP_LIMIT = 64 * 1024;

/** Parse and vet one request target (initial URL or redirect Location). */
function parseTarget(raw: string, base?: URL): URL {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    throw new OutboundError('invalid_url', raw, base === undefined ? 'not a valid absolute URL' : `invalid redirect location ${JSON.stringify(raw)}`);
  }
  const problem = webUrlProblem(url);
  // OutboundError has no credentials code of its own: such a URL is invalid for a request.
  if (problem) throw new OutboundError(problem.code === 'credentials_in_url' ? 'invalid_url' : problem.code, url.href, problem.message);
  url.hash = ''; // never sent; also keeps loop detection exact
  return url;
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v;
  return out;
}

function flattenHeaders(headers: Dispatcher.ResponseData['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

function mimeEssence(contentType: string | undefined): string | null {
  if (contentType === undefined) return null;
  const essence = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return essence === '' ? null : essence;
}

function isAccepted(type: string, accept: string[]): boolean {
  return accept.some((a) => {
    const want = a.trim().toLowerCase();
    if (want === '*/*' || want === type) return true;
    return want.endsWith('/*') && type.startsWith(want.slice(0, -1));
  });
}

/** Free the connection for reuse when cheap, otherwise just close it. */
async function discard(body: Dispatcher.ResponseData['body']): Promise<void> {
  try {
    await body.dump({ limit: REDIRECT_BODY_DUMP_LIMIT });
  } catch {
    // Irrelevant: the response is being thrown away.
  }
}

export function createOutboundClient(opts: OutboundOptions): OutboundClient {
  const isAllowed =
    opts.isAddressAllowed ?? (opts.allowPrivateNetworks ? () => true : (ip: string) => !isBlockedAddress(ip));
  const agent = new Agent({
    connect: createGuardedConnector({
      connectTimeoutMs: opts.connectTimeoutMs,
      isAllowed,
      ...(opts.lookup ? { resolve: opts.lookup } : {}),
    }),
    headersTimeout: opts.headersTimeoutMs,
    bodyTimeout: opts.bodyTimeoutMs,
  });
  const limits: TimeoutLimits = {
    connectTimeoutMs: opts.connectTimeoutMs,
    headersTimeoutMs: opts.headersTimeoutMs,
    bodyTimeoutMs: opts.bodyTimeoutMs,
  };

  async function fetch(rawUrl: string, init: FetchInit = {}): Promise<FetchedResponse> {
    const started = performance.now();
    let current = parseTarget(rawUrl);
    const deadline = new Deadline(opts.totalTimeoutMs, init.signal);
    const accept = init.accept;
    let headers: Record<string, string> = {
      'user-agent': opts.userAgent,
      accept: accept && accept.length > 0 ? accept.join(', ') : '*/*',
      ...lowerCaseKeys(init.headers),
      // Forced: we decode these ourselves and nothing else.
      'accept-encoding': 'gzip, deflate, br',
    };
    const redirects: string[] = [];
    const seen = new Set([current.href]);
    try {
      for (;;) {
        const res = await request(current, { method: 'GET', headers, signal: deadline.signal, dispatcher: agent });
        const resHeaders = flattenHeaders(res.headers);
        const location = resHeaders['location'];

        if (REDIRECT_STATUSES.has(res.statusCode) && location !== undefined) {
          await discard(res.body);
          const next = parseTarget(location, current);
          redirects.push(current.href);
          if (seen.has(next.href)) {
            throw new OutboundError('redirect_loop', next.href, `redirect loop: ${next.href} was already visited`);
          }
          if (redirects.length > opts.maxRedirects) {
            throw new OutboundError('too_many_redirects', next.href, `more than ${opts.maxRedirects} redirects`);
          }
          seen.add(next.href);
          if (next.origin !== current.origin) {
            headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !CROSS_ORIGIN_STRIPPED.includes(k)));
          }
          current = next; // always GET: fetch() never sends a body, so 301/302/303/307/308 are alike
          continue;
        }

        if (res.statusCode < 200 || res.statusCode > 299) {
          await discard(res.body);
          throw new OutboundError('http_status', current.href, `server responded with HTTP ${res.statusCode}`, {
            status: res.statusCode,
            retryAfter: resHeaders['retry-after'],
          });
        }

        const contentType = mimeEssence(resHeaders['content-type']);
        if (accept && accept.length > 0 && contentType !== null && !isAccepted(contentType, accept)) {
          destroyQuietly(res.body);
          throw new OutboundError('unsupported_content_type', current.href, `unsupported content type ${contentType}`);
        }

        const declared = Number(resHeaders['content-length']);
        if (Number.isFinite(declared) && declared > opts.maxBodyBytes) {
          destroyQuietly(res.body);
          throw new OutboundError(
            'too_large',
            current.href,
            `response body exceeded ${opts.maxBodyBytes} bytes (Content-Length: ${declared})`,
          );
        }

        const body = await readLimitedBody(res.body, {
          url: current.href,
          maxBytes: opts.maxBodyBytes,
          contentEncoding: resHeaders['content-encoding'],
        });
        return {
          url: current.href,
          status: res.statusCode,
          headers: resHeaders,
          contentType,
          body,
          redirects,
          durationMs: performance.now() - started,
        };
      }
    } catch (err) {
      throw deadline.classify(err, current.href, limits);
    } finally {
      deadline.dispose();
    }
  }

  async function post(rawUrl: string, body: string, init: PostInit): Promise<PostResult> {
    const started = performance.now();
    const target = parseTarget(rawUrl);
    const deadline = new Deadline(init.timeoutMs, init.signal);
    const headers: Record<string, string> = {
      'user-agent': opts.userAgent,
      ...lowerCaseKeys(init.headers),
      // The response is only kept as text for diagnostics; don't invite compression.
      'accept-encoding': 'identity',
    };
    try {
      // No redirect handling: a 3xx is returned to the caller as-is.
      const res = await request(target, { method: 'POST', body, headers, signal: deadline.signal, dispatcher: agent });
      const text = await readCappedText(res.body, init.maxResponseBytes);
      return {
        status: res.statusCode,
        headers: flattenHeaders(res.headers),
        body: text,
        durationMs: performance.now() - started,
      };
    } catch (err) {
      throw deadline.classify(err, target.href, limits);
    } finally {
      deadline.dispose();
    }
  }

  return {
    fetch,
    post,
    close: () => agent.close(),
  };
}

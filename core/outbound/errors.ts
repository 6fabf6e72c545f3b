// Error type for every outbound HTTP failure, plus mapping of undici/node/zlib
// errors onto our small code set so callers never see library internals.

export type OutboundErrorCode =
  | 'invalid_url'
  | 'unsupported_protocol'
  | 'blocked_address'
  | 'dns_failed'
  | 'connect_failed' // also: connection reset / protocol errors after connecting
  | 'timeout'
  | 'too_large'
  | 'too_many_redirects'
  | 'redirect_loop'
  | 'http_status'
  | 'unsupported_content_type'
  | 'decompression_failed'
  | 'too_many_encodings'
  | 'aborted';

/**
 * What a client reads about a refused destination. It must not name the
 * address the host resolved to: that would let any key map internal DNS.
 */
export const BLOCKED_ADDRESS_MESSAGE = 'the destination is a private, loopback or reserved address, which this service does not connect to';

export class OutboundError extends Error {
  readonly code: OutboundErrorCode;
  readonly url: string;
  readonly status?: number;
  /** An http_status answer's Retry-After header, as sent (the caller decides what a pause it honours). */
  readonly retryAfter?: string;
  /**
   * For the log only, never for clients: e.g. the internal address a refused
   * host resolved to. Not enumerable, so serialising the error leaves it out.
   */
  declare readonly detail?: string;

  constructor(code: OutboundErrorCode, url: string, message: string, extra?: { status?: number; retryAfter?: string | undefined; cause?: unknown; detail?: string }) {
    super(message, extra?.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'OutboundError';
    this.code = code;
    this.url = url;
    if (extra?.status !== undefined) this.status = extra.status;
    if (extra?.retryAfter !== undefined) this.retryAfter = extra.retryAfter;
    if (extra?.detail !== undefined) Object.defineProperty(this, 'detail', { value: extra.detail, enumerable: false });
  }
}

/**
 * Raised from inside the connector when a destination address is refused;
 * its message (naming the address) becomes the OutboundError's `detail`.
 * Its `code` must not be UND_ERR_SOCKET/UND_ERR_INFO: undici treats those as
 * recoverable and would keep the request queued instead of failing it.
 */
export class BlockedAddressError extends Error {
  readonly code = 'ERR_OUTBOUND_BLOCKED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      host === address
        ? `address ${address} is private, loopback or reserved`
        : `host ${host} resolves to ${address}, which is private, loopback or reserved`,
    );
    this.name = 'BlockedAddressError';
  }
}

/** Limits, needed to name the one that was hit in error messages. */
export interface TimeoutLimits {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NODATA', 'EAI_NONAME', 'ENODATA', 'ESERVFAIL']);

/** Depth-first walk over err, err.cause and AggregateError.errors. */
function* errorChain(err: unknown, depth = 0): Generator<unknown> {
  if (err === null || err === undefined || depth > 5) return;
  yield err;
  if (err instanceof AggregateError) for (const e of err.errors) yield* errorChain(e, depth + 1);
  if (err instanceof Error && err.cause !== undefined) yield* errorChain(err.cause, depth + 1);
}

function codeOf(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

/** Map any thrown value to an OutboundError. Abort/timeout classification is the caller's job. */
export function toOutboundError(err: unknown, url: string, limits: TimeoutLimits): OutboundError {
  if (err instanceof OutboundError) return err;
  for (const e of errorChain(err)) {
    if (e instanceof OutboundError) return e;
    if (e instanceof BlockedAddressError) return new OutboundError('blocked_address', url, BLOCKED_ADDRESS_MESSAGE, { cause: err, detail: e.message });
  }
  const msg = err instanceof Error ? err.message : String(err);
  for (const e of errorChain(err)) {
    const code = codeOf(e);
    if (code === undefined) continue;
    switch (code) {
      case 'UND_ERR_CONNECT_TIMEOUT':
        return new OutboundError('timeout', url, `connect timed out after ${limits.connectTimeoutMs} ms`, { cause: err });
      case 'UND_ERR_HEADERS_TIMEOUT':
        return new OutboundError('timeout', url, `no response headers within ${limits.headersTimeoutMs} ms`, { cause: err });
      case 'UND_ERR_BODY_TIMEOUT':
        return new OutboundError('timeout', url, `response body idle for more than ${limits.bodyTimeoutMs} ms`, { cause: err });
      case 'UND_ERR_HEADERS_OVERFLOW':
        return new OutboundError('too_large', url, 'response headers too large', { cause: err });
      case 'UND_ERR_INVALID_ARG':
        return new OutboundError('invalid_url', url, `invalid request: ${msg}`, { cause: err });
      case 'UND_ERR_ABORTED':
      case 'UND_ERR_ABORT':
      case 'ABORT_ERR':
        return new OutboundError('aborted', url, 'request aborted', { cause: err });
      case 'ETIMEDOUT':
        return new OutboundError('timeout', url, `connect timed out: ${msg}`, { cause: err });
    }
    if (DNS_CODES.has(code)) return new OutboundError('dns_failed', url, `DNS lookup failed: ${msg}`, { cause: err });
    // zlib: Z_DATA_ERROR etc.; brotli: ERR__ERROR_FORMAT_...
    if (code.startsWith('Z_') || code.startsWith('ERR__')) {
      return new OutboundError('decompression_failed', url, `could not decompress response body: ${msg}`, { cause: err });
    }
  }
  return new OutboundError('connect_failed', url, `request failed: ${msg}`, { cause: err });
}

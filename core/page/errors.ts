// The page-error vocabulary: PipelineError for failures a step reports on
// purpose, and classifyPageError, which the worker (a job's error) and
// POST /v1/scrape (an HTTP error) both read a page's failure through.
import { PageTooComplexError } from '../extraction/index.js';
import { clientMessage } from '../outbound/clientMessage.js';
import { OutboundError } from '../outbound/index.js';

/** A failure a pipeline step (or a synchronous scrape) reports on purpose, with a stable code for clients. */
export class PipelineError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'PipelineError';
  }
}

// Worth another attempt: the network or the upstream may recover.
const RETRYABLE_OUTBOUND = new Set(['connect_failed', 'timeout']);

/** A DNS failure is worth retrying only when the resolver itself was unsure (EAI_AGAIN), not for a name that does not exist. */
function transientDns(err: OutboundError): boolean {
  for (let cause: unknown = err.cause; cause; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: string }).code === 'EAI_AGAIN') return true;
  }
  return false;
}

/** Why a page failed, in the words a client sees: a job's error and POST /v1/scrape's error body are both made from this. */
export interface PageError {
  code: string;
  /** Safe to show the client (a refused destination never names its address). */
  message: string;
  /** The code's companions: the URL and upstream status of a failed fetch, a PipelineError's details. */
  details: Record<string, unknown>;
  /** Whether another attempt may succeed (the network or the upstream may recover). */
  retryable: boolean;
  /** fetch: reaching the page failed or was refused; page: what came back cannot be used. */
  source: 'fetch' | 'page';
}

/** The one mapping from what fetching and reading a page throws to its PageError; null for anything else (our fault, not the page's). */
export function classifyPageError(err: unknown): PageError | null {
  if (err instanceof PipelineError) return { code: err.code, message: err.message, details: err.details, retryable: err.retryable, source: 'page' };
  if (err instanceof PageTooComplexError) return { code: 'too_complex', message: err.message, details: {}, retryable: false, source: 'page' };
  if (err instanceof OutboundError) {
    const status = err.status;
    const retryable =
      RETRYABLE_OUTBOUND.has(err.code) || (err.code === 'dns_failed' && transientDns(err)) || (err.code === 'http_status' && status !== undefined && (status >= 500 || status === 429 || status === 408));
    const details: Record<string, unknown> = { url: err.url };
    if (status !== undefined) details.status = status;
    return { code: err.code === 'http_status' ? 'upstream_status' : err.code, message: clientMessage(err), details, retryable, source: 'fetch' };
  }
  return null;
}

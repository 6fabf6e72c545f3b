import { clientMessage } from '../../core/clientMessage.js';
import { PageTooComplexError } from '../../core/extraction/index.js';
import { OutboundError } from '../../core/outbound/index.js';
import type { JobError } from '../../core/jobs/index.js';
import { PipelineError } from '../../core/pipelineError.js';

export { PipelineError };

// Worth another attempt: the network or the upstream may recover.
const RETRYABLE_OUTBOUND = new Set(['connect_failed', 'timeout']);

/** A DNS failure is worth retrying only when the resolver itself was unsure (EAI_AGAIN), not for a name that does not exist. */
function transientDns(err: OutboundError): boolean {
  for (let cause: unknown = err.cause; cause; cause = (cause as { cause?: unknown }).cause) {
    if ((cause as { code?: string }).code === 'EAI_AGAIN') return true;
  }
  return false;
}

/** Turn anything a pipeline throws into the job's error and whether to retry. */
export function classifyError(err: unknown): { error: JobError; retryable: boolean } {
  if (err instanceof PipelineError) {
    return { error: { code: err.code, message: err.message, ...err.details }, retryable: err.retryable };
  }
  if (err instanceof PageTooComplexError) {
    return { error: { code: 'too_complex', message: err.message }, retryable: false };
  }
  if (err instanceof OutboundError) {
    const status = err.status;
    const retryable =
      RETRYABLE_OUTBOUND.has(err.code) || (err.code === 'dns_failed' && transientDns(err)) || (err.code === 'http_status' && status !== undefined && (status >= 500 || status === 429 || status === 408));
    const error: JobError = { code: err.code === 'http_status' ? 'upstream_status' : err.code, message: clientMessage(err), url: err.url };
    if (status !== undefined) error.status = status;
    return { error, retryable };
  }
  // Anything else is our fault, not the page's: the details go to the log, never to the client.
  return { error: { code: 'internal_error', message: 'an internal error interrupted the job; it is retried automatically' }, retryable: true };
}

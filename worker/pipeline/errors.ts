import type { JobError } from '../../core/jobs/index.js';
import { classifyPageError, PipelineError } from '../../core/page/errors.js';

export { PipelineError };

/** Turn anything a pipeline throws into the job's error and whether to retry. */
export function classifyError(err: unknown): { error: JobError; retryable: boolean } {
  const page = classifyPageError(err);
  if (page) return { error: { code: page.code, message: page.message, ...page.details }, retryable: page.retryable };
  // Anything else is our fault, not the page's: the details go to the log, never to the client.
  return { error: { code: 'internal_error', message: 'an internal error interrupted the job; it is retried automatically' }, retryable: true };
}

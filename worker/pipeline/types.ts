import type { JobInput } from '../../core/jobs/index.js';
import type { Logger } from '../../core/platform/logger.js';
import type { PageRendering } from '../../core/browser/pageSource.js';
import type { WriteFence } from '../../core/search/types.js';

export interface StepContext {
  jobId: string;
  /** The job's owner: the search index tenant. */
  apiKeyId: string;
  logger: Logger;
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  /** Merge into the job's progress; written to the database shortly after. */
  progress(update: Record<string, unknown>): void;
  /** Passes only while this attempt still holds the job: index writes go through it (unset outside a worker). */
  fence?: WriteFence;
  /** How pages are read: the job's `render` mode and the process's browser (unset: static fetch only). */
  rendering?: PageRendering;
}

/** One stage of the pipeline: input → output, no direct database access. */
export type Step<I, O> = (input: I, ctx: StepContext) => Promise<O>;

/** What a worker runs for a job; its resolved value becomes the job's result. */
export type Pipeline = Step<JobInput, unknown>;

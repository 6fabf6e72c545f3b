// Test-only pipelines for the queue measurements: they do nothing, so what is
// measured is the job machinery (accept, claim, state changes, events).
import type { Pipeline } from '../../worker/pipeline/types.js';

/** A `() => ({})` step. */
export const noopPipeline: Pipeline = async () => ({});

/** The no-op pipeline that also reports each job it starts (for counting and pickup timestamps). */
export function observedNoopPipeline(onStart: (jobId: string) => void): Pipeline {
  return async (_input, ctx) => {
    onStart(ctx.jobId);
    return {};
  };
}

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

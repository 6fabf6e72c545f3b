/** The embedding model could not be loaded; the message says how to provide one. */
export class EmbeddingModelUnavailableError extends Error {
  constructor(
    readonly modelId: string,
    readonly reason: string,
    options: { remoteHost: string; cacheDir: string; cause?: unknown },
  ) {
    super(
      `The embedding model ${modelId} could not be loaded: ${reason}. ` +
        'Set EMBEDDING_MODEL_DIR to a folder holding the model (config.json, tokenizer.json, tokenizer_config.json, onnx/model.onnx) — ' +
        'for development and tests, `npm run make-test-model -- DIR` writes a random-weight stand-in with no semantic quality — ' +
        `or allow the download of EMBEDDING_MODEL from EMBEDDING_REMOTE_HOST (${options.remoteHost}) into EMBEDDING_CACHE_DIR (${options.cacheDir}).`,
      { cause: options.cause },
    );
    this.name = 'EmbeddingModelUnavailableError';
  }
}

/** What a failed model load says, for EmbeddingModelUnavailableError's reason. */
export function loadFailureReason(err: unknown): string {
  // fetch() says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND…) is in its cause.
  const cause = (err as { cause?: { message?: unknown } } | undefined)?.cause?.message;
  const message = err instanceof Error ? err.message : String(err);
  return typeof cause === 'string' ? `${message} (${cause})` : message;
}

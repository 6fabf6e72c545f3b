/** A loaded sentence-embedding model, shared by everything in one process. */
export interface Embedder {
  /** The hub id or folder the model came from. */
  readonly modelId: string;
  /** Length of every vector embed() returns (384 for MiniLM-L6-v2). */
  readonly dimension: number;
  /** Longest input in model tokens (special tokens included); longer text is truncated. */
  readonly maxTokens: number;
  /** False once closed or once the model's thread has died; load again then. */
  readonly usable: boolean;
  /** Model tokens in each text, without special tokens and without truncation (counted on the model's thread). */
  countTokens(texts: string[], opts?: { signal?: AbortSignal }): Promise<number[]>;
  /**
   * Mean-pooled, L2-normalised vectors, one per text, in order; batched internally and
   * run on the model's own thread, short requests (a query) before queued batches.
   */
  embed(texts: string[], opts?: { signal?: AbortSignal }): Promise<Float32Array[]>;
  /** Free the onnxruntime session (with the model's last handle, which also ends its thread). */
  close(): Promise<void>;
}

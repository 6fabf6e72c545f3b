// Messages between the main thread (client.ts) and the embedding thread
// (embeddingThread.ts). Token ids and vectors travel as typed arrays whose
// buffers are transferred, never copied element by element.

/** What the thread needs to load one model. */
export interface ModelOptions {
  modelId: string;
  /** A local folder: remote loading stays off. */
  local: boolean;
  remoteHost: string;
  cacheDir: string;
  /** onnxruntime intra-op threads; 0 lets onnxruntime choose. */
  threads: number;
  maxTokens: number;
  /** fp32 loads onnx/model.onnx; q8 its int8 twin, onnx/model_quantized.onnx. */
  dtype: 'fp32' | 'q8';
}

/** Token id rows, flattened: row i is ids[offset(i), offset(i) + lengths[i]). */
export interface Rows {
  ids: Int32Array;
  lengths: Int32Array;
}

export type ThreadRequest =
  /** The thread's first request. */
  | { id: number; op: 'load'; options: ModelOptions }
  /** Texts that fit one batch: tokenise, run, pool. */
  | { id: number; op: 'embed'; texts: string[] }
  /** A request of several batches: its model input ids, so the main thread can sort and split it. */
  | { id: number; op: 'tokenize'; texts: string[] }
  /** Model tokens in each text (no special tokens, no truncation): the chunker's measure. */
  | { id: number; op: 'count'; texts: string[] }
  /** One batch of rows from a tokenize answer. */
  | ({ id: number; op: 'run' } & Rows)
  /** Free the session (the thread is terminated next). */
  | { id: number; op: 'unload' };

export interface ThreadFailure {
  message: string;
  name: string;
  stack: string | undefined;
}

/** An answer to one ThreadRequest, matched by id. */
export type ThreadReply =
  | { type: 'loaded'; id: number; dimension: number; maxTokens: number }
  /** The model could not be loaded; reason is what EmbeddingModelUnavailableError shows. */
  | { type: 'load-failed'; id: number; reason: string; error: ThreadFailure }
  | { type: 'vectors'; id: number; vectors: Float32Array[] }
  | ({ type: 'rows'; id: number } & Rows)
  | { type: 'counts'; id: number; counts: Int32Array }
  | { type: 'unloaded'; id: number }
  /** The request failed; the thread carries on. */
  | { type: 'error'; id: number; error: ThreadFailure };

/** Rows flattened into one buffer pair. */
export function packRows(rows: ArrayLike<number>[]): Rows {
  const lengths = Int32Array.from(rows, (r) => r.length);
  const ids = new Int32Array(lengths.reduce((sum, n) => sum + n, 0));
  let at = 0;
  for (const row of rows) {
    ids.set(row, at);
    at += row.length;
  }
  return { ids, lengths };
}

/** Where each row starts in Rows.ids. */
export function rowOffsets(lengths: Int32Array): number[] {
  const offsets: number[] = [];
  let at = 0;
  for (const n of lengths) {
    offsets.push(at);
    at += n;
  }
  return offsets;
}

/** The rows at `indices`, in that order, as Rows of their own (copied: the result's buffers get transferred). */
export function pickRows(all: Rows, offsets: number[], indices: number[]): Rows {
  return packRows(indices.map((i) => all.ids.subarray(offsets[i] as number, (offsets[i] as number) + (all.lengths[i] as number))));
}

export function unpackRows(rows: Rows): number[][] {
  const offsets = rowOffsets(rows.lengths);
  return Array.from(rows.lengths, (n, i) => Array.from(rows.ids.subarray(offsets[i] as number, (offsets[i] as number) + n)));
}

/** Indices of rows, shortest first (stable): batches of similar lengths waste less on padding. */
export function byLength(lengths: ArrayLike<number>): number[] {
  return Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) => (lengths[a] as number) - (lengths[b] as number) || a - b);
}

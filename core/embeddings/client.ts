// The main thread's side of an embedding thread (embeddingThread.ts), which
// tokenises, runs onnxruntime and pools, so inference never blocks the API,
// the claim loop, heartbeats or webhooks sharing this process. Each loaded
// model has its own thread, which also counts tokens for the chunker: the main
// thread loads no copy of transformers.js or the tokenizer (~100 MB less).
//
// The thread is fed one request at a time from a queue in which short
// requests (a search query) go before queued pipeline batches: a query waits
// at most for the batch already running. A request of several batches is
// sent batch by batch, so its signal is honoured between them.
//
// Needs onnxruntime-node 1.30 (package.json): 1.21 kept one process-wide
// reference to the Tensor class of the last JS thread that started using it,
// so a second thread running a session aborted the process ("Cannot create a
// handle without a HandleScope"), and starting threads one after another
// corrupted the heap by the third.
import { Worker } from 'node:worker_threads';
import type { Logger } from '../platform/logger.js';
import { EmbeddingModelUnavailableError } from './errors.js';
import { byLength, pickRows, rowOffsets, type ModelOptions, type Rows, type ThreadFailure, type ThreadReply, type ThreadRequest } from './protocol.js';
import { startThread } from '../threads.js';

/** Requests of at most this many texts are short: they go before queued longer ones. */
export const SHORT_REQUEST_TEXTS = 2;

const closedError = () => new Error('the embedding model was closed');

/** Built-in error classes kept across the thread boundary, so `instanceof TypeError` still holds. */
const ERROR_CLASSES: Record<string, ErrorConstructor> = { TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

function threadError(f: ThreadFailure): Error {
  const err = new (ERROR_CLASSES[f.name] ?? Error)(f.message);
  err.name = f.name;
  if (f.stack) err.stack = `${f.stack}\n    (in the embedding thread)`;
  return err;
}

/**
 * The embedding thread's Worker.
 */
function spawnWorker(): Worker {
  return startThread(import.meta.url, 'embeddingThread');
}

/** A request without its id (EmbeddingThread numbers them). */
type Call = ThreadRequest extends infer R ? (R extends ThreadRequest ? Omit<R, 'id'> : never) : never;

interface Job {
  request: Call;
  id: number;
  transfer: ArrayBuffer[];
  short: boolean;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
  resolve(reply: ThreadReply): void;
  reject(err: unknown): void;
}

export interface RequestOptions {
  short: boolean;
  signal?: AbortSignal | undefined;
  transfer?: ArrayBuffer[];
}

/** The Worker and its queue. */
export class EmbeddingThread {
  readonly worker: Worker;
  /** Requests the thread has answered (tests look at which ran when). */
  answered = 0;
  /** Why the thread stopped, when it stopped without being asked to. */
  death: Error | undefined;
  /** Settles when the thread has exited, for whatever reason. */
  readonly exited: Promise<void>;

  private state: 'open' | 'closing' | 'closed' | 'dead' = 'open';
  private readonly short: Job[] = [];
  private readonly long: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;
  private lastError: Error | undefined;
  private readonly deathListeners = new Set<(err: Error) => void>();
  /** close() waiting for the running request's answer. */
  private readonly idleWaiters: (() => void)[] = [];

  constructor(private readonly logger: Logger) {
    this.worker = spawnWorker();
    this.worker.on('message', (reply: ThreadReply) => this.answer(reply));
    this.worker.on('messageerror', (err) => {
      // The answer to the running request could not be read: that request fails, the thread carries on.
      const job = this.running;
      if (!job) return;
      this.running = undefined;
      this.answered++;
      for (const waiter of this.idleWaiters.splice(0)) waiter();
      this.settle(job, () => job.reject(err));
      this.pump();
    });
    this.worker.on('error', (err) => {
      this.lastError = err;
    });
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        if (this.state === 'open') {
          const why = this.lastError ? `: ${this.lastError.message}` : '';
          this.die(new Error(`the embedding thread stopped unexpectedly (exit code ${code})${why}; the model must be loaded again`, { cause: this.lastError }));
        } else {
          this.state = 'closed';
          this.failAll(closedError());
        }
        resolve();
      });
    });
    this.pump(); // nothing queued yet: this unrefs the idle thread
  }

  get usable(): boolean {
    return this.state === 'open';
  }

  /** Called once if the thread dies; returns a function that stops listening. */
  onDeath(listener: (err: Error) => void): () => void {
    this.deathListeners.add(listener);
    return () => this.deathListeners.delete(listener);
  }

  request(request: Call, opts: RequestOptions): Promise<ThreadReply> {
    if (this.state === 'dead') return Promise.reject(this.death);
    if (this.state !== 'open') return Promise.reject(closedError());
    const { signal } = opts;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<ThreadReply>((resolve, reject) => {
      const job: Job = { request, id: this.nextId++, transfer: opts.transfer ?? [], short: opts.short, signal, onAbort: undefined, settled: false, resolve, reject };
      if (signal) {
        // A queued request leaves the queue at once; a running one is left to finish, unobserved.
        job.onAbort = () => {
          this.unqueue(job);
          this.settle(job, () => reject(signal.reason));
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      (job.short ? this.short : this.long).push(job);
      this.pump();
    });
  }

  /** Fails the queued (not yet running) requests. */
  cancelQueued(err: Error): void {
    for (const job of [...this.short.splice(0), ...this.long.splice(0)]) this.settle(job, () => job.reject(err));
  }

  private unqueue(job: Job): void {
    const queue = job.short ? this.short : this.long;
    const at = queue.indexOf(job);
    if (at >= 0) queue.splice(at, 1);
  }

  private settle(job: Job, how: () => void): void {
    if (job.settled) return;
    job.settled = true;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    how();
  }

  /** Sends the next request when the thread is free. The thread keeps the process alive only while it works. */
  private pump(): void {
    if (this.running || this.state === 'dead' || this.state === 'closed') return;
    const job = this.short.shift() ?? this.long.shift();
    if (!job) {
      this.worker.unref();
      return;
    }
    try {
      this.worker.postMessage({ ...job.request, id: job.id }, job.transfer);
    } catch (err) {
      // Not cloneable (a caller passed something odd): that request fails, the thread carries on.
      this.settle(job, () => job.reject(err));
      this.pump();
      return;
    }
    this.running = job;
    this.worker.ref();
  }

  private answer(reply: ThreadReply): void {
    const job = this.running;
    if (!job || job.id !== reply.id) {
      this.logger.warn('the embedding thread answered a request that is not running', { id: reply.id });
      return;
    }
    this.running = undefined;
    this.answered++;
    for (const waiter of this.idleWaiters.splice(0)) waiter();
    this.settle(job, () => (reply.type === 'error' ? job.reject(threadError(reply.error)) : job.resolve(reply)));
    this.pump();
  }

  private failAll(err: Error): void {
    const jobs = [...(this.running ? [this.running] : []), ...this.short.splice(0), ...this.long.splice(0)];
    this.running = undefined;
    for (const job of jobs) this.settle(job, () => job.reject(err));
  }

  private die(err: Error): void {
    this.state = 'dead';
    this.death = err;
    this.logger.error('the embedding thread stopped unexpectedly', { error: err.message });
    this.failAll(err);
    for (const listener of [...this.deathListeners]) listener(err);
    this.deathListeners.clear();
  }

  /** Ends the thread once the running request (if any) is answered; queued ones fail as closed. */
  async close(): Promise<void> {
    if (this.state === 'open') {
      this.state = 'closing';
      this.cancelQueued(closedError());
      if (this.running) {
        // The thread stays referenced while it works, so the process waits for this too.
        await Promise.race([new Promise<void>((resolve) => this.idleWaiters.push(resolve)), this.exited]);
      }
      await this.worker.terminate();
    }
    await this.exited;
  }
}

export interface CoreOptions extends ModelOptions {
  batchSize: number;
}

/** One loaded model: its tokenizer and session on a thread of its own; shared by every Embedder handle with the same options. */
export class EmbedderCore {
  readonly dimension: number;
  readonly maxTokens: number;
  private state: 'ready' | 'closing' | 'closed' | 'dead' = 'ready';
  private closing: Promise<void> | undefined;
  private readonly deathListeners: (() => void)[] = [];

  private constructor(
    readonly modelId: string,
    readonly thread: EmbeddingThread,
    private readonly batchSize: number,
    loaded: { dimension: number; maxTokens: number },
  ) {
    this.dimension = loaded.dimension;
    this.maxTokens = loaded.maxTokens;
    thread.onDeath(() => {
      if (this.state !== 'ready') return;
      this.state = 'dead';
      for (const listener of this.deathListeners.splice(0)) listener();
    });
  }

  /** Starts a thread and loads the model there; fails with EmbeddingModelUnavailableError when it cannot be had. */
  static async start(options: CoreOptions, logger: Logger): Promise<EmbedderCore> {
    const unavailable = (reason: string, cause: unknown) =>
      new EmbeddingModelUnavailableError(options.modelId, reason, { remoteHost: options.remoteHost, cacheDir: options.cacheDir, cause });
    const thread = new EmbeddingThread(logger);
    const { modelId, local, remoteHost, cacheDir, threads, maxTokens, dtype } = options;
    try {
      const reply = await thread.request({ op: 'load', options: { modelId, local, remoteHost, cacheDir, threads, maxTokens, dtype } }, { short: false });
      if (reply.type === 'load-failed') throw unavailable(reply.reason, threadError(reply.error));
      if (reply.type !== 'loaded') throw new Error(`the embedding thread answered ${reply.type} to a load`);
      return new EmbedderCore(modelId, thread, options.batchSize, reply);
    } catch (err) {
      await thread.close();
      throw err;
    }
  }

  /** Loaded, not closed, and its thread running. */
  get usable(): boolean {
    return this.state === 'ready' && this.thread.usable;
  }

  /** Called if the thread dies while the model is loaded. */
  onDeath(listener: () => void): void {
    this.deathListeners.push(listener);
  }

  /** Counted on the thread, ahead of queued batches (a page's count is a few milliseconds of work). */
  async countTokens(texts: string[], signal?: AbortSignal): Promise<number[]> {
    if (texts.length === 0) return [];
    const reply = await this.request({ op: 'count', texts }, { short: true, signal });
    if (reply.type !== 'counts') throw new Error(`the embedding thread answered ${reply.type} to count`);
    return Array.from(reply.counts);
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<Float32Array[]> {
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const short = texts.length <= SHORT_REQUEST_TEXTS;
    const { batchSize } = this;
    if (texts.length <= batchSize) {
      signal?.throwIfAborted(); // the per-batch check, as in the loop below
      return this.vectors(await this.request({ op: 'embed', texts }, { short, signal }));
    }
    // Several batches: tokenised on the thread, sorted by length and split here, then sent one by one.
    const tokenized = await this.request({ op: 'tokenize', texts }, { short, signal });
    if (tokenized.type !== 'rows') throw new Error(`the embedding thread answered ${tokenized.type} to tokenize`);
    const all: Rows = tokenized;
    const offsets = rowOffsets(all.lengths);
    const order = byLength(all.lengths);
    const out: Float32Array[] = new Array(texts.length);
    for (let start = 0; start < order.length; start += batchSize) {
      signal?.throwIfAborted();
      const batch = order.slice(start, start + batchSize);
      const rows = pickRows(all, offsets, batch);
      const reply = await this.request({ op: 'run', ...rows }, { short, signal, transfer: [rows.ids.buffer as ArrayBuffer, rows.lengths.buffer as ArrayBuffer] });
      const vectors = this.vectors(reply);
      batch.forEach((i, j) => (out[i] = vectors[j] as Float32Array));
    }
    return out;
  }

  private request(request: Call, opts: RequestOptions): Promise<ThreadReply> {
    if (this.state === 'closing' || this.state === 'closed') return Promise.reject(closedError());
    return this.thread.request(request, opts);
  }

  private vectors(reply: ThreadReply): Float32Array[] {
    if (reply.type !== 'vectors') throw new Error(`the embedding thread answered ${reply.type} to an embedding request`);
    return reply.vectors;
  }

  /**
   * Frees the session and ends the thread. Queued batches fail as closed; a
   * batch already running is answered first (its caller may still be waiting).
   */
  dispose(): Promise<void> {
    this.closing ??= (async () => {
      const wasReady = this.state === 'ready';
      this.state = 'closing';
      if (wasReady) {
        this.thread.cancelQueued(closedError());
        // Sent once the running batch is answered. A dead thread has freed everything anyway.
        await this.thread.request({ op: 'unload' }, { short: true }).catch(() => {});
      }
      this.state = 'closed';
      await this.thread.close();
    })();
    return this.closing;
  }
}

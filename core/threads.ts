// Worker threads: startThread starts one on a module beside the caller (run
// from source (tsx) the caller and its entry are .ts files; compiled, both are
// .js and the entry loads as it is); ThreadPool dispatches tasks to a few of
// them, with a time and heap limit per task, and serveTasks answers them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { parentPort, Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Every thread's young generation, in MB, unless its caller sets one. V8 lets
 * each thread's grow to 48 MB (sized for a main thread with a big heap); the
 * service's threads (embedding, extraction, PDF) allocate short-lived arrays
 * per task, and at 12 the pipeline bench's `npm start` peaked 448 / 448 MB
 * against 565 MB at V8's default, crawling as fast (docs/benchmarks.md).
 */
export const THREAD_YOUNG_GENERATION_MB = 12;

/** `new Worker` on `./<name>` beside `callerUrl` (pass import.meta.url), with the caller's extension; its young generation capped at THREAD_YOUNG_GENERATION_MB unless `options` says otherwise. */
export function startThread(callerUrl: string, name: string, threadOptions: WorkerOptions = {}): Worker {
  const limits = threadOptions.resourceLimits;
  const options = { ...threadOptions, resourceLimits: { ...limits, maxYoungGenerationSizeMb: limits?.maxYoungGenerationSizeMb ?? THREAD_YOUNG_GENERATION_MB } };
  const ext = path.extname(fileURLToPath(callerUrl));
  const entry = new URL(`./${name}${ext}`, callerUrl);
  if (ext !== '.ts') return new Worker(entry, options);
  // Node 20 does not run --import preloads in worker threads, so tsx (which `tsx script.ts` and
  // `node --import tsx --test` put in execArgv) is missing there and a .ts entry fails with
  // ERR_UNKNOWN_FILE_EXTENSION. The thread registers tsx itself when, and only when, it needs to;
  // the retry's query makes a new URL because the loader caches the failed import of the plain one.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `const entry = ${JSON.stringify(entry.href)};
import(entry).catch(async (err) => {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  (await import(${JSON.stringify(tsx)})).register();
  await import(entry + '?tsx');
});`;
  return new Worker(boot, { ...options, eval: true });
}

/** A pool thread's answer to one task: the value, or the error it threw (its own enumerable fields in `props`). */
export type ThreadReply<R> = { id: number; ok: true; value: R } | { id: number; ok: false; name: string; message: string; props?: Record<string, unknown> };

export interface ThreadPoolOptions {
  /** The entry module `./<entry>` beside `callerUrl` (see startThread); it answers tasks with serveTasks. */
  callerUrl: string;
  entry: string;
  /** What the pool runs, for its messages ("the extraction thread exited"). */
  label: string;
  /** Threads at most (default defaultPoolThreads()). */
  size?: number;
  /** A task still running after this long fails with limitError('time') and its thread is stopped. */
  timeLimitMs?: number;
  /** Old-generation heap of each thread, in MB; a task that runs out fails with limitError('memory'). */
  heapMb?: number;
  /** The error a task rejects with for what its thread threw (default: an Error with the same name and message). */
  toError?(reply: Extract<ThreadReply<unknown>, { ok: false }>): Error;
  /** The error of a task stopped by a limit (default: an Error naming the limit). */
  limitError?(kind: 'time' | 'memory'): Error;
  /**
   * When every thread has run its task this long, one more thread may start for a task of an
   * owner with nothing running (default 1000 ms), so one owner's slow pages hold up the others
   * for about this long, not for the whole time limit.
   */
  overflowAfterMs?: number;
  /** Threads the pool may start beyond `size` that way (default 2); they stop once idle. */
  maxOverflow?: number;
}

/** Threads a pool starts by default: one core is left to the event loop and the database driver. */
export const defaultPoolThreads = () => Math.max(1, Math.min(4, availableParallelism() - 1));

interface PoolTask<Req, Res> {
  id: number;
  payload: Req;
  /** Whose task it is (an API key): tasks of owners with nothing running go first. Tasks without one share the owner ''. */
  owner: string;
  resolve(value: Res): void;
  reject(err: Error): void;
}

interface PoolSlot<Req, Res> {
  worker: Worker;
  task: PoolTask<Req, Res> | null;
  timer: NodeJS.Timeout | null;
  /** Wakes dispatch when the task has run overflowAfterMs, to consider one more thread. */
  overflowTimer: NodeJS.Timeout | null;
  /**
   * The task has run overflowAfterMs (set by overflowTimer). A flag, not a clock compared again: a timer may fire a
   * fraction of a millisecond before performance.now() says the time is up, and the pool then never grew.
   */
  slow: boolean;
  /** The thread has loaded its entry and serves tasks: a task's time limit runs from then, not from the thread's boot. */
  ready: boolean;
}

/**
 * Worker threads that run one task each at a time, off the calling thread's event loop. Tasks
 * wait in one queue for a free thread, those of owners with nothing running first, then in
 * order; when every thread is stuck on a slow task, a task of another owner gets an extra
 * thread (overflowAfterMs, maxOverflow). A thread that dies, runs past the time limit or out of
 * heap is replaced and only its task fails. Idle threads are unref'd: an idle pool never holds
 * the process open.
 */
export class ThreadPool<Req, Res> {
  private readonly slots: PoolSlot<Req, Res>[] = [];
  private readonly queue: PoolTask<Req, Res>[] = [];
  private nextId = 1;
  private closed = false;
  private readonly size: number;
  private readonly overflowAfterMs: number;
  private readonly maxOverflow: number;
  /** When each owner with tasks queued or running last got a thread (a dispatch count): the least recent goes next. */
  private readonly served = new Map<string, number>();
  private dispatches = 0;

  constructor(private readonly options: ThreadPoolOptions) {
    this.size = options.size ?? defaultPoolThreads();
    this.overflowAfterMs = options.overflowAfterMs ?? 1000;
    this.maxOverflow = options.maxOverflow ?? 2;
  }

  /** Runs `payload` on a thread; `owner` (an API key) keeps one owner's tasks from holding up another's. */
  run(payload: Req, owner?: string): Promise<Res> {
    if (this.closed) return Promise.reject(new Error(`the ${this.options.label} pool is closed`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, payload, owner: owner ?? '', resolve, reject });
      this.dispatch();
    });
  }

  /** Threads running a task now, and tasks waiting for one. */
  get load(): { busy: number; queued: number } {
    return { busy: this.slots.filter((s) => s.task).length, queued: this.queue.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    const closed = () => new Error(`the ${this.options.label} pool is closed`);
    for (const t of this.queue.splice(0)) t.reject(closed());
    await Promise.all(
      this.slots.splice(0).map((s) => {
        this.take(s)?.reject(closed());
        return s.worker.terminate();
      }),
    );
  }

  private dispatch(): void {
    while (this.queue.length) {
      const next = this.nextTask();
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.size) slot = this.start();
      if (!slot && next.ownerIdle && this.allSlow()) slot = this.start();
      if (!slot) break;
      const task = this.queue.splice(next.index, 1)[0]!;
      this.served.set(task.owner, ++this.dispatches);
      slot.task = task;
      slot.worker.ref(); // a task in progress keeps the process alive; an idle pool does not
      if (slot.ready) this.startTimer(slot);
      slot.worker.postMessage({ id: task.id, payload: task.payload });
    }
    // Threads started beyond `size` for slow tasks stop once nothing waits for them.
    for (const idle of this.slots.filter((s) => !s.task).slice(0, Math.max(0, this.slots.length - this.size))) {
      this.slots.splice(this.slots.indexOf(idle), 1);
      void idle.worker.terminate();
    }
  }

  /**
   * The queued task to run next: owners with nothing running before those with a task running,
   * then the owner served least recently, then the oldest task.
   */
  private nextTask(): { index: number; ownerIdle: boolean } {
    const running = new Set(this.slots.map((s) => s.task?.owner));
    let best = 0;
    let bestRank = [Infinity, Infinity];
    this.queue.forEach((t, i) => {
      const rank = [running.has(t.owner) ? 1 : 0, this.served.get(t.owner) ?? 0];
      if (rank[0]! < bestRank[0]! || (rank[0] === bestRank[0] && rank[1]! < bestRank[1]!)) [best, bestRank] = [i, rank];
    });
    return { index: best, ownerIdle: bestRank[0] === 0 };
  }

  /** Every thread runs a task that has run overflowAfterMs, and the pool may still grow. */
  private allSlow(): boolean {
    if (this.slots.length >= this.size + this.maxOverflow) return false;
    return this.slots.every((s) => s.task && s.slow);
  }

  private startTimer(slot: PoolSlot<Req, Res>): void {
    slot.overflowTimer = setTimeout(() => {
      slot.slow = true;
      this.dispatch();
    }, this.overflowAfterMs);
    slot.overflowTimer.unref();
    if (this.options.timeLimitMs === undefined) return;
    slot.timer = setTimeout(() => this.stop(slot, this.limitError('time')), this.options.timeLimitMs);
    slot.timer.unref();
  }

  private limitError(kind: 'time' | 'memory'): Error {
    if (this.options.limitError) return this.options.limitError(kind);
    return new Error(kind === 'time' ? `the ${this.options.label} thread ran past ${this.options.timeLimitMs} ms` : `the ${this.options.label} thread ran out of memory`);
  }

  /** Takes the slot's task off it (clearing its timer and unref'ing the idle thread). */
  private take(slot: PoolSlot<Req, Res>): PoolTask<Req, Res> | null {
    const task = slot.task;
    slot.task = null;
    // An owner with nothing left queued or running is forgotten: the map holds only owners with work.
    const owner = task?.owner;
    if (owner !== undefined && !this.queue.some((t) => t.owner === owner) && !this.slots.some((s) => s.task?.owner === owner)) this.served.delete(owner);
    if (slot.timer) clearTimeout(slot.timer);
    if (slot.overflowTimer) clearTimeout(slot.overflowTimer);
    slot.timer = null;
    slot.overflowTimer = null;
    slot.slow = false;
    slot.worker.unref();
    return task;
  }

  /** The slot's thread is gone (or being stopped): its task fails with `err`, the next task gets a new thread. */
  private stop(slot: PoolSlot<Req, Res>, err: Error): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.take(slot)?.reject(err);
    void slot.worker.terminate();
    if (!this.closed) this.dispatch();
  }

  private start(): PoolSlot<Req, Res> {
    const { heapMb } = this.options;
    const worker = startThread(this.options.callerUrl, this.options.entry, heapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
    const slot: PoolSlot<Req, Res> = { worker, task: null, timer: null, overflowTimer: null, slow: false, ready: false };
    worker.on('message', (reply: ThreadReply<Res> | { ready: true }) => {
      if ('ready' in reply) {
        slot.ready = true;
        if (slot.task) this.startTimer(slot);
        return;
      }
      if (slot.task?.id !== reply.id) return;
      const task = this.take(slot)!;
      if (reply.ok) task.resolve(reply.value);
      else task.reject(this.options.toError?.(reply) ?? Object.assign(new Error(reply.message), { name: reply.name }));
      this.dispatch();
    });
    worker.on('error', (err: Error & { code?: string }) => this.stop(slot, err.code === 'ERR_WORKER_OUT_OF_MEMORY' ? this.limitError('memory') : err));
    worker.on('exit', (code) => this.stop(slot, new Error(`the ${this.options.label} thread exited (code ${code})`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

/** The thread side of a ThreadPool: answers each task with `handler`'s value or the error it threw. */
export function serveTasks<Req, Res>(handler: (payload: Req) => Res): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks runs in a pool thread');
  port.postMessage({ ready: true });
  port.on('message', (task: { id: number; payload: Req }) => {
    let reply: ThreadReply<Res>;
    try {
      reply = { id: task.id, ok: true, value: handler(task.payload) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      reply = { id: task.id, ok: false, name: e.name, message: e.message, props: { ...e } };
    }
    try {
      port.postMessage(reply);
    } catch {
      // An error field that cannot be cloned (a function, say): the name and message still go.
      port.postMessage(reply.ok ? reply : { ...reply, props: {} });
    }
  });
}

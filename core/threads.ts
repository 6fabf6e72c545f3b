// Worker threads: startThread starts one on a module beside the caller (run
// from source (tsx) the caller and its entry are .ts files; compiled, both are
// .js and the entry loads as it is); ThreadPool dispatches tasks to a few of
// them, with a time and heap limit per task, and serveTasks answers them.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { parentPort, Worker, type WorkerOptions } from 'node:worker_threads';

/** `new Worker` on `./<name>` beside `callerUrl` (pass import.meta.url), with the caller's extension. */
export function startThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
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
}

/** Threads a pool starts by default: one core is left to the event loop and the database driver. */
export const defaultPoolThreads = () => Math.max(1, Math.min(4, availableParallelism() - 1));

interface PoolTask<Req, Res> {
  id: number;
  payload: Req;
  resolve(value: Res): void;
  reject(err: Error): void;
}

interface PoolSlot<Req, Res> {
  worker: Worker;
  task: PoolTask<Req, Res> | null;
  timer: NodeJS.Timeout | null;
  /** The thread has loaded its entry and serves tasks: a task's time limit runs from then, not from the thread's boot. */
  ready: boolean;
}

/**
 * Worker threads that run one task each at a time, off the calling thread's event loop. Tasks
 * wait in one FIFO queue for a free thread; a thread that dies, runs past the time limit or out
 * of heap is replaced and only its task fails. Idle threads are unref'd: an idle pool never
 * holds the process open.
 */
export class ThreadPool<Req, Res> {
  private readonly slots: PoolSlot<Req, Res>[] = [];
  private readonly queue: PoolTask<Req, Res>[] = [];
  private nextId = 1;
  private closed = false;
  private readonly size: number;

  constructor(private readonly options: ThreadPoolOptions) {
    this.size = options.size ?? defaultPoolThreads();
  }

  run(payload: Req): Promise<Res> {
    if (this.closed) return Promise.reject(new Error(`the ${this.options.label} pool is closed`));
    return new Promise((resolve, reject) => {
      this.queue.push({ id: this.nextId++, payload, resolve, reject });
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
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.size) slot = this.start();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref(); // a task in progress keeps the process alive; an idle pool does not
      if (slot.ready) this.startTimer(slot);
      slot.worker.postMessage({ id: task.id, payload: task.payload });
    }
  }

  private startTimer(slot: PoolSlot<Req, Res>): void {
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
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = null;
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
    const slot: PoolSlot<Req, Res> = { worker, task: null, timer: null, ready: false };
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

// A small pool of worker threads that run extractPage (parse + extract) off
// the calling thread's event loop: POST /v1/scrape uses it, so a 5 MB page
// costs the API a copy of the HTML, not seconds of blocked requests. Pages
// wait in one FIFO queue for a free thread; a thread that dies is replaced
// and only its page fails.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { PageTooComplexError, type ExtractedPage } from './extraction/index.js';
import { startThread } from './threads.js';

export interface ExtractRequest {
  id: number;
  html: string;
  baseUrl: string;
}

export type ExtractReply = { id: number; ok: true; page: ExtractedPage } | { id: number; ok: false; name: string; message: string; depth?: number };

interface Task {
  request: ExtractRequest;
  resolve(page: ExtractedPage): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

/** Threads a pool starts by default: one core is left to the event loop and the database driver. */
export const defaultExtractThreads = () => Math.max(1, Math.min(4, availableParallelism() - 1));

/** The thread's Worker; from source (tsx) the entry is .ts and the thread registers tsx itself (Node 20 skips --import preloads in threads). */
function spawn(): Worker {
  return startThread(import.meta.url, 'extractThread');
}

function toError(reply: Extract<ExtractReply, { ok: false }>): Error {
  if (reply.name === 'PageTooComplexError' && reply.depth !== undefined) return new PageTooComplexError(reply.depth);
  const err = new Error(reply.message);
  err.name = reply.name;
  return err;
}

export class ExtractPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly size = defaultExtractThreads()) {}

  /** extractPage(html, baseUrl) on a pool thread; same result, same PageTooComplexError. */
  extract(html: string, baseUrl: string): Promise<ExtractedPage> {
    if (this.closed) return Promise.reject(new Error('the extraction pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, html, baseUrl }, resolve, reject });
      this.dispatch();
    });
  }

  /** Threads running a page now, and pages waiting for one. */
  get load(): { busy: number; queued: number } {
    return { busy: this.slots.filter((s) => s.task).length, queued: this.queue.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.queue.splice(0)) t.reject(new Error('the extraction pool is closed'));
    await Promise.all(this.slots.splice(0).map((s) => s.worker.terminate()));
  }

  private dispatch(): void {
    while (this.queue.length) {
      let slot = this.slots.find((s) => !s.task);
      if (!slot && this.slots.length < this.size) slot = this.start();
      if (!slot) return;
      const task = this.queue.shift()!;
      slot.task = task;
      slot.worker.ref(); // a page in progress keeps the process alive; an idle pool does not
      slot.worker.postMessage(task.request);
    }
  }

  private start(): Slot {
    const slot: Slot = { worker: spawn(), task: null };
    const finish = (fn: (task: Task) => void) => {
      const task = slot.task;
      slot.task = null;
      slot.worker.unref();
      if (task) fn(task);
    };
    slot.worker.on('message', (reply: ExtractReply) => {
      if (slot.task?.request.id !== reply.id) return;
      finish((task) => (reply.ok ? task.resolve(reply.page) : task.reject(toError(reply))));
      this.dispatch();
    });
    // A thread that dies (out of memory, say) fails its page only; the next page gets a new thread.
    const lost = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      finish((task) => task.reject(err));
      if (!this.closed) this.dispatch();
    };
    slot.worker.on('error', (err) => lost(err));
    slot.worker.on('exit', (code) => lost(new Error(`the extraction thread exited (code ${code})`)));
    slot.worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

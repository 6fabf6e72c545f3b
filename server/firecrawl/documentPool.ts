// Worker threads for the Firecrawl scrape's page work (parse, CSS selection,
// Markdown and HTML rendering): a large or hostile page stalls a thread, never
// the event loop that serves the API. The same shape as core/extractPool.ts.
import { Worker } from 'node:worker_threads';
import { defaultExtractThreads } from '../../core/extractPool.js';
import type { SelectedDocument, SelectionOptions } from '../../core/extraction/selection.js';
import { startThread } from '../../core/threads.js';

export interface DocumentRequest {
  id: number;
  html: string;
  baseUrl: string;
  options: SelectionOptions;
}

export type DocumentReply = { id: number; ok: true; document: SelectedDocument } | { id: number; ok: false; name: string; message: string };

/** How a page becomes a Firecrawl document: selectDocument itself, or the same on a pool thread. */
export type DocumentSelector = (html: string, baseUrl: string, options: SelectionOptions) => SelectedDocument | Promise<SelectedDocument>;

interface Task {
  request: DocumentRequest;
  resolve(document: SelectedDocument): void;
  reject(err: Error): void;
}

interface Slot {
  worker: Worker;
  task: Task | null;
}

/** From source (tsx) the thread registers tsx itself: Node 20 skips --import preloads in threads. */
function spawn(): Worker {
  return startThread(import.meta.url, 'documentThread');
}

export class DocumentPool {
  private readonly slots: Slot[] = [];
  private readonly queue: Task[] = [];
  private nextId = 1;

  constructor(private readonly size = defaultExtractThreads()) {}

  select: DocumentSelector = (html, baseUrl, options) =>
    new Promise((resolve, reject) => {
      this.queue.push({ request: { id: this.nextId++, html, baseUrl, options }, resolve, reject });
      this.dispatch();
    });

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
    slot.worker.on('message', (reply: DocumentReply) => {
      if (slot.task?.request.id !== reply.id) return;
      finish((task) => {
        if (reply.ok) task.resolve(reply.document);
        else task.reject(Object.assign(new Error(reply.message), { name: reply.name }));
      });
      this.dispatch();
    });
    // A thread that dies fails its page only; the next page gets a new thread.
    const lost = (err: Error) => {
      const i = this.slots.indexOf(slot);
      if (i < 0) return;
      this.slots.splice(i, 1);
      finish((task) => task.reject(err));
      this.dispatch();
    };
    slot.worker.on('error', lost);
    slot.worker.on('exit', (code) => lost(new Error(`the document thread exited (code ${code})`)));
    slot.worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

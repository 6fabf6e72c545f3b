// A small pool of worker threads that run extractPage (parse + extract) off
// the calling thread's event loop: POST /v1/scrape and the worker's crawls use
// it, so a 5 MB or hostile page costs the caller a copy of the HTML, not
// seconds of a blocked event loop (requests, heartbeats, claims). Each page
// has a time limit and each thread a heap limit: a page past either fails
// too_complex, and only that page.
import { PageTooComplexError, type ExtractedPage } from './extraction/index.js';
import { PipelineError } from './page/errors.js';
import { defaultPoolThreads, ThreadPool } from './threads.js';

export interface ExtractRequest {
  html: string;
  baseUrl: string;
}

/** Longest a page may take to extract (the extractor is near-linear: real pages take milliseconds, 5 MB ones well under a second). */
export const EXTRACT_TIME_LIMIT_MS = 30_000;
/** Heap of an extraction thread: a page at the fetch cap parses into far less. */
export const EXTRACT_THREAD_HEAP_MB = 512;

/** Threads a pool starts by default: one core is left to the event loop and the database driver. */
export const defaultExtractThreads = defaultPoolThreads;

export class ExtractPool {
  private readonly pool: ThreadPool<ExtractRequest, ExtractedPage>;

  constructor(size = defaultExtractThreads(), limits: { timeLimitMs?: number; heapMb?: number } = {}) {
    const timeLimitMs = limits.timeLimitMs ?? EXTRACT_TIME_LIMIT_MS;
    this.pool = new ThreadPool({
      callerUrl: import.meta.url,
      entry: 'extractThread',
      label: 'extraction',
      size,
      timeLimitMs,
      heapMb: limits.heapMb ?? EXTRACT_THREAD_HEAP_MB,
      toError: (reply) => {
        const depth = reply.props?.['depth'];
        if (reply.name === 'PageTooComplexError' && typeof depth === 'number') return new PageTooComplexError(depth);
        return Object.assign(new Error(reply.message), { name: reply.name });
      },
      limitError: (kind) =>
        new PipelineError('too_complex', kind === 'time' ? `the page took longer than ${timeLimitMs / 1000} s to extract; it is refused` : 'the page needs too much memory to extract; it is refused', false),
    });
  }

  /**
   * extractPage(html, baseUrl) on a pool thread; same result, same PageTooComplexError; PipelineError
   * too_complex past a limit. `owner` (the API key's id) keeps one key's slow pages from holding up another's.
   */
  extract(html: string, baseUrl: string, owner?: string): Promise<ExtractedPage> {
    return this.pool.run({ html, baseUrl }, owner);
  }

  /** Threads running a page now, and pages waiting for one. */
  get load(): { busy: number; queued: number } {
    return this.pool.load;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

let shared: ExtractPool | null = null;
let sharedLimits: { timeLimitMs?: number } = {};

/** The shared pool's per-page time limit (EXTRACT_TIME_LIMIT, set by the worker at start); a running pool is replaced. */
export function setSharedExtractLimits(limits: { timeLimitMs?: number }): void {
  sharedLimits = limits;
  const old = shared;
  shared = null;
  void old?.close();
}

/** extractPage on the process's shared pool (started on first use; idle threads never hold the process open). */
export function extractOffThread(html: string, baseUrl: string, owner?: string): Promise<ExtractedPage> {
  shared ??= new ExtractPool(defaultExtractThreads(), sharedLimits);
  return shared.extract(html, baseUrl, owner);
}

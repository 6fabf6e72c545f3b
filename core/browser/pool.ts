// A pool of browser contexts in one process: at most `concurrency` pages at
// once, each in a context of its own slot; a context is recycled after
// `pagesPerContext` pages (cookies, caches and leaks go with it), and the
// browser is launched again when it dies. The browser starts on first use,
// so a process that never renders never pays for one.
import { accessSync, constants } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Logger } from '../platform/logger.js';
import { PipelineError } from '../page/errors.js';
import type { PageGuard, RequestGuard } from './requestGuard.js';

/** Flags that work in containers and keep the browser from calling home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // WebRTC is not proxied through the request guard: no UDP of its own.
  '--force-webrtc-ip-handling-policy',
  '--webrtc-ip-handling-policy=disable_non_proxied_udp',
  // Page traffic is fulfilled by the request guard and never reaches the network stack. Anything the
  // browser would still open itself (preconnects, speculative loads) goes to a proxy that is not there,
  // loopback included (Chromium bypasses proxies for loopback unless told otherwise).
  '--proxy-server=http://127.0.0.1:9',
  '--proxy-bypass-list=<-loopback>',
];

/** Where Debian, Ubuntu and Chrome packages put the browser. */
const KNOWN_EXECUTABLES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export interface BrowserPoolOptions {
  /** A Chromium binary; unset: the first of KNOWN_EXECUTABLES that exists. */
  executable: string | undefined;
  /** A remote browser over CDP (ws:// or http:// endpoint); wins over `executable`. */
  wsUrl: string | undefined;
  concurrency: number;
  pagesPerContext: number;
  userAgent: string;
  viewport: { width: number; height: number };
}

export type BrowserSource = { kind: 'local'; executable: string } | { kind: 'remote'; endpoint: string } | { kind: 'none'; reason: string };

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Which browser this process would use, without starting it. */
export function resolveBrowserSource(opts: Pick<BrowserPoolOptions, 'executable' | 'wsUrl'>): BrowserSource {
  if (opts.wsUrl !== undefined) return { kind: 'remote', endpoint: opts.wsUrl };
  if (opts.executable !== undefined) {
    return isExecutable(opts.executable) ? { kind: 'local', executable: opts.executable } : { kind: 'none', reason: `BROWSER_EXECUTABLE ${opts.executable} is not an executable file` };
  }
  const found = KNOWN_EXECUTABLES.find(isExecutable);
  return found ? { kind: 'local', executable: found } : { kind: 'none', reason: 'no Chromium found (apt-get install -y chromium, or set BROWSER_EXECUTABLE or BROWSER_WS_URL)' };
}

const NO_SERVICE_WORKERS = `if (typeof ServiceWorkerContainer !== 'undefined') {
  ServiceWorkerContainer.prototype.register = function () { return Promise.reject(new DOMException('service workers are disabled while rendering', 'SecurityError')); };
}`;

interface Slot {
  context: BrowserContext | undefined;
  /** The browser the context belongs to: a context of a dead browser is dropped. */
  browser: Browser | undefined;
  pages: number;
}

/** Errors that mean the browser (or the page's renderer) went away under us. */
export function isBrowserGone(err: unknown): boolean {
  const msg = err instanceof Error ? err.message : String(err);
  return /Target (page, context or browser )?(has been )?closed|Browser has been closed|browser has disconnected|Target crashed|Page crashed|Connection closed/i.test(msg);
}

/** Thrown by a page's work when its time limit passed: its context is closed rather than reused. */
export class PageTimeoutError extends Error {
  constructor(readonly limitMs: number) {
    super(`the page did not finish rendering within ${limitMs} ms`);
    this.name = 'PageTimeoutError';
  }
}

async function withTimeout(work: Promise<unknown> | undefined, ms: number): Promise<void> {
  if (!work) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => {}), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

export class BrowserPool {
  readonly source: BrowserSource;
  private browser: Promise<Browser> | undefined;
  private readonly free: Slot[];
  private readonly waiters: Array<(slot: Slot) => void> = [];
  private closed = false;
  /** Launches so far (1 + relaunches after a death): for tests and metrics. */
  launches = 0;

  constructor(
    private readonly opts: BrowserPoolOptions,
    private readonly guard: RequestGuard,
    private readonly logger: Logger,
  ) {
    this.source = resolveBrowserSource(opts);
    this.free = Array.from({ length: opts.concurrency }, () => ({ context: undefined, browser: undefined, pages: 0 }));
  }

  get available(): boolean {
    return this.source.kind !== 'none';
  }

  /** The running browser, for tests that kill it; undefined before the first page. */
  async currentBrowser(): Promise<Browser | undefined> {
    return this.browser === undefined ? undefined : this.browser.catch(() => undefined);
  }

  private launch(): Promise<Browser> {
    const source = this.source;
    if (source.kind === 'none') throw new PipelineError('browser_unavailable', `no browser to render with: ${source.reason}`, false);
    const started = (async () => {
      const { chromium } = await import('playwright-core');
      const browser =
        source.kind === 'remote'
          ? await chromium.connectOverCDP(source.endpoint)
          : await chromium.launch({ executablePath: source.executable, headless: true, args: CHROMIUM_ARGS });
      this.launches++;
      browser.on('disconnected', () => {
        if (this.browser === started) this.browser = undefined;
        if (!this.closed) this.logger.warn('browser disconnected; it is started again for the next page', { launches: this.launches });
      });
      this.logger.info('browser started', { browser: source.kind === 'remote' ? 'remote (CDP)' : source.executable, version: browser.version() });
      return browser;
    })();
    this.browser = started;
    started.catch(() => {
      if (this.browser === started) this.browser = undefined;
    });
    return started;
  }

  private getBrowser(): Promise<Browser> {
    return this.browser ?? this.launch();
  }

  private async acquire(signal: AbortSignal): Promise<Slot> {
    const slot = this.free.pop();
    if (slot) return slot;
    return new Promise<Slot>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiters.indexOf(take);
        if (i !== -1) this.waiters.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      const take = (s: Slot) => {
        signal.removeEventListener('abort', onAbort);
        resolve(s);
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(take);
    });
  }

  private release(slot: Slot): void {
    const next = this.waiters.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }

  private async contextFor(slot: Slot): Promise<BrowserContext> {
    const browser = await this.getBrowser();
    if (slot.context && (slot.browser !== browser || slot.pages >= this.opts.pagesPerContext)) {
      await slot.context.close().catch(() => {});
      slot.context = undefined;
    }
    if (!slot.context) {
      const context = await browser.newContext({
        userAgent: this.opts.userAgent,
        viewport: this.opts.viewport,
        // Service workers would fetch outside page interception; WebSockets are refused below.
        serviceWorkers: 'block',
        javaScriptEnabled: true,
        acceptDownloads: false,
      });
      // 'block' keeps registered workers from intercepting; registration itself is refused too, in every frame.
      await context.addInitScript(NO_SERVICE_WORKERS);
      // WebSockets are not routed through the guard: none is ever connected (the mock route never calls connectToServer).
      await context.routeWebSocket(() => true, (ws) => ws.close({ code: 1008, reason: 'WebSockets are not available while rendering' }));
      slot.context = context;
      slot.browser = browser;
      slot.pages = 0;
    }
    return slot.context;
  }

  /**
   * Run `fn` on a fresh page whose every request goes through the request
   * guard. When the browser dies mid-page the page is tried once more on a
   * browser started again.
   */
  async withPage<T>(signal: AbortSignal, fn: (page: Page, guard: PageGuard) => Promise<T>, opts: { loadResources?: boolean } = {}): Promise<T> {
    if (this.closed) throw new PipelineError('browser_unavailable', 'the browser pool is shut down', true);
    const slot = await this.acquire(signal);
    try {
      for (let attempt = 1; ; attempt++) {
        let page: Page | undefined;
        try {
          const context = await this.contextFor(slot);
          slot.pages++;
          page = await context.newPage();
          const guard = this.guard.forPage(signal, { blockResources: opts.loadResources !== true });
          await page.route('**', (route) => guard.handle(route));
          return await fn(page, guard);
        } catch (err) {
          const gone = isBrowserGone(err);
          if (gone || err instanceof PageTimeoutError) {
            // The context (and its renderer) is not trusted again; a dead browser is not handed out again.
            page = undefined;
            await withTimeout(slot.context?.close(), 5000);
            slot.context = undefined;
            const browser = await this.browser?.catch(() => undefined);
            if (browser && !browser.isConnected()) this.browser = undefined;
          }
          if (attempt < 2 && gone && !signal.aborted && !this.closed) {
            this.logger.warn('browser went away mid-page; retrying the page', { attempt });
            continue;
          }
          throw err;
        } finally {
          await page?.close().catch(() => {});
        }
      }
    } finally {
      this.release(slot);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const browser = this.browser;
    this.browser = undefined;
    // Bounded: a browser that does not answer must not hold its process open.
    if (browser) await withTimeout(browser.then((b) => b.close()), 10_000);
    await this.guard.close();
  }
}

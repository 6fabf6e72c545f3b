// Public surface of browser rendering: one BrowserService per process (a pool
// of contexts on one browser, started on first use), renderPage for the
// pipeline and takeScreenshot for the screenshot endpoints.
import type { Config } from '../platform/config.js';
import { loadConfig } from '../platform/config.js';
import { createLogger, type Logger } from '../platform/logger.js';
import { outboundOptions } from '../outbound/index.js';
import type { OutboundOptions } from '../outbound/client.js';
import { PipelineError } from '../page/errors.js';
import { BrowserPool, resolveBrowserSource, type BrowserSource } from './pool.js';
import { renderPage, type RenderLimits, type RenderOptions, type RenderedPage, type Screenshot } from './render.js';
import { createRequestGuard } from './requestGuard.js';

export type { RenderedPage, RenderOptions, Screenshot, BrowserSource };
export { looksLikeAppShell } from './appShell.js';

export interface BrowserService {
  /** True when a local Chromium or a remote browser is configured. */
  readonly available: boolean;
  readonly source: BrowserSource;
  render(url: string, opts: RenderOptions): Promise<RenderedPage>;
  /** Launches so far: 0 until the first page (a static-only process never starts a browser). */
  launches(): number;
  /** The pool itself, for tests that kill the browser. */
  readonly pool: BrowserPool;
  close(): Promise<void>;
}

export interface BrowserServiceOptions {
  browser: Config['browser'];
  /** The fetcher's options: the same address policy and limits apply to every request a page makes. */
  outbound: OutboundOptions;
  logger: Logger;
  maxScreenshotHeight?: number;
}

export function createBrowserService(opts: BrowserServiceOptions): BrowserService {
  const guard = createRequestGuard(opts.outbound);
  const pool = new BrowserPool(
    {
      executable: opts.browser.executable,
      wsUrl: opts.browser.wsUrl,
      concurrency: opts.browser.concurrency,
      pagesPerContext: opts.browser.pagesPerContext,
      userAgent: opts.outbound.userAgent,
      viewport: { width: 1280, height: 800 },
    },
    guard,
    opts.logger,
  );
  const limits: RenderLimits = {
    pageTimeoutMs: opts.browser.pageTimeoutMs,
    maxWaitForMs: opts.browser.maxWaitForMs,
    networkIdleMs: opts.browser.networkIdleMs,
    maxScrolls: opts.browser.maxScrolls,
    maxHtmlBytes: opts.outbound.maxBodyBytes,
    maxScreenshotHeight: opts.maxScreenshotHeight ?? 16_384,
  };
  const source = pool.source;
  if (source.kind === 'none') opts.logger.info('browser rendering unavailable: pages that need JavaScript are read without it', { reason: source.reason });
  else opts.logger.info('browser rendering available (started on first use)', { browser: source.kind === 'remote' ? 'remote (CDP)' : source.executable });
  return {
    available: pool.available,
    source,
    pool,
    launches: () => pool.launches,
    render(url, renderOpts) {
      if (!pool.available) return Promise.reject(browserUnavailable(source));
      return renderPage(pool, limits, url, renderOpts);
    },
    close: () => pool.close(),
  };
}

export function browserUnavailable(source: BrowserSource): PipelineError {
  const reason = source.kind === 'none' ? source.reason : 'the browser is not available';
  return new PipelineError('browser_unavailable', `this page needs a browser to render, and none is available: ${reason}`, false);
}

/** Which browser the environment's configuration points at, without starting it. */
export function configuredBrowserSource(): BrowserSource {
  const { browser } = loadConfig();
  return resolveBrowserSource({ executable: browser.executable, wsUrl: browser.wsUrl });
}

let shared: BrowserService | undefined;

/** The process's browser service: set up by the process (setSharedBrowser) or, on first use, from the environment. */
export function sharedBrowser(): BrowserService {
  if (!shared) {
    const config = loadConfig();
    shared = createBrowserService({ browser: config.browser, outbound: outboundOptions(config), logger: createLogger(config.logLevel, { service: 'gleaner-browser' }) });
  }
  return shared;
}

/** Install the process's browser service (a worker or API process at start, or a test). */
export function setSharedBrowser(service: BrowserService | undefined): void {
  shared = service;
}

export interface ScreenshotOptions {
  /** The whole page (cut at 16,384 px) instead of the viewport (1280×800). */
  fullPage?: boolean;
  signal?: AbortSignal;
  /** Extra time for scripts before the picture (ms), capped by BROWSER_MAX_WAIT_FOR. */
  waitForMs?: number;
}

export interface ScreenshotResult extends Screenshot {
  /** The URL asked for, and where it ended after redirects. */
  url: string;
  finalUrl: string;
  statusCode: number;
  title: string | undefined;
}

/**
 * A PNG of the page as the browser shows it, through the shared browser
 * service (every request under the SSRF policy). Fails with PipelineError
 * `browser_unavailable` without a browser, OutboundError for the page's own
 * failures (blocked_address, http_status, timeout, …).
 */
export async function takeScreenshot(url: string, opts: ScreenshotOptions = {}): Promise<ScreenshotResult> {
  const service = sharedBrowser();
  const page = await service.render(url, { signal: opts.signal ?? new AbortController().signal, waitForMs: opts.waitForMs, screenshot: opts.fullPage === true ? 'fullPage' : 'viewport' });
  const shot = page.screenshot;
  if (!shot) throw new PipelineError('render_failed', `no screenshot was taken of ${url}`, true, { url });
  const title = page.title.trim();
  return { ...shot, url, finalUrl: page.url, statusCode: page.status, title: title === '' ? undefined : title };
}

// One page rendered in the browser pool: navigate, let scripts run (load,
// a capped network-idle wait, an optional waitFor, a few scrolls for lazy
// content), then read the DOM and optionally take a screenshot. Every step
// runs under the page's time limit.
import type { Page } from 'playwright-core';
import type { FetchedPage } from '../page/scrape.js';
import { OutboundError } from '../outbound/errors.js';
import { PipelineError } from '../page/errors.js';
import { PageTimeoutError, type BrowserPool } from './pool.js';
import type { GuardStats } from './requestGuard.js';

export interface RenderLimits {
  /** Whole render of one page, navigation to screenshot. */
  pageTimeoutMs: number;
  /** Cap on a request's waitFor. */
  maxWaitForMs: number;
  /** Cap on the wait for the network to go quiet after load. */
  networkIdleMs: number;
  /** Scroll steps to reveal lazy or endless content (0: none). */
  maxScrolls: number;
  /** Largest DOM read back, in bytes (the fetcher's body limit). */
  maxHtmlBytes: number;
  /** A full-page screenshot is cut at this height, so an endless page cannot make an endless image. */
  maxScreenshotHeight: number;
}

export interface Screenshot {
  /** PNG, base64. */
  base64: string;
  contentType: 'image/png';
  fullPage: boolean;
  width: number;
  height: number;
}

export interface RenderOptions {
  signal: AbortSignal;
  /** Extra time for scripts after the page settled (ms), capped by maxWaitForMs. */
  waitForMs?: number | undefined;
  screenshot?: 'viewport' | 'fullPage' | undefined;
}

export interface RenderedPage extends FetchedPage {
  rendered: true;
  /** document.title after scripts ran ('' when none). */
  title: string;
  screenshot?: Screenshot;
  requests: GuardStats;
}

const HTML_TYPES = new Set(['text/html', 'application/xhtml+xml', 'text/plain']);
const SCROLL_PAUSE_MS = 150;

function essence(contentType: string | undefined): string | null {
  const e = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  return e === '' ? null : e;
}

async function timeLimited<T>(limitMs: number, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PageTimeoutError(limitMs)), limitMs);
  });
  const running = work();
  running.catch(() => {}); // after a timeout its failure (the page closed under it) is nobody's business
  try {
    return await Promise.race([running, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Scroll to the bottom until the page stops growing, at most `steps` times. */
async function scrollForLazyContent(page: Page, steps: number): Promise<void> {
  let height = 0;
  for (let i = 0; i < steps; i++) {
    // Strings, not functions: this code runs in the page, and the project has no DOM types.
    const next = await page.evaluate<number>('(() => { const h = document.documentElement.scrollHeight; window.scrollTo(0, h); return h; })()');
    if (next === height) return;
    height = next;
    await page.waitForTimeout(SCROLL_PAUSE_MS);
  }
}

export async function renderPage(pool: BrowserPool, limits: RenderLimits, url: string, opts: RenderOptions): Promise<RenderedPage> {
  const started = performance.now();
  try {
    return await pool.withPage(
      opts.signal,
      (page, guard) =>
        timeLimited(limits.pageTimeoutMs, async () => {
          page.setDefaultTimeout(limits.pageTimeoutMs);
          const response = await page.goto(url, { waitUntil: 'domcontentloaded' }).catch((err: unknown) => {
            throw guard.documentError ?? err;
          });
          if (guard.documentError) throw guard.documentError;
          if (!response) throw new PipelineError('render_failed', `the browser got no response for ${url}`, true, { url });
          const finalUrl = response.url();
          const status = response.status();
          if (status < 200 || status > 299) throw new OutboundError('http_status', finalUrl, `server responded with HTTP ${status}`, { status });
          const contentType = essence(response.headers()['content-type']);
          if (contentType !== null && !HTML_TYPES.has(contentType)) {
            throw new OutboundError('unsupported_content_type', finalUrl, `unsupported content type ${contentType}`);
          }
          await page.waitForLoadState('load').catch(() => {});
          // A page that never goes quiet (polling, long-poll) is read as it is once the cap passes.
          await page.waitForLoadState('networkidle', { timeout: limits.networkIdleMs }).catch(() => {});
          const waitFor = Math.min(Math.max(0, opts.waitForMs ?? 0), limits.maxWaitForMs);
          if (waitFor > 0) await page.waitForTimeout(waitFor);
          await scrollForLazyContent(page, limits.maxScrolls);
          const html = await page.content();
          const bytes = Buffer.byteLength(html);
          if (bytes > limits.maxHtmlBytes) throw new OutboundError('too_large', finalUrl, `rendered page exceeded ${limits.maxHtmlBytes} bytes`);
          const redirects: string[] = [];
          for (let r = response.request().redirectedFrom(); r; r = r.redirectedFrom()) redirects.unshift(r.url());
          const rendered: RenderedPage = {
            requestedUrl: url,
            url: finalUrl,
            status,
            contentType: contentType ?? 'text/html',
            charset: 'utf-8',
            html,
            bytes,
            redirects,
            fetchedAt: new Date().toISOString(),
            durationMs: 0,
            rendered: true,
            title: await page.title(),
            requests: guard.stats,
          };
          if (opts.screenshot) rendered.screenshot = await capture(page, opts.screenshot === 'fullPage', limits.maxScreenshotHeight);
          rendered.durationMs = performance.now() - started;
          return rendered;
        }),
      { loadResources: opts.screenshot !== undefined },
    );
  } catch (err) {
    if (err instanceof PageTimeoutError) throw new OutboundError('timeout', url, err.message, { cause: err });
    throw err;
  }
}

async function capture(page: Page, fullPage: boolean, maxHeight: number): Promise<Screenshot> {
  const viewport = page.viewportSize() ?? { width: 1280, height: 800 };
  await page.evaluate('window.scrollTo(0, 0)');
  const docHeight = fullPage ? await page.evaluate<number>('Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0)') : viewport.height;
  const height = Math.min(Math.max(docHeight, 1), fullPage ? maxHeight : viewport.height);
  const png = await page.screenshot({ type: 'png', fullPage, ...(fullPage && docHeight > maxHeight ? { clip: { x: 0, y: 0, width: viewport.width, height } } : {}) });
  return { base64: png.toString('base64'), contentType: 'image/png', fullPage, width: viewport.width, height };
}

// Where a page's HTML comes from: the static fetch, or the browser. `render`
// on a request: never (static only), always (browser only), auto (static
// first; the browser only when the HTML looks like an app shell, or its
// extraction yields too little text). Without a browser, auto keeps the
// static page with a warning and always fails `browser_unavailable`.
import type { Logger } from '../platform/logger.js';
import type { OutboundClient } from '../outbound/index.js';
import { fetchHtmlPage, type FetchedPage } from '../page/scrape.js';
import { looksLikeAppShell } from './appShell.js';
import { browserUnavailable, type BrowserService } from './index.js';

export const RENDER_MODES = ['auto', 'always', 'never'] as const;
export type RenderMode = (typeof RENDER_MODES)[number];

/** Extracted text below this many characters makes auto try the browser (when the page has scripts). */
export const THIN_TEXT_CHARS = 100;

export interface PageRendering {
  mode: RenderMode;
  /** Extra time for scripts (ms), capped by BROWSER_MAX_WAIT_FOR. */
  waitForMs?: number | undefined;
  /** A screenshot always renders. */
  screenshot?: 'viewport' | 'fullPage' | undefined;
  browser: BrowserService | undefined;
}

interface SourceOptions {
  signal: AbortSignal;
  logger: Logger;
  rendering?: PageRendering | undefined;
}

/** The page to extract: static, or rendered when the request or the page calls for it. */
export async function fetchPageSource(client: OutboundClient, url: string, opts: SourceOptions): Promise<FetchedPage> {
  const r = opts.rendering;
  if (r && (r.mode === 'always' || r.screenshot !== undefined)) {
    if (!r.browser?.available) throw browserUnavailable(r.browser?.source ?? { kind: 'none', reason: 'rendering is not set up in this process' });
    return r.browser.render(url, { signal: opts.signal, waitForMs: r.waitForMs, screenshot: r.screenshot });
  }
  const page = await fetchHtmlPage(client, url, opts);
  if (!r || r.mode === 'never') return page;
  const verdict = looksLikeAppShell(page.html);
  if (!verdict.render) return page;
  return renderInstead(page, r, `it looks like an app shell (${verdict.signs.join(', ')})`, opts);
}

/** Auto's second look: a statically fetched page whose extraction found too little text, rendered if it has scripts. */
export function worthRendering(page: FetchedPage, extractedText: string, r: PageRendering | undefined): boolean {
  return r?.mode === 'auto' && page.rendered !== true && extractedText.trim().length < THIN_TEXT_CHARS && /<script/i.test(page.html);
}

/**
 * Render a statically fetched page instead. Without a browser, or when the
 * render fails, the static page stands, with a warning saying so.
 */
export async function renderInstead(page: FetchedPage, r: PageRendering, why: string, opts: SourceOptions): Promise<FetchedPage> {
  const warn = (warning: string): FetchedPage => ({ ...page, warnings: [...(page.warnings ?? []), warning] });
  if (!r.browser?.available) {
    opts.logger.debug('page needs rendering, no browser', { url: page.url });
    return warn(`this page was not rendered although ${why}: no browser is available, so the content is what the server sent`);
  }
  try {
    const rendered = await r.browser.render(page.url, { signal: opts.signal, waitForMs: r.waitForMs });
    opts.logger.debug('page rendered', { url: page.url, why, ms: Math.round(rendered.durationMs) });
    return { ...rendered, requestedUrl: page.requestedUrl };
  } catch (err) {
    if (opts.signal.aborted) throw err;
    const code = (err as { code?: unknown }).code;
    opts.logger.warn('rendering failed; the static page is used', { url: page.url, code: typeof code === 'string' ? code : 'internal' });
    return warn(`this page was not rendered although ${why}: rendering failed (${typeof code === 'string' ? code : 'internal_error'}), so the content is what the server sent`);
  }
}

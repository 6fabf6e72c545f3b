// Firecrawl's scrape: one page fetched through the guarded client (the
// client's headers included) and rendered in the requested formats, as a
// Firecrawl document. No job and no indexing, like POST /v1/scrape.
import { clientMessage } from '../../core/outbound/clientMessage.js';
import { decodeHtml } from '../../core/extraction/index.js';
import type { BrowserService, Screenshot } from '../../core/browser/index.js';
import { OutboundError, type FetchedResponse, type OutboundClient } from '../../core/outbound/index.js';
import { PipelineError } from '../../core/page/errors.js';
import type { SelectedDocument } from '../../core/extraction/selection.js';
import type { DocumentSelector } from './documentPool.js';
import { FirecrawlError } from './errors.js';
import type { Format, ScrapeOptions } from './schemas.js';

const HTML_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain'];
const SUPPORTED: readonly string[] = ['markdown', 'html', 'rawHtml', 'links', 'screenshot', 'screenshot@fullPage'];

/** The formats asked for, deduplicated; markdown when none. A format Gleaner cannot produce is a 400 naming it. */
export function requestedFormats(formats: string[] | undefined, field = 'formats'): Set<Format> {
  const out = new Set<Format>();
  for (const [i, f] of (formats ?? ['markdown']).entries()) {
    if (!SUPPORTED.includes(f)) {
      throw new FirecrawlError(400, `${field}.${i}: the format "${f}" is not supported by Gleaner (supported: ${SUPPORTED.join(', ')})`, [{ field: `${field}.${i}`, message: `unsupported format ${f}` }]);
    }
    out.add(f as Format);
  }
  return out;
}

export interface FirecrawlMetadata {
  title?: string;
  description?: string;
  language?: string;
  sourceURL: string;
  url: string;
  statusCode: number;
  contentType?: string;
  error?: string;
  [og: string]: unknown;
}

export interface FirecrawlDocument {
  markdown?: string;
  /** A PNG as a data: URL. */
  screenshot?: string;
  html?: string;
  rawHtml?: string;
  links?: string[];
  metadata: FirecrawlMetadata;
}

function metadataOf(doc: SelectedDocument, sourceURL: string, url: string, statusCode: number, contentType: string | null): FirecrawlMetadata {
  const m = doc.metadata;
  return {
    ...doc.openGraph,
    ...(m.title ? { title: m.title } : {}),
    ...(m.description ? { description: m.description } : {}),
    ...(m.language ? { language: m.language } : {}),
    ...(m.siteName ? { siteName: m.siteName } : {}),
    ...(m.author ? { author: m.author } : {}),
    ...(m.publishedAt ? { publishedTime: m.publishedAt } : {}),
    ...(m.canonicalUrl ? { canonicalUrl: m.canonicalUrl } : {}),
    sourceURL,
    url,
    statusCode,
    ...(contentType ? { contentType } : {}),
  };
}

export interface ScrapeDeps {
  client: OutboundClient;
  select: DocumentSelector;
  /** The process's browser (core/browser), asked for only when a page must be rendered. */
  browser: () => BrowserService;
}

/**
 * A screenshot, or waitFor when a browser is configured, renders the page;
 * everything else is a plain fetch. The browser does not send client headers,
 * so waitFor with `headers` is a plain fetch that keeps them.
 */
async function loadPage(deps: ScrapeDeps, url: string, options: ScrapeOptions, formats: Set<Format>, signal: AbortSignal): Promise<FetchedResponse & { screenshot?: Screenshot }> {
  const shot = formats.has('screenshot@fullPage') ? 'fullPage' : formats.has('screenshot') ? 'viewport' : undefined;
  const wantsRender = shot !== undefined || ((options.waitFor ?? 0) > 0 && !options.headers);
  const browser = wantsRender ? deps.browser() : null;
  if (shot !== undefined && !browser?.available) {
    const reason = browser?.source.kind === 'none' ? browser.source.reason : 'no browser is configured';
    throw new FirecrawlError(400, `formats: the screenshot format is not available: ${reason}`, [{ field: 'formats', message: 'screenshot is not available' }], 'FORMAT_UNAVAILABLE');
  }
  if (browser?.available) {
    const page = await browser.render(url, { signal, waitForMs: options.waitFor, screenshot: shot });
    const body = new TextEncoder().encode(page.html);
    return { url: page.url, status: page.status, headers: { 'content-type': `${page.contentType ?? 'text/html'}; charset=utf-8` }, contentType: page.contentType, body, redirects: page.redirects, durationMs: page.durationMs, ...(page.screenshot ? { screenshot: page.screenshot } : {}) };
  }
  return deps.client.fetch(url, { signal, accept: HTML_TYPES, ...(options.headers ? { headers: options.headers } : {}) });
}

/**
 * Fetch and render one page. An upstream answer outside 2xx is a document
 * with its status code and `error` in the metadata (as Firecrawl does); a
 * refused destination, a timeout or an unusable body is a FirecrawlError.
 */
export async function scrapeDocument(deps: ScrapeDeps, url: string, options: ScrapeOptions, signal: AbortSignal): Promise<FirecrawlDocument> {
  const formats = requestedFormats(options.formats);
  const timeout = options.timeout === undefined ? null : AbortSignal.timeout(options.timeout);
  let response;
  try {
    response = await loadPage(deps, url, options, formats, timeout ? AbortSignal.any([signal, timeout]) : signal);
  } catch (err) {
    if (timeout?.aborted) throw new FirecrawlError(408, `scrape timed out after ${options.timeout} ms`, undefined, 'SCRAPE_TIMEOUT');
    if (err instanceof PipelineError) throw new FirecrawlError(err.code === 'browser_unavailable' ? 400 : 422, err.message, { code: err.code }, err.code.toUpperCase());
    if (err instanceof OutboundError) {
      if (err.code === 'http_status' && err.status !== undefined) {
        return { ...(formats.has('markdown') ? { markdown: '' } : {}), metadata: { sourceURL: url, url: err.url, statusCode: err.status, error: err.message } };
      }
      if (err.code === 'blocked_address' || err.code === 'invalid_url' || err.code === 'unsupported_protocol') {
        const message = clientMessage(err);
        throw new FirecrawlError(400, `url: ${message}`, [{ field: 'url', message }], 'BLOCKED_URL');
      }
      if (err.code === 'timeout') throw new FirecrawlError(408, err.message, undefined, 'SCRAPE_TIMEOUT');
      if (err.code === 'too_large' || err.code === 'unsupported_content_type') throw new FirecrawlError(422, err.message, { url: err.url }, 'UNPROCESSABLE_PAGE');
      throw new FirecrawlError(502, err.message, { url: err.url, code: err.code }, 'UPSTREAM_ERROR');
    }
    throw err;
  }
  if (response.body.includes(0)) throw new FirecrawlError(422, `the response from ${response.url} is binary, not an HTML page`, { url: response.url }, 'NOT_HTML');
  const { html } = decodeHtml(response.body, response.headers['content-type'] ?? response.contentType);
  let doc: SelectedDocument;
  try {
    doc = await deps.select(html, response.url, {
      onlyMainContent: options.onlyMainContent ?? true,
      includeTags: options.includeTags,
      excludeTags: options.excludeTags,
      html: formats.has('html'),
    });
  } catch (err) {
    const name = (err as Error | null)?.name;
    if (name === 'SelectionTooComplexError' || name === 'PageTooComplexError') throw new FirecrawlError(422, (err as Error).message, { url: response.url }, 'UNPROCESSABLE_PAGE');
    throw err;
  }
  return {
    ...(formats.has('markdown') ? { markdown: doc.markdown } : {}),
    ...(formats.has('html') && doc.html !== null ? { html: doc.html } : {}),
    ...(formats.has('rawHtml') ? { rawHtml: html } : {}),
    ...(formats.has('links') ? { links: doc.links } : {}),
    ...(response.screenshot ? { screenshot: `data:${response.screenshot.contentType};base64,${response.screenshot.base64}` } : {}),
    metadata: metadataOf(doc, url, response.url, response.status, response.headers['content-type'] ?? response.contentType),
  };
}

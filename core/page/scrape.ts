// One page, fetched through the guarded client and extracted: what a job's
// pipeline does per page and what POST /v1/scrape returns without a job.
import type { PageRendering } from '../browser/pageSource.js';
import type { Screenshot } from '../browser/render.js';
import type { Logger } from '../platform/logger.js';
import { pdfToHtml, readPdf } from '../pdf/index.js';
import { decodeHtml, extractPage, type ExtractedPage } from '../extraction/index.js';
import type { OutboundClient } from '../outbound/index.js';
import { PipelineError } from './errors.js';

export interface FetchedPage {
  requestedUrl: string;
  url: string;
  status: number;
  contentType: string | null;
  charset: string;
  html: string;
  bytes: number;
  redirects: string[];
  fetchedAt: string;
  durationMs: number;
  /** Read from the browser's DOM after scripts ran (core/browser). */
  rendered?: boolean;
  /** What the client should know about how the page was read (e.g. it needed a browser and none was available). */
  warnings?: string[];
  screenshot?: Screenshot;
  /** For a PDF: its page count and document metadata. */
  pdf?: { pages: number; title: string | null; author: string | null; createdAt: string | null };
}

const HTML_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain', 'application/pdf'];

function isPdf(contentType: string | null, body: Uint8Array): boolean {
  return contentType === 'application/pdf' || Buffer.from(body.subarray(0, 5)).toString('latin1') === '%PDF-';
}

/** GET the page and decode it to text; binary bodies are refused as not_html. */
export async function fetchHtmlPage(client: OutboundClient, url: string, opts: { signal: AbortSignal; logger: Logger }): Promise<FetchedPage> {
  const response = await client.fetch(url, { signal: opts.signal, accept: HTML_TYPES });
  if (isPdf(response.contentType, response.body)) {
    const pdf = await readPdf(response.body, { signal: opts.signal });
    if (pdf.pages.every((text) => text.trim() === '')) {
      throw new PipelineError('empty_content', `the PDF at ${response.url} has no text (text in scanned images is not read)`, false, { url: response.url });
    }
    const html = pdfToHtml(pdf, decodeURIComponent(new URL(response.url).pathname.split('/').pop() || response.url));
    opts.logger.debug('PDF read', { url: response.url, pages: pdf.totalPages, bytes: response.body.length, ms: response.durationMs });
    return {
      requestedUrl: url,
      url: response.url,
      status: response.status,
      contentType: 'application/pdf',
      charset: 'utf-8',
      html,
      bytes: response.body.length,
      redirects: response.redirects,
      fetchedAt: new Date().toISOString(),
      durationMs: response.durationMs,
      pdf: { pages: pdf.totalPages, title: pdf.title ?? null, author: pdf.author ?? null, createdAt: pdf.created ?? null },
    };
  }
  if (response.body.includes(0)) {
    throw new PipelineError('not_html', `the response from ${response.url} is binary, not an HTML page`, false, { url: response.url });
  }
  const { html, charset } = decodeHtml(response.body, response.contentType);
  opts.logger.debug('page fetched', { url: response.url, status: response.status, bytes: response.body.length, ms: response.durationMs });
  return {
    requestedUrl: url,
    url: response.url,
    status: response.status,
    contentType: response.contentType,
    charset,
    html,
    bytes: response.body.length,
    redirects: response.redirects,
    fetchedAt: new Date().toISOString(),
    durationMs: response.durationMs,
  };
}

/** The public description of one page: metadata, Markdown, text, headings and links. */
export function describePage(page: FetchedPage, content: ExtractedPage) {
  return {
    url: page.requestedUrl,
    finalUrl: page.url,
    statusCode: page.status,
    contentType: page.contentType,
    charset: page.charset,
    fetchedAt: page.fetchedAt,
    title: content.title,
    description: content.description,
    language: content.language,
    canonicalUrl: content.canonicalUrl,
    metadata: { siteName: content.siteName, author: content.author, publishedAt: content.publishedAt },
    markdown: content.markdown,
    text: content.text,
    headings: content.headings,
    links: content.links,
    rendered: page.rendered === true,
    ...(page.warnings && page.warnings.length > 0 ? { warnings: page.warnings } : {}),
    ...(page.screenshot ? { screenshot: page.screenshot } : {}),
    ...(page.pdf ? { pdf: page.pdf } : {}),
  };
}
export type PageDescription = ReturnType<typeof describePage>;

/** How a page's HTML becomes its content: extractPage itself, or the same on another thread (ExtractPool), where `owner` (the API key's id) keeps one key's slow pages from holding up another's. */
export type Extractor = (html: string, baseUrl: string, owner?: string) => ExtractedPage | Promise<ExtractedPage>;

/** Wraps each request to the page's site: a worker holds a shared host slot through it (core/crawlTasks/hosts.ts). */
export type HostHold = <T>(request: () => Promise<T>) => Promise<T>;

/** Fetch and extract one page; a page without text is an error (empty_content). `hold` wraps the fetch and a render, not the extraction. */
export async function scrapePage(client: OutboundClient, url: string, opts: { signal: AbortSignal; logger: Logger; extract?: Extractor; owner?: string; rendering?: PageRendering | undefined; hold?: HostHold | undefined }): Promise<PageDescription> {
  // Imported here: core/browser imports this module, and loading playwright-core is left to the first render.
  const { fetchPageSource, renderInstead, worthRendering } = await import('../browser/pageSource.js');
  const extract = opts.extract ?? extractPage;
  const hold: HostHold = opts.hold ?? ((request) => request());
  let page = await hold(() => fetchPageSource(client, url, opts));
  let content = await extract(page.html, page.url, opts.owner);
  if (opts.rendering && worthRendering(page, content.text, opts.rendering)) {
    const fetched = page;
    page = await hold(() => renderInstead(fetched, opts.rendering!, 'its extracted text is short', opts));
    if (page.rendered) content = await extract(page.html, page.url, opts.owner);
  }
  if (!content.text.trim()) {
    throw new PipelineError('empty_content', `no text content found at ${page.url}`, false, { url: page.url });
  }
  return describePage(page, content);
}

// The service's pipeline: crawl → extract → chunk → embed → categorise →
// index, page by page. Chunks of several pages share embedding batches, so
// small pages still fill the model's batch; a page is indexed as soon as its
// last chunk has a vector, while the crawler keeps fetching ahead.
import { createHash } from 'node:crypto';
import { categorize, meanVector, type Category } from '../../core/page/categories.js';
import { jsonLdFromHtml, jsonLdTypes, type PageEvidence } from '../../core/page/evidence.js';
import type { HostSlots } from '../../core/crawlTasks/hosts.js';
import type { Embedder } from '../../core/embeddings/types.js';
import type { ExtractedPage } from '../../core/extraction/index.js';
import type { BrowserService } from '../../core/browser/index.js';
import type { Knowledge } from '../../core/modelAndIndex.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import type { FetchedPage } from '../../core/page/scrape.js';
import type { IndexedChunk, SearchIndex } from '../../core/search/types.js';
import { crawlProfile } from './businessProfile.js';
import { chunkMarkdown, type Chunk } from './chunk.js';
import { crawlSite, type CrawlOptions } from './crawl/crawler.js';
import type { Pipeline, StepContext } from './types.js';

export interface KnowledgePipelineOptions {
  crawl: Omit<CrawlOptions, 'maxPages'>;
  chunking: { maxTokens: number; overlapTokens: number };
  /** Texts per model call; a multiple of the embedder's own batch size keeps batches full. */
  batchSize: number;
}

interface PageEntry {
  url: string;
  page: FetchedPage;
  content: ExtractedPage;
  chunks: Chunk[];
  vectors: (Float32Array | undefined)[];
  waiting: number;
}

export interface KnowledgeItem {
  title: string;
  description: string;
  content: string;
  category: Category;
  source: string;
}

/** Stable per tenant, url and position, so re-indexing a page overwrites its chunks. */
export function chunkId(tenant: string, url: string, position: number): string {
  return `chk_${createHash('sha256').update(`${tenant}\n${url}\n${position}`).digest('base64url').slice(0, 32)}`;
}

/** What the model sees for a chunk: its page title and heading path give short passages their context. */
export function embeddingText(title: string, chunk: Pick<Chunk, 'headingPath' | 'content'>): string {
  const context = [title, ...chunk.headingPath].filter(Boolean).join(' › ');
  return context ? `${context}\n${chunk.content}` : chunk.content;
}

/** Up to 300 characters, cut between code points: half a surrogate pair is not text (jsonb refuses it). */
export function firstSentence(text: string): string {
  const match = /^(.{20,300}?[.!?])(\s|$)/su.exec(text.trim());
  return (match?.[1] ?? text.trim().slice(0, 300).replace(/[\uD800-\uDBFF]$/, '')).replace(/\s+/g, ' ');
}

/** What the page says about itself, for its category: URL, title, headings (top level first), JSON-LD types. */
export function pageEvidence(entry: { url: string; page: FetchedPage; content: ExtractedPage }): PageEvidence {
  const headings = [...entry.content.headings].sort((a, b) => a.level - b.level).map((h) => h.text);
  return { url: entry.url, title: entry.content.title, headings, jsonLdTypes: jsonLdFromHtml(entry.page.html).flatMap(jsonLdTypes) };
}

function domainOf(url: string): string {
  return new URL(url).hostname.replace(/^www\./, '');
}

/** `hosts`: the host limits shared by every worker and job (a worker's); each of the crawl's requests holds one of its slots. */
export function knowledgePipeline(deps: { client: OutboundClient; knowledge: Knowledge; options: KnowledgePipelineOptions; browser?: BrowserService; hosts?: HostSlots }): Pipeline {
  return async (input, ctx) => {
    const [embedder, index] = await Promise.all([deps.knowledge.embedder(), deps.knowledge.index()]);
    const rendering = { mode: input.render ?? 'auto', waitForMs: input.waitFor, browser: deps.browser };
    return runKnowledgeJob(input, { ...ctx, rendering }, { client: deps.client, hosts: deps.hosts, embedder, index, options: deps.options });
  };
}

async function runKnowledgeJob(
  input: Parameters<Pipeline>[0],
  ctx: StepContext,
  deps: { client: OutboundClient; hosts: HostSlots | undefined; embedder: Embedder; index: SearchIndex; options: KnowledgePipelineOptions },
) {
  const { embedder, index, options } = deps;
  const started = Date.now();
  const tenant = ctx.apiKeyId;
  const items: (KnowledgeItem & { chunks: number; url: string })[] = [];
  const open: PageEntry[] = [];
  const queue: { entry: PageEntry; i: number; text: string }[] = [];
  let pagesScraped = 0;
  let totalPages = 0;
  let chunksIndexed = 0;
  let embedMs = 0;

  // The crawler reports crawl progress; the indexing counts are merged in here.
  const report = (currentStep: string) => ctx.progress({ currentStep, pagesScraped, totalPages, pagesIndexed: items.length, chunksIndexed });
  const crawlCtx: StepContext = {
    ...ctx,
    progress: (update) => {
      if (typeof update.pagesScraped === 'number') pagesScraped = update.pagesScraped;
      if (typeof update.totalPages === 'number') totalPages = update.totalPages;
      report('crawl');
    },
  };

  const finish = async (entry: PageEntry) => {
    const vectors = entry.vectors as Float32Array[];
    const { category } = await categorize(embedder, meanVector(vectors), pageEvidence(entry));
    const title = entry.content.title ?? entry.url;
    const chunks: IndexedChunk[] = entry.chunks.map((c, i) => ({
      id: chunkId(tenant, entry.url, c.position),
      jobId: ctx.jobId,
      url: entry.url,
      title,
      headingPath: c.headingPath,
      content: c.content,
      category,
      position: c.position,
      embedding: vectors[i] as Float32Array,
    }));
    // Fenced: an attempt that lost the job (reaped, rescued, cancelled) writes nothing.
    await index.replacePage(tenant, entry.url, chunks, ctx.fence);
    chunksIndexed += chunks.length;
    items.push({
      title,
      description: entry.content.description ?? firstSentence(entry.content.text),
      content: entry.content.markdown,
      category,
      source: entry.url,
      url: entry.url,
      chunks: chunks.length,
    });
    report('index');
  };

  // Embed whole batches while pages keep arriving; `all` drains the remainder at the end.
  const embedQueued = async (all: boolean) => {
    while (queue.length >= options.batchSize || (all && queue.length > 0)) {
      const batch = queue.splice(0, options.batchSize);
      const t0 = performance.now();
      const vectors = await embedder.embed(
        batch.map((b) => b.text),
        { signal: ctx.signal },
      );
      embedMs += performance.now() - t0;
      batch.forEach((b, k) => {
        b.entry.vectors[b.i] = vectors[k];
        b.entry.waiting--;
      });
      // Index finished pages in crawl order.
      while (open[0] && open[0].waiting === 0) await finish(open.shift() as PageEntry);
    }
  };

  const crawl = crawlSite(input, { ...options.crawl, maxPages: input.maxPages }, { client: deps.client, hosts: deps.hosts }, crawlCtx);
  for await (const crawled of crawl.pages) {
    const chunks = await chunkMarkdown(crawled.content.markdown, { ...options.chunking, countTokens: (texts) => embedder.countTokens(texts, { signal: ctx.signal }) });
    if (chunks.length === 0) continue;
    const entry: PageEntry = { url: crawled.url, page: crawled.page, content: crawled.content, chunks, vectors: [], waiting: chunks.length };
    open.push(entry);
    const title = crawled.content.title ?? crawled.url;
    chunks.forEach((c, i) => queue.push({ entry, i, text: embeddingText(title, c) }));
    report('embed');
    await embedQueued(false);
  }
  await embedQueued(true);
  const summary = await crawl.summary;

  const home = summary.pages[0];
  const site = home ? { name: home.content.siteName ?? null, description: home.content.description ?? null, domain: domainOf(home.url), language: home.content.language ?? null } : null;
  // A /v1/business job's business is the full profile (KnowledgeSDK's shape) alongside the site's own metadata.
  const profile = input.profile ? await crawlProfile(summary.pages, new Map(items.map((i) => [i.url, i.category])), embedder, ctx.signal) : null;
  const business = site && profile ? { ...site, ...profile } : site && (site.name || site.description) ? site : null;
  ctx.logger.info('knowledge indexed', {
    pages: items.length,
    chunks: chunksIndexed,
    failed: summary.failures.length,
    ms: Date.now() - started,
    embedMs: Math.round(embedMs),
  });
  ctx.progress({ currentStep: 'done', pagesScraped: items.length, totalPages: items.length, pagesIndexed: items.length, chunksIndexed });
  return {
    knowledgeItems: items.map(({ title, description, content, category, source }) => ({ title, description, content, category, source })),
    ...(business ? { business } : {}),
    pagesScraped: items.length,
    urlsDiscovered: summary.urlsDiscovered,
    sitemapUrls: summary.sitemapUrls,
    chunksIndexed,
    pages: items.map((i) => ({ url: i.url, title: i.title, category: i.category, chunks: i.chunks })),
    failedPages: summary.failures,
  };
}

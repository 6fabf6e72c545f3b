// The pipeline for one page: fetch, then extract the main content.
// Crawling, chunking, embedding and indexing slot in as further steps.
import { extractPage } from '../../core/extraction/index.js';
import type { OutboundClient } from '../../core/outbound.js';
import { PipelineError } from './errors.js';
import { fetchPage } from './fetchPage.js';
import type { Pipeline } from './types.js';

export function singlePagePipeline(client: OutboundClient): Pipeline {
  const fetch = fetchPage(client);
  return async (input, ctx) => {
    ctx.progress({ currentStep: 'fetch', pagesScraped: 0, totalPages: 1 });
    const page = await fetch(input.url, ctx);
    ctx.progress({ currentStep: 'extract', pagesScraped: 0, totalPages: 1 });
    const content = extractPage(page.html, page.url);
    if (!content.text.trim()) {
      throw new PipelineError('empty_content', `no text content found at ${page.url}`, false, { url: page.url });
    }
    ctx.progress({ currentStep: 'done', pagesScraped: 1, totalPages: 1 });
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
      pagesScraped: 1,
    };
  };
}

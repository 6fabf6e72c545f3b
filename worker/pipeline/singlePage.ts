// The plain page pipeline: fetch and extract one page, no crawling or indexing.
// The knowledge pipeline (knowledge.ts) is what the service runs; this one
// keeps the job-system tests independent of the model.
import type { OutboundClient } from '../../core/outbound/index.js';
import { scrapePage } from '../../core/page/scrape.js';
import type { Pipeline } from './types.js';

export function singlePagePipeline(client: OutboundClient): Pipeline {
  return async (input, ctx) => {
    ctx.progress({ currentStep: 'fetch', pagesScraped: 0, totalPages: 1 });
    const page = await scrapePage(client, input.url, ctx);
    ctx.progress({ currentStep: 'done', pagesScraped: 1, totalPages: 1 });
    return { ...page, pagesScraped: 1 };
  };
}

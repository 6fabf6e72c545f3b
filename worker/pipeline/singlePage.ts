// The plain page pipeline: fetch and extract one page, no crawling or indexing.
// The knowledge pipeline (knowledge.ts) is what the service runs; this one
// keeps the job-system tests independent of the model.
import type { HostSlots } from '../../core/crawlTasks/hosts.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { scrapePage } from '../../core/page/scrape.js';
import type { Pipeline } from './types.js';

/** `hosts`: the host limits shared by every worker and job; the page's request holds one of its slots. */
export function singlePagePipeline(client: OutboundClient, hosts?: HostSlots): Pipeline {
  return async (input, ctx) => {
    ctx.progress({ currentStep: 'fetch', pagesScraped: 0, totalPages: 1 });
    const host = new URL(input.url).host;
    const page = await scrapePage(client, input.url, { ...ctx, hold: hosts && ((request) => hosts.run(host, ctx.signal, request, { urgent: true })) });
    ctx.progress({ currentStep: 'done', pagesScraped: 1, totalPages: 1 });
    return { ...page, pagesScraped: 1 };
  };
}

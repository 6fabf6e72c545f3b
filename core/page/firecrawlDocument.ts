// A crawled page (a knowledge item) as a Firecrawl document: its main-content
// Markdown and what the job kept of its metadata. One shape for the crawl's
// status pages (server/firecrawl/jobs.ts) and its `crawl.page` webhook
// (core/webhooks/events.ts).

export interface CrawledItem {
  title?: string;
  description?: string;
  content?: string;
  source?: string;
}

export function firecrawlDocument(item: CrawledItem) {
  const url = item.source ?? '';
  return {
    markdown: item.content ?? '',
    metadata: { ...(item.title ? { title: item.title } : {}), ...(item.description ? { description: item.description } : {}), sourceURL: url, url, statusCode: 200, contentType: 'text/html' },
  };
}

import { fetchPageSource } from '../../core/browser/pageSource.js';
import type { FetchedPage } from '../../core/page/scrape.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import type { StepContext } from './types.js';

export type { FetchedPage };

/** The fetch step: GET the page through the guarded client and decode it to text; rendered in the browser when the job's `render` mode and the page call for it. */
export function fetchPage(client: OutboundClient) {
  return (url: string, ctx: StepContext): Promise<FetchedPage> => fetchPageSource(client, url, ctx);
}

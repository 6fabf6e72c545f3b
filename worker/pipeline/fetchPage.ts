import { fetchHtmlPage, type FetchedPage } from '../../core/scrape.js';
import type { OutboundClient } from '../../core/outbound.js';
import type { StepContext } from './types.js';

export type { FetchedPage };

/** The fetch step: GET the page through the guarded client and decode it to text. */
export function fetchPage(client: OutboundClient) {
  return (url: string, ctx: StepContext): Promise<FetchedPage> => fetchHtmlPage(client, url, ctx);
}

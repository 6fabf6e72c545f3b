import { decodeHtml } from '../../core/extraction/decode.js';
import type { OutboundClient } from '../../core/outbound.js';
import { PipelineError } from './errors.js';
import type { StepContext } from './types.js';

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
}

const HTML_TYPES = ['text/html', 'application/xhtml+xml', 'text/plain'];

/** GET the page through the guarded client and decode it to text. */
export function fetchPage(client: OutboundClient) {
  return async (url: string, ctx: StepContext): Promise<FetchedPage> => {
    const response = await client.fetch(url, { signal: ctx.signal, accept: HTML_TYPES });
    if (response.body.includes(0)) {
      throw new PipelineError('not_html', `the response from ${response.url} is binary, not an HTML page`, false, { url: response.url });
    }
    const { html, charset } = decodeHtml(response.body, response.contentType);
    ctx.logger.debug('page fetched', { url: response.url, status: response.status, bytes: response.body.length, ms: response.durationMs });
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
  };
}

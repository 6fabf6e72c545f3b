// Why a URL a crawl meets is not a page, in the codes and messages both crawl
// paths report (a failure of the one-worker crawl, a page task's error).
import { OutboundError } from '../../../core/outbound/index.js';
import type { RobotsPolicy } from './robots.js';

/** A type, not an interface: it stands where a record of errors (a page task's PageError) is expected. */
export type Refusal = { code: string; message: string };

/** A found URL that redirects off the crawl's scope (one the client named may go anywhere the address guard allows). */
export const offsiteRedirect = (url: string): Refusal => ({ code: 'offsite_redirect', message: `redirected to ${url}, which is on another site` });

export const robotsDisallowed = (url: string): Refusal => ({ code: 'robots_disallowed', message: `robots.txt disallows ${url}` });

/** robots.txt could not be read (5xx, 429, unreachable): its origin is not crawled. */
export const robotsUnavailable = (policy: RobotsPolicy): Refusal => ({ code: 'robots_unavailable', message: `not crawled: ${policy.problem ?? 'robots.txt is unavailable'}` });

export const emptyContent = (url: string): Refusal => ({ code: 'empty_content', message: `no text content found at ${url}` });

/** A fetch answered with something other than HTML; null for any other error. */
export function notHtml(err: unknown): Refusal | null {
  return err instanceof OutboundError && err.code === 'unsupported_content_type' ? { code: 'not_html', message: err.message } : null;
}

// The identity of a page's text: crawls fold pages of the same text into one
// (worker/pipeline/crawl/samePage.ts), and PAGE_UPDATED compares a URL's text
// with its last crawl's (core/webhooks/pageVersions.ts).
import { createHash } from 'node:crypto';

/** SHA-256 of the text with its whitespace runs made one space (reflowed markup is the same text), base64url. */
export function textHash(text: string): string {
  return createHash('sha256').update(text.replace(/\s+/g, ' ').trim()).digest('base64url');
}

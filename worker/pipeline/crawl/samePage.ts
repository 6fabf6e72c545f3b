// When two URLs of a crawl are one page: the rules both crawl paths apply
// (the one-worker crawler keeps its claims in memory, page tasks in
// crawl_page_claims through pageFacts.ts). One page per normalised URL after
// redirects; a same-site <link rel=canonical> makes the two URLs one page;
// pages whose extracted text is the same (whitespace aside) are one page.
import type { CrawlScope } from './scope.js';
import { sameSite } from './urls.js';

function isRoot(url: string): boolean {
  return new URL(url).pathname === '/';
}

/**
 * The key of the page's canonical URL when it makes this page one with
 * another: a same-site canonical under another key. A canonical pointing at
 * the site root from another page is ignored: that is the classic
 * misconfiguration that would fold a whole site into its home page.
 */
export function canonicalKey(scope: Pick<CrawlScope, 'key'>, canonicalUrl: string | null, finalKey: string, pageUrl: string): string | null {
  const canonical = canonicalUrl === null ? null : scope.key(canonicalUrl);
  if (canonical === null || canonical === finalKey || !sameSite(canonical, pageUrl) || (isRoot(canonical) && !isRoot(finalKey))) return null;
  return canonical;
}

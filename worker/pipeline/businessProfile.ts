// The business profile of a crawl (core/business/profile.ts) from the pages
// it scraped: the home page, then the pages that say most about a business
// (about, pricing, product), then the rest, at most PROFILE_PAGES.
import { buildBusinessProfile, profilePage, type BusinessProfile } from '../../core/business/profile.js';
import type { Embedder } from '../../core/embeddings/types.js';
import type { CrawledPage } from './crawl/crawler.js';

const PROFILE_PAGES = 6;
export const TELLING_PATH = /\/(?:about|company|team|our-story|pricing|plans|product|products|features|solutions)(?:\/|$)/i;

export async function crawlProfile(pages: CrawledPage[], categories: Map<string, string>, embedder: Embedder, signal?: AbortSignal): Promise<BusinessProfile | null> {
  const [home, ...rest] = pages;
  if (!home) return null;
  const telling = (p: CrawledPage) => TELLING_PATH.test(new URL(p.url).pathname);
  const chosen = [home, ...rest.filter(telling), ...rest.filter((p) => !telling(p))].slice(0, PROFILE_PAGES);
  return buildBusinessProfile(
    chosen.map((p) => profilePage(p.url, p.content, p.page.html)),
    embedder,
    { signal, categories: pages.map((p) => categories.get(p.url) ?? null) },
  );
}

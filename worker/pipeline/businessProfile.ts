// The business profile of a crawl (core/business/profile.ts) from the pages
// it scraped: the home page, then the pages that say most about a business
// (about, pricing, product), then the rest, at most PROFILE_PAGES. The same
// choice for a one-worker crawl (its pages in memory) and for page tasks
// (each page's profile source stored as it was scraped, pageFacts.ts).
import { buildBusinessProfile, profilePage, type BusinessProfile, type ProfilePage } from '../../core/business/profile.js';
import type { Embedder } from '../../core/embeddings/types.js';
import type { CrawledPage } from './crawl/crawler.js';

const PROFILE_PAGES = 6;
export const TELLING_PATH = /\/(?:about|company|team|our-story|pricing|plans|product|products|features|solutions)(?:\/|$)/i;

/** The pages a profile reads, from a crawl's pages in crawl order (the first is the home page). */
export function profileChoice<T extends { url: string }>(pages: readonly T[]): T[] {
  const [home, ...rest] = pages;
  if (!home) return [];
  const telling = (p: T) => TELLING_PATH.test(new URL(p.url).pathname);
  return [home, ...rest.filter(telling), ...rest.filter((p) => !telling(p))].slice(0, PROFILE_PAGES);
}

/**
 * The profile of a crawl's pages (in crawl order, each with its category):
 * null without pages. Every page's category informs the key insights; the
 * chosen pages' text the rest.
 */
export async function profileOfPages(pages: readonly { page: ProfilePage; category: string | null }[], embedder: Embedder, signal?: AbortSignal): Promise<BusinessProfile | null> {
  const chosen = profileChoice(pages.map((p) => p.page));
  if (chosen.length === 0) return null;
  return buildBusinessProfile(chosen, embedder, { signal, categories: pages.map((p) => p.category) });
}

export async function crawlProfile(pages: CrawledPage[], categories: Map<string, string>, embedder: Embedder, signal?: AbortSignal): Promise<BusinessProfile | null> {
  const chosen = profileChoice(pages);
  if (chosen.length === 0) return null;
  return buildBusinessProfile(
    chosen.map((p) => profilePage(p.url, p.content, p.page.html)),
    embedder,
    { signal, categories: pages.map((p) => categories.get(p.url) ?? null) },
  );
}

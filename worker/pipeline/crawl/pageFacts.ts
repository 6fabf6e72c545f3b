// What a one-worker crawl (crawler.ts) keeps in memory, kept in PostgreSQL
// for crawls run as page tasks so every worker sees it (migration 023):
//   - claims: one page per URL after redirects, canonical URL and text. A
//     page claims its identities all or nothing under a per-crawl lock
//     before it is indexed; one another page holds makes it a duplicate,
//     and a task whose own URL another page holds (as its canonical URL) is
//     not fetched at all, as the one-worker crawl never fetches an alias.
//   - facts: the site's metadata each page tells, the start page's sitemap
//     count, and for /v1/business jobs each page's profile source; the
//     parent's result reads them when the crawl closes.
import type { BusinessProfile, ProfilePage } from '../../../core/business/profile.js';
import type { Db, Sql } from '../../../core/platform/db.js';
import { jsonb } from '../../../core/platform/jsonb.js';
import { textHash } from '../../../core/page/textHash.js';

export type Identity = { identity: string; via: 'url' | 'canonical' | 'content' };

/** The site's own metadata, as one page tells it. */
export interface SiteFacts {
  name: string | null;
  description: string | null;
  language: string | null;
}

export interface PageFacts {
  site?: SiteFacts;
  /** Page URLs read from the sitemaps (the start page's task). */
  sitemapUrls?: number;
  /** The page as the business profile reads it (jobs with `profile`). */
  profile?: ProfilePage;
}

export const urlIdentity = (key: string): string => `url:${key}`;

/** Pages whose extracted text is the same (whitespace aside) are one page. */
export const textIdentity = (text: string): string => `text:${textHash(text)}`;

/** Another page of the crawl that holds this URL (as its canonical URL or redirect target), if any. */
export async function holderOf(db: Db, jobId: string, urlKey: string): Promise<string | null> {
  const [row] = await db`select owner from crawl_page_claims where job_id = ${jobId} and identity = ${urlIdentity(urlKey)} and owner <> ${urlKey}`;
  return row ? (row.owner as string) : null;
}

/**
 * Claim a page's identities for its task (`owner`, the task's url_key): all
 * of them, or none when another page holds one (returned: that page and
 * how). A retry of the same task finds its own claims and passes.
 */
export async function claimPage(sql: Sql, jobId: string, owner: string, identities: readonly Identity[]): Promise<{ duplicateOf: string; via: Identity['via'] } | null> {
  return sql.begin(async (tx) => {
    // The crawl's claims move one page at a time: two pages of the same text, or each other's canonical URL, cannot both pass.
    await tx`select pg_advisory_xact_lock(hashtextextended(${`crawl_page_claims:${jobId}`}, 0))`;
    const ids = identities.map((i) => i.identity);
    const [held] = await tx`
      select identity, owner from crawl_page_claims
      where job_id = ${jobId} and identity = any(${ids}::text[]) and owner <> ${owner}
      order by array_position(${ids}::text[], identity) limit 1`;
    if (held) return { duplicateOf: held.owner as string, via: identities.find((i) => i.identity === held.identity)!.via };
    await tx`
      insert into crawl_page_claims (job_id, identity, owner)
      select ${jobId}, identity, ${owner} from unnest(${ids}::text[]) as i (identity)
      on conflict do nothing`;
    return null;
  });
}

/** A page that did not become one (failed, skipped) lets go of its identities. */
export async function releasePage(db: Db, jobId: string, owner: string): Promise<void> {
  await db`delete from crawl_page_claims where job_id = ${jobId} and owner = ${owner}`;
}

/** Add to a page's facts (a key given again replaces the stored one). */
export async function storePageFacts(db: Db, jobId: string, urlKey: string, facts: PageFacts): Promise<void> {
  await db`
    insert into crawl_page_facts (job_id, url_key, facts) values (${jobId}, ${urlKey}, ${jsonb(db, facts)})
    on conflict (job_id, url_key) do update set facts = crawl_page_facts.facts || excluded.facts`;
}

function domainOf(url: string): string {
  return new URL(url).hostname.replace(/^www\./, '');
}

/** What a closed crawl's result takes from its facts (readCrawlFacts): quick to read, in any transaction. */
export interface CrawlFacts {
  /** Page URLs its sitemaps gave. */
  sitemapUrls: number;
  /** The home page's site metadata (the start page when it became a page, else the first page done). */
  site: { name: string | null; description: string | null; domain: string; language: string | null } | null;
  /** The done pages' profile sources in crawl order (jobs with `profile`): what a business profile is built from. */
  sources: { page: ProfilePage; category: string | null }[];
}

export async function readCrawlFacts(db: Db, jobId: string): Promise<CrawlFacts> {
  const rows = await db`
    select f.facts, p.state, p.depth, coalesce(p.final_url, p.url_key) as url, p.category
    from crawl_page_facts f join crawl_pages p on p.job_id = f.job_id and p.url_key = f.url_key
    where f.job_id = ${jobId}
    order by p.event_id nulls last, p.id`;
  let sitemapUrls = 0;
  for (const r of rows) sitemapUrls += (r.facts as PageFacts).sitemapUrls ?? 0;
  const done = rows.filter((r) => r.state === 'done' && (r.facts as PageFacts).site);
  const start = done.findIndex((r) => r.depth === 0);
  if (start > 0) done.unshift(...done.splice(start, 1));
  const home = done[0];
  if (!home) return { sitemapUrls, site: null, sources: [] };
  const facts = home.facts as PageFacts;
  const site = { name: facts.site!.name, description: facts.site!.description, domain: domainOf(home.url as string), language: facts.site!.language };
  const sources = done.filter((r) => (r.facts as PageFacts).profile).map((r) => ({ page: (r.facts as PageFacts).profile!, category: r.category as string | null }));
  return { sitemapUrls, site, sources };
}

/**
 * The parts of a closed crawl's result that come from its facts, as the
 * one-worker pipeline returns them (knowledge.ts): `sitemapUrls`, and
 * `business`, the home page's site metadata, with the business profile
 * (built beforehand from `facts.sources`, outside any transaction) when given.
 */
export function crawlFactsResult(facts: CrawlFacts, profile: BusinessProfile | null): Record<string, unknown> {
  const { site, sitemapUrls } = facts;
  if (!site) return { sitemapUrls };
  const business = profile ? { ...site, ...profile } : site.name || site.description ? site : null;
  return { ...(business ? { business } : {}), sitemapUrls };
}

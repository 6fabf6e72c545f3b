// Sitemaps for discovery: urlsets, sitemap indexes (nested, to a bounded
// depth), gzipped files and plain-text lists, all bounded in files fetched
// and URLs read. A sitemap that cannot be fetched or parsed is skipped: it
// only ever adds candidates.
import zlib from 'node:zlib';
import * as cheerio from 'cheerio';
import type { FetchedResponse } from '../../../core/outbound.js';

export interface SitemapLimits {
  /** Index levels followed below the roots (0: roots only). */
  maxDepth: number;
  /** Sitemap files fetched in all. */
  maxSitemaps: number;
  /** Page URLs read in all; reading stops there. */
  maxUrls: number;
  /** Cap on a gzipped sitemap's inflated size. */
  maxInflatedBytes: number;
}

export const DEFAULT_SITEMAP_LIMITS: SitemapLimits = { maxDepth: 2, maxSitemaps: 10, maxUrls: 1000, maxInflatedBytes: 10 * 1024 * 1024 };

export type SitemapFetch = (url: string) => Promise<FetchedResponse>;

export interface ParsedSitemap {
  kind: 'urlset' | 'index' | 'text' | 'unknown';
  /** <loc> values (or lines), resolved against the sitemap's URL. */
  locs: string[];
}

export interface SitemapResult {
  /** Page URLs in reading order (not de-duplicated; the caller normalises). */
  urls: string[];
  /** Sitemap files fetched. */
  sitemapsRead: number;
  problems: { url: string; message: string }[];
}

function absolute(loc: string, base: string): string | null {
  try {
    const url = new URL(loc.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/** Inflate a gzipped sitemap (sitemap.xml.gz is served as a gzip file, not a Content-Encoding). */
function maybeGunzip(body: Uint8Array, maxBytes: number): Uint8Array {
  if (body[0] !== 0x1f || body[1] !== 0x8b) return body;
  return zlib.gunzipSync(body, { maxOutputLength: maxBytes });
}

/** Parse one sitemap document: XML urlset or index, or a text file of one URL per line. */
export function parseSitemap(text: string, sitemapUrl: string): ParsedSitemap {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('<')) {
    const $ = cheerio.load(trimmed, { xml: true });
    // Direct children only: <image:loc> and friends inside <url> are not pages.
    const pick = (selector: string) =>
      $(selector)
        .toArray()
        .map((el) => absolute($(el).text(), sitemapUrl))
        .filter((u): u is string => u !== null);
    if ($('sitemapindex').length > 0) return { kind: 'index', locs: pick('sitemapindex > sitemap > loc') };
    if ($('urlset').length > 0) return { kind: 'urlset', locs: pick('urlset > url > loc') };
    return { kind: 'unknown', locs: [] };
  }
  const lines = trimmed.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  const locs = lines.map((l) => (/^https?:\/\//i.test(l) ? absolute(l, sitemapUrl) : null));
  if (locs.length === 0 || locs.some((u) => u === null)) return { kind: 'unknown', locs: [] };
  return { kind: 'text', locs: locs as string[] };
}

/**
 * Read the sitemaps reachable from `roots`, breadth-first. `follow` decides
 * which sitemap URLs may be fetched at all (same site, robots); `fetch` goes
 * through the crawl's politeness limits. Rethrows only when `signal` aborts.
 */
export async function readSitemaps(
  roots: string[],
  fetch: SitemapFetch,
  follow: (sitemapUrl: string) => boolean | Promise<boolean>,
  limits: SitemapLimits,
  signal: AbortSignal,
): Promise<SitemapResult> {
  const result: SitemapResult = { urls: [], sitemapsRead: 0, problems: [] };
  const seen = new Set<string>();
  let level = roots.map((url) => url);
  for (let depth = 0; depth <= limits.maxDepth && level.length > 0; depth++) {
    const next: string[] = [];
    for (const url of level) {
      if (result.sitemapsRead >= limits.maxSitemaps || result.urls.length >= limits.maxUrls) return result;
      if (seen.has(url)) continue;
      seen.add(url);
      if (!(await follow(url))) continue;
      let parsed: ParsedSitemap;
      try {
        result.sitemapsRead++;
        const response = await fetch(url);
        const body = maybeGunzip(response.body, limits.maxInflatedBytes);
        parsed = parseSitemap(new TextDecoder('utf-8').decode(body), response.url);
      } catch (err) {
        if (signal.aborted) throw err;
        result.problems.push({ url, message: err instanceof Error ? err.message : String(err) });
        continue;
      }
      if (parsed.kind === 'unknown') {
        result.problems.push({ url, message: 'not a sitemap (no <urlset> or <sitemapindex>)' });
      } else if (parsed.kind === 'index') {
        next.push(...parsed.locs);
      } else {
        for (const loc of parsed.locs) {
          if (result.urls.length >= limits.maxUrls) break;
          result.urls.push(loc);
        }
      }
    }
    level = next;
  }
  return result;
}

// Firecrawl's map: the URLs of a site, from its start page's links and its
// sitemaps (robots.txt Sitemap: lines, else /sitemap.xml), all fetched through
// the guarded client. No job: one page and a few sitemap files.
import type { Extractor } from '../../core/page/scrape.js';
import { decodeHtml } from '../../core/extraction/index.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { DEFAULT_SITEMAP_LIMITS, readSitemaps } from '../../worker/pipeline/crawl/sitemap.js';
import { normalizeUrl, siteOf } from '../../worker/pipeline/crawl/urls.js';
import type { MapRequest } from './schemas.js';

export interface MappedLink {
  url: string;
  title?: string;
  description?: string;
}

const DEFAULT_LIMIT = 5000;

function sitemapRoots(robotsTxt: string, origin: string): string[] {
  const roots: string[] = [];
  for (const line of robotsTxt.split('\n').slice(0, 5000)) {
    const m = /^\s*sitemap\s*:\s*(\S+)/i.exec(line);
    if (m?.[1]) roots.push(m[1]);
  }
  return roots.length ? roots.slice(0, 10) : [`${origin}/sitemap.xml`];
}

export async function mapSite(deps: { client: OutboundClient; extract: Extractor }, body: MapRequest, signal: AbortSignal): Promise<MappedLink[]> {
  const timeout = body.timeout === undefined ? signal : AbortSignal.any([signal, AbortSignal.timeout(body.timeout)]);
  const start = new URL(body.url);
  const site = siteOf(body.url);
  const sitemapMode = body.sitemapOnly ? 'only' : body.ignoreSitemap ? 'skip' : (body.sitemap ?? 'include');
  const onSite = (url: string) => {
    const s = siteOf(url);
    if (s === null || site === null) return false;
    return s === site || (body.includeSubdomains === true && s.endsWith(`.${site}`));
  };
  const seen = new Map<string, MappedLink>();
  const add = (raw: string, extra: Omit<MappedLink, 'url'> = {}) => {
    let url = normalizeUrl(raw);
    if (url === null || !onSite(url)) return;
    if (body.ignoreQueryParameters) url = url.split('?')[0] ?? url;
    if (!seen.has(url)) seen.set(url, { url, ...extra });
  };

  if (sitemapMode !== 'only') {
    const page = await deps.client.fetch(body.url, { signal: timeout, accept: ['text/html', 'application/xhtml+xml'] });
    const { html } = decodeHtml(page.body, page.headers['content-type'] ?? page.contentType);
    const content = await deps.extract(html, page.url);
    add(page.url, { ...(content.title ? { title: content.title } : {}), ...(content.description ? { description: content.description } : {}) });
    for (const link of content.links) add(link);
  }
  if (sitemapMode !== 'skip') {
    let robots = '';
    try {
      robots = new TextDecoder().decode((await deps.client.fetch(`${start.origin}/robots.txt`, { signal: timeout })).body);
    } catch {
      /* no robots.txt: try /sitemap.xml */
    }
    const fetch = (url: string) => deps.client.fetch(url, { signal: timeout });
    const found = await readSitemaps(sitemapRoots(robots, start.origin), fetch, (url) => onSite(url), DEFAULT_SITEMAP_LIMITS, timeout);
    for (const url of found.urls) add(url);
  }

  let links = [...seen.values()];
  if (body.search) {
    const needle = body.search.toLowerCase();
    links = links.filter((l) => l.url.toLowerCase().includes(needle) || (l.title ?? '').toLowerCase().includes(needle));
  }
  return links.slice(0, body.limit ?? DEFAULT_LIMIT);
}

/** URL helpers: resolving hrefs against the page and collecting crawlable links. */
import type { DocumentScan } from './scan.js';

/** Absolute http(s) URL without fragment, or null (javascript:, mailto:, malformed...). */
export function resolveHttpUrl(href: string, base: string): string | null {
  const trimmed = href.trim();
  if (!trimmed || trimmed.startsWith('#')) return null;
  let url: URL;
  try {
    url = new URL(trimmed, base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  url.hash = '';
  return url.href;
}

/** The page's effective base: <base href> (itself resolved against the URL) wins, as in browsers. */
export function documentBase(doc: DocumentScan, pageUrl: string): string {
  const href = doc.base?.attribs['href'];
  if (href) {
    try {
      return new URL(href.trim(), pageUrl).href;
    } catch {
      /* malformed <base>: ignore it */
    }
  }
  return pageUrl;
}

/** All <a href> targets on the page, deduplicated in document order. */
export function collectLinks(doc: DocumentScan, base: string): string[] {
  const seen = new Set<string>();
  for (const el of doc.anchors) {
    const u = resolveHttpUrl(el.attribs['href'] ?? '', base);
    if (u) seen.add(u);
  }
  return [...seen];
}

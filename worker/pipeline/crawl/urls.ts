// URL identity for one crawl: which spellings are the same page, and which
// hosts are the same site.

/** Query parameters that only track the click; they never select different content. */
const TRACKING_PARAM = /^(utm_[a-z0-9_]*|fbclid|gclid|gclsrc|dclid|msclkid)$/i;

const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 §6.2.2: percent-escapes are case-insensitive, and escaped
 * unreserved characters equal the characters themselves. Nothing else is
 * decoded ("%2F" stays an escaped slash).
 */
function normalizeEscapes(s: string): string {
  return s.replace(/%([0-9a-fA-F]{2})/g, (_m, hex: string) => {
    const ch = String.fromCharCode(parseInt(hex, 16));
    return UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
  });
}

/** The query minus tracking parameters, in its original order and spelling ('' when nothing is left). */
function stripTracking(search: string): string {
  if (search === '' || search === '?') return '';
  const kept = search
    .slice(1)
    .split('&')
    .filter((pair) => {
      if (pair === '') return false;
      const rawName = pair.split('=', 1)[0] ?? '';
      let name = rawName;
      try {
        name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      } catch {
        /* malformed escape: compare the raw name */
      }
      return !TRACKING_PARAM.test(name);
    });
  return kept.length === 0 ? '' : `?${kept.join('&')}`;
}

/** Parse an absolute (or base-relative) http(s) URL without credentials; null otherwise. */
function parseWebUrl(raw: string, base?: string): URL | null {
  let url: URL;
  try {
    url = base === undefined ? new URL(raw.trim()) : new URL(raw.trim(), base);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  // The outbound client refuses credentials; such a URL can never be a page.
  if (url.username !== '' || url.password !== '') return null;
  if (url.hostname === '') return null;
  return url;
}

/**
 * The URL to request for a discovered link: absolute, without fragment and
 * tracking parameters, otherwise as written (the trailing slash is kept,
 * since many servers redirect when it is missing).
 */
export function cleanUrl(raw: string, base?: string): string | null {
  const url = parseWebUrl(raw, base);
  if (url === null) return null;
  url.hash = '';
  url.search = stripTracking(url.search);
  return url.href;
}

/**
 * The de-duplication key of a URL: two URLs with the same key are the same
 * page. The WHATWG parser already lower-cases scheme and host, drops default
 * ports, resolves dot segments and punycodes names; on top of that the
 * fragment, tracking parameters, a trailing dot on the host and a trailing
 * slash on the path (except the root) go, and percent-escapes are made
 * canonical. The query is otherwise kept as is: parameter order can matter.
 * Returns null for anything that is not a usable http(s) URL.
 */
export function normalizeUrl(raw: string, base?: string): string | null {
  const url = parseWebUrl(raw, base);
  if (url === null) return null;
  url.hash = '';
  if (url.hostname.endsWith('.') && !url.hostname.startsWith('[')) url.hostname = url.hostname.replace(/\.+$/, '');
  let path = normalizeEscapes(url.pathname);
  if (path.length > 1) path = path.replace(/\/+$/, '') || '/';
  const search = normalizeEscapes(stripTracking(url.search));
  const port = url.port === '' ? '' : `:${url.port}`;
  return `${url.protocol}//${url.hostname}${port}${path}${search}`;
}

/**
 * The site a URL belongs to: host without a leading "www.", plus a
 * non-default port. Deliberately simple (no public-suffix list): blog.x.com
 * and x.com are different sites, www.x.com and x.com the same one, and http
 * and https count as one site because sites commonly redirect between them.
 */
export function siteOf(url: string): string | null {
  const parsed = parseWebUrl(url);
  if (parsed === null) return null;
  const host = parsed.hostname.replace(/\.+$/, '').replace(/^www\./, '');
  return parsed.port === '' ? host : `${host}:${parsed.port}`;
}

export function sameSite(a: string, b: string): boolean {
  const sa = siteOf(a);
  return sa !== null && sa === siteOf(b);
}

/**
 * Segments of a URL's path, as Firecrawl v1's maxDepth counts them: empty
 * ones, index.php and index.html do not count (/ and /index.html are 0,
 * /docs/ and /docs/api/ 1 and 2); null for no usable URL.
 */
export function pathDepth(url: string): number | null {
  const parsed = parseWebUrl(url);
  if (parsed === null) return null;
  return parsed.pathname.split('/').filter((s) => s !== '' && s !== 'index.php' && s !== 'index.html').length;
}

/** Scheme, host and port: what one robots.txt governs. */
export function originOf(url: string): string {
  return new URL(url).origin;
}

/** Host and port: what the politeness limits apply to. */
export function hostOf(url: string): string {
  return new URL(url).host;
}

// Extensions that are never HTML pages; links to them are not even queued.
// (A link without a telling extension is fetched, and fails as not_html if it is not.)
const NON_HTML_EXTENSIONS = new Set([
  // documents and data
  'pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'odt', 'ods', 'odp', 'rtf', 'csv', 'epub',
  // images
  'png', 'jpg', 'jpeg', 'gif', 'webp', 'avif', 'svg', 'ico', 'bmp', 'tif', 'tiff', 'heic',
  // audio and video
  'mp3', 'wav', 'ogg', 'oga', 'flac', 'm4a', 'aac', 'mp4', 'm4v', 'webm', 'mov', 'avi', 'mkv', 'wmv',
  // archives and binaries
  'zip', 'gz', 'tgz', 'tar', 'bz2', 'xz', '7z', 'rar', 'exe', 'msi', 'dmg', 'pkg', 'deb', 'rpm', 'apk', 'iso', 'bin', 'jar',
  // web assets and feeds
  'css', 'js', 'mjs', 'json', 'xml', 'rss', 'atom', 'woff', 'woff2', 'ttf', 'otf', 'eot', 'map', 'wasm',
]);

/** Whether the URL's path ends in an extension that is never an HTML page. */
export function hasNonHtmlExtension(url: string): boolean {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return false;
  }
  const last = path.slice(path.lastIndexOf('/') + 1);
  const dot = last.lastIndexOf('.');
  if (dot <= 0) return false;
  return NON_HTML_EXTENSIONS.has(last.slice(dot + 1).toLowerCase());
}

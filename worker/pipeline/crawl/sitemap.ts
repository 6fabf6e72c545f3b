// Sitemaps for discovery: urlsets, sitemap indexes (nested, to a bounded
// depth), gzipped files and plain-text lists, all bounded in files fetched
// and URLs read. A sitemap that cannot be fetched or parsed is skipped: it
// only ever adds candidates.
//
// A sitemap is the site's input, so it is read as a stream: inflated chunk by
// chunk and fed to htmlparser2's XML tokenizer, which stops at an element
// nesting cap, at the URL cap and at the size cap. Building a DOM (cheerio)
// is quadratic in the nesting depth; a 10 KB gzip of nested tags would stall
// the worker for minutes.
import zlib from 'node:zlib';
import { Parser } from 'htmlparser2';
import type { FetchedResponse } from '../../../core/outbound/index.js';

export interface SitemapLimits {
  /** Index levels followed below the roots (0: roots only). */
  maxDepth: number;
  /** Sitemap files fetched in all. */
  maxSitemaps: number;
  /** Page URLs read in all; reading stops there. */
  maxUrls: number;
  /** Bytes of one sitemap read (after gunzip); reading stops there, keeping the URLs found. */
  maxInflatedBytes: number;
}

export const DEFAULT_SITEMAP_LIMITS: SitemapLimits = { maxDepth: 2, maxSitemaps: 10, maxUrls: 1000, maxInflatedBytes: 2 * 1024 * 1024 };

/** urlset > url > loc is three levels; extensions (image, video, news, xhtml) add a few. */
export const MAX_SITEMAP_NESTING = 32;
/** The sitemap protocol caps <loc> at 2,048 characters; longer values are skipped. */
const MAX_LOC_CHARS = 4096;
/** Size of the pieces fed to the tokenizer. */
const CHUNK_BYTES = 64 * 1024;

export type SitemapFetch = (url: string) => Promise<FetchedResponse>;

export interface ParsedSitemap {
  kind: 'urlset' | 'index' | 'text' | 'unknown';
  /** <loc> values (or lines), resolved against the sitemap's URL. */
  locs: string[];
  /** Why reading stopped early (size cap), when it did; the locs before it are kept. */
  truncated?: string;
}

export interface SitemapResult {
  /** Page URLs in reading order (not de-duplicated; the caller normalises). */
  urls: string[];
  /** Sitemap files fetched. */
  sitemapsRead: number;
  problems: { url: string; message: string }[];
}

/** A sitemap refused as a whole (nested too deeply). */
export class SitemapError extends Error {
  override readonly name = 'SitemapError';
}

function absolute(loc: string, base: string): string | null {
  try {
    const url = new URL(loc.trim(), base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Incremental reader of one sitemap document: feed text with write(), then
 * end(). `full` turns true once maxLocs locs are read; more input is ignored.
 */
class SitemapReader {
  private mode: 'undecided' | 'xml' | 'text' = 'undecided';
  private parser: Parser | null = null;
  /** Open element names, innermost last (at most MAX_SITEMAP_NESTING). */
  private readonly open: string[] = [];
  private sawIndex = false;
  private sawUrlset = false;
  private readonly indexLocs: string[] = [];
  private readonly urlLocs: string[] = [];
  /** Text of the <loc> being read, and the nesting level it opened at. */
  private loc: { kind: 'index' | 'urlset'; depth: number; text: string } | null = null;
  private textLocs: string[] | null = null;
  private partialLine = '';
  private textInvalid = false;
  full = false;

  constructor(
    private readonly sitemapUrl: string,
    private readonly maxLocs: number,
  ) {}

  write(text: string): void {
    if (this.full || text === '') return;
    if (this.mode === 'undecided') {
      const start = text.trimStart();
      if (start === '') return;
      this.mode = start.startsWith('<') ? 'xml' : 'text';
      if (this.mode === 'xml') this.parser = this.createParser();
      else this.textLocs = [];
      text = start;
    }
    if (this.mode === 'xml') this.parser!.write(text);
    else this.writeText(text);
  }

  end(): ParsedSitemap {
    if (this.mode === 'xml' && !this.full) this.parser!.end();
    if (this.mode === 'text') {
      if (!this.full) this.textLine(this.partialLine);
      const locs = this.textLocs ?? [];
      return this.textInvalid || locs.length === 0 ? { kind: 'unknown', locs: [] } : { kind: 'text', locs };
    }
    if (this.sawIndex) return { kind: 'index', locs: this.indexLocs };
    if (this.sawUrlset) return { kind: 'urlset', locs: this.urlLocs };
    return { kind: 'unknown', locs: [] };
  }

  private createParser(): Parser {
    return new Parser(
      {
        onopentag: (name) => {
          if (this.full) return;
          if (this.open.length >= MAX_SITEMAP_NESTING) throw new SitemapError(`XML nested deeper than ${MAX_SITEMAP_NESTING} elements`);
          const parent = this.open[this.open.length - 1];
          const grandparent = this.open[this.open.length - 2];
          this.open.push(name);
          if (name === 'sitemapindex') this.sawIndex = true;
          else if (name === 'urlset') this.sawUrlset = true;
          // Direct children only: <image:loc> and friends inside <url> are not pages.
          else if (name === 'loc' && this.loc === null) {
            if (parent === 'sitemap' && grandparent === 'sitemapindex') this.loc = { kind: 'index', depth: this.open.length, text: '' };
            else if (parent === 'url' && grandparent === 'urlset') this.loc = { kind: 'urlset', depth: this.open.length, text: '' };
          }
        },
        ontext: (data) => {
          if (this.loc !== null && this.loc.text.length <= MAX_LOC_CHARS) this.loc.text += data;
        },
        onclosetag: () => {
          if (this.full) return;
          const loc = this.loc;
          if (loc !== null && loc.depth === this.open.length) {
            this.loc = null;
            const url = loc.text.length <= MAX_LOC_CHARS ? absolute(loc.text, this.sitemapUrl) : null;
            if (url !== null) {
              const list = loc.kind === 'index' ? this.indexLocs : this.urlLocs;
              list.push(url);
              if (list.length >= this.maxLocs) this.full = true;
            }
          }
          this.open.pop();
        },
      },
      { xmlMode: true },
    );
  }

  private writeText(text: string): void {
    const lines = (this.partialLine + text).split('\n');
    this.partialLine = lines.pop() ?? '';
    for (const line of lines) {
      this.textLine(line);
      if (this.full || this.textInvalid) return;
    }
    // One endless "line" is not a list of URLs.
    if (this.partialLine.length > MAX_LOC_CHARS) this.textInvalid = true;
  }

  private textLine(raw: string): void {
    const line = raw.trim();
    if (line === '' || this.textInvalid) return;
    const url = /^https?:\/\//i.test(line) && line.length <= MAX_LOC_CHARS ? absolute(line, this.sitemapUrl) : null;
    if (url === null) {
      this.textInvalid = true;
      return;
    }
    this.textLocs!.push(url);
    if (this.textLocs!.length >= this.maxLocs) this.full = true;
  }
}

/**
 * Parse one sitemap document: XML urlset or index, or a text file of one URL
 * per line. At most `maxLocs` locs are read; throws SitemapError when the XML
 * nests deeper than MAX_SITEMAP_NESTING.
 */
export function parseSitemap(text: string, sitemapUrl: string, maxLocs = DEFAULT_SITEMAP_LIMITS.maxUrls): ParsedSitemap {
  const reader = new SitemapReader(sitemapUrl, maxLocs);
  for (let i = 0; i < text.length && !reader.full; i += CHUNK_BYTES) reader.write(text.slice(i, i + CHUNK_BYTES));
  return reader.end();
}

/** Inflated chunks of a gzipped body (sitemap.xml.gz is served as a gzip file, not a Content-Encoding), or the body as is. */
async function* bodyChunks(body: Uint8Array): AsyncGenerator<Uint8Array> {
  if (body[0] !== 0x1f || body[1] !== 0x8b) {
    for (let i = 0; i < body.length; i += CHUNK_BYTES) yield body.subarray(i, i + CHUNK_BYTES);
    return;
  }
  const gunzip = zlib.createGunzip({ chunkSize: CHUNK_BYTES });
  gunzip.end(body);
  try {
    // Pulled one chunk at a time: when the reader stops, inflating stops.
    for await (const chunk of gunzip as AsyncIterable<Buffer>) yield chunk;
  } finally {
    gunzip.destroy();
  }
}

/** Read one fetched sitemap, stopping at `maxLocs` locs or `maxBytes` inflated bytes. */
export async function readSitemapBody(body: Uint8Array, sitemapUrl: string, maxLocs: number, maxBytes: number): Promise<ParsedSitemap> {
  const reader = new SitemapReader(sitemapUrl, maxLocs);
  const decoder = new TextDecoder('utf-8');
  let bytes = 0;
  let truncated: string | undefined;
  for await (const chunk of bodyChunks(body)) {
    const room = maxBytes - bytes;
    bytes += chunk.length;
    reader.write(decoder.decode(chunk.subarray(0, Math.max(room, 0)), { stream: true }));
    if (bytes > maxBytes) {
      truncated = `sitemap larger than ${maxBytes} bytes: read the first ${maxBytes}`;
      break;
    }
    if (reader.full) break;
  }
  if (truncated === undefined) reader.write(decoder.decode());
  const parsed = reader.end();
  return truncated === undefined ? parsed : { ...parsed, truncated };
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
        parsed = await readSitemapBody(response.body, response.url, limits.maxUrls - result.urls.length, limits.maxInflatedBytes);
      } catch (err) {
        if (signal.aborted) throw err;
        result.problems.push({ url, message: err instanceof Error ? err.message : String(err) });
        continue;
      }
      if (parsed.truncated !== undefined) result.problems.push({ url, message: parsed.truncated });
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

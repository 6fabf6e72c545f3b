// The one-worker crawl's frontier: every URL it has met, by normalised key,
// and what became of it (queued, being fetched, a page, an alias of a page,
// done, skipped), with the queue of URLs to fetch in breadth-first order.
// Which URLs are admitted is discovery.ts's rule; why one is not, the ledger's.
import type { CrawlLedger } from './crawlLedger.js';
import { keyedUrl, linkSkip } from './discovery.js';
import type { CrawlScope } from './scope.js';

export interface Candidate {
  key: string;
  fetchUrl: string;
  depth: number;
  /** Discovery depth (the scope's maxDiscoveryDepth): link hops from the start page or a sitemap URL, both 0. */
  hops: number;
  /** Ordering within a depth: the parent's fetch order, then the link's position. */
  parentSeq: number;
  index: number;
  /** Named by the client (start URL or urls[] entry): refusals are failures, not skips. */
  named: boolean;
  /** False for a filtered start URL, fetched only for its links. */
  asPage: boolean;
  seq: number;
}

export type KeyState =
  | 'queued'
  | 'active' // being fetched
  | 'page'
  | 'alias' // stands for a page under another URL (canonical); never fetched
  | 'done' // fetched, no page (failure, duplicate, discovery only)
  | 'skipped'; // never fetched (filter, robots, extension, site, limit)

function compareCandidates(a: Candidate, b: Candidate): number {
  return a.depth - b.depth || a.parentSeq - b.parentSeq || a.index - b.index;
}

const INVALID_URL = { code: 'invalid_url', message: 'not a valid http(s) URL' };

export class Frontier {
  private readonly states = new Map<string, KeyState>();
  /** For 'alias' keys: the URL of the page that stands for them. */
  private readonly aliasOf = new Map<string, string>();
  private readonly discovered = new Set<string>();
  private readonly queue: Candidate[] = [];

  constructor(
    private readonly scope: CrawlScope,
    private readonly ledger: CrawlLedger,
    /** URLs waiting to be fetched; later ones are dropped. */
    private readonly maxQueue: number,
  ) {}

  state(key: string): KeyState | undefined {
    return this.states.get(key);
  }

  set(key: string, state: KeyState): void {
    this.states.set(key, state);
  }

  /** `key` is never fetched: the page `of` stands for it (its canonical URL). */
  alias(key: string, of: string): void {
    this.states.set(key, 'alias');
    this.aliasOf.set(key, of);
  }

  /** The page `key` stands for, when it is an alias. */
  aliasTarget(key: string): string | undefined {
    return this.states.get(key) === 'alias' ? this.aliasOf.get(key) : undefined;
  }

  /** The page `key` is one with when it is, or is about to be, a page (or stands for one): a URL that leads there is a duplicate. */
  claimedBy(key: string): string | undefined {
    const state = this.states.get(key);
    return state === 'page' || state === 'active' ? key : this.aliasTarget(key);
  }

  /** Count a same-site candidate URL toward urlsDiscovered. */
  discover(key: string): void {
    if (!this.discovered.has(key)) {
      this.discovered.add(key);
      this.ledger.result.urlsDiscovered = this.discovered.size;
    }
  }

  /** A URL the client named (a urls[] entry; the start URL in single mode): a refusal is a failure. */
  addNamed(raw: string, index: number): void {
    const named = keyedUrl(this.scope, raw);
    if (named === null) return this.ledger.fail(raw, INVALID_URL, false);
    const { url, key } = named;
    if (this.states.has(key)) return; // listed twice
    this.discover(key);
    if (!this.scope.filter(url)) {
      this.states.set(key, 'skipped');
      this.ledger.fail(key, { code: 'filtered', message: 'excluded by the crawl patterns' }, false);
      return;
    }
    this.push({ key, fetchUrl: url, depth: 0, hops: 0, parentSeq: 0, index, named: true, asPage: true, seq: 0 });
  }

  /** Discover mode's start URL: fetched even when the patterns exclude it, for its links. False when it is no URL. */
  addStart(raw: string): boolean {
    const start = keyedUrl(this.scope, raw);
    if (start === null) {
      this.ledger.fail(raw, INVALID_URL, false);
      return false;
    }
    this.discover(start.key);
    this.push({ key: start.key, fetchUrl: start.url, depth: 0, hops: 0, parentSeq: 0, index: 0, named: true, asPage: this.scope.filter(start.url), seq: 0 });
    return true;
  }

  /** Queue found links (or sitemap URLs) that may become pages. */
  addLinks(urls: readonly string[], depth: number, parentSeq: number, hops: number): void {
    if (!this.scope.withinDepth(hops)) return;
    urls.forEach((raw, index) => {
      const link = keyedUrl(this.scope, raw);
      if (link === null || this.states.has(link.key)) return;
      const skip = (why: Parameters<CrawlLedger['skip']>[0]) => {
        this.states.set(link.key, 'skipped');
        this.ledger.skip(why);
      };
      const why = linkSkip(this.scope, link.url);
      if (why === 'offsite' || why === 'nonHtml') return skip(why);
      this.discover(link.key);
      if (why === 'filtered') return skip(why);
      if (this.queue.length >= this.maxQueue) return skip('overLimit');
      this.push({ key: link.key, fetchUrl: link.url, depth, hops, parentSeq, index, named: false, asPage: true, seq: 0 });
    });
  }

  /** The next URL to fetch, still queued (entries claimed meanwhile by a redirect or a canonical link are dropped). */
  next(): Candidate | undefined {
    for (;;) {
      const head = this.queue[0];
      if (head === undefined || this.states.get(head.key) === 'queued') return head;
      this.queue.shift();
    }
  }

  /** Take the URL next() returned. */
  take(): void {
    this.queue.shift();
  }

  hasQueued(): boolean {
    return this.queue.some((c) => this.states.get(c.key) === 'queued');
  }

  /** Queued URLs that would become pages (for the progress estimate). */
  queuedPages(): number {
    let queued = 0;
    for (const c of this.queue) if (c.asPage && this.states.get(c.key) === 'queued') queued++;
    return queued;
  }

  private push(c: Candidate): void {
    this.states.set(c.key, 'queued');
    // Binary insert keeps the queue in breadth-first order even when pages finish out of order.
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareCandidates(this.queue[mid]!, c) <= 0) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, c);
  }
}

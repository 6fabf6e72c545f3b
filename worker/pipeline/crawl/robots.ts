// robots.txt, read once per origin per crawl (once a day for every job and worker
// through the shared host limits: loadStoredRobots), with Google's documented rules
// for the cases the standard (RFC 9309) leaves to the crawler:
//   - 2xx: the file's rules for our user agent (or the "*" group); content
//     after the first 500 KiB is ignored.
//   - 3xx: followed by the outbound client (at most its redirect limit).
//   - 4xx other than 429: there is no robots.txt; everything is allowed.
//   - 429, 5xx, and an unreachable server (DNS, connect, timeout): the whole
//     origin is treated as disallowed, since the site may be overloaded or
//     its rules unknown.
// Crawl-delay (not in RFC 9309, ignored by Google, honoured by Bing and
// Yandex) is kept as a floor on the per-host delay, capped.
import { createRequire } from 'node:module';
import { OutboundError, type FetchedResponse } from '../../../core/outbound/index.js';

/** The parts of robots-parser's Robot that are used. */
interface ParsedRobots {
  isAllowed(url: string, ua?: string): boolean | undefined;
  getCrawlDelay(ua?: string): number | undefined;
  getSitemaps(): string[];
}

// robots-parser is CommonJS whose typings declare an ES default export that
// does not exist at run time; load it the way Node does.
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, contents: string) => ParsedRobots;

/** One Allow/Disallow line as robots-parser keeps it (pattern already percent-normalised). */
interface RobotsRule {
  pattern: string;
  allow: boolean;
}

/**
 * The rules robots-parser parsed for `userAgent` (its group, else "*"). They
 * are read from the parser's internal table because its matcher costs
 * |pattern| × |path| per rule (`Disallow: /****…` of 240,000 stars took 1.7 s
 * per URL of 2,000 characters); undefined if that table is not as expected.
 */
function rulesFor(robots: ParsedRobots, userAgent: string): RobotsRule[] | undefined {
  const table = (robots as unknown as { _rules?: unknown })._rules;
  if (table === null || typeof table !== 'object') return undefined;
  // robots-parser's formatUserAgent: lower case, without "/version".
  const ua = userAgent.toLowerCase().split('/')[0]!.trim();
  const rules = (table as Record<string, unknown>)[ua] ?? (table as Record<string, unknown>)['*'] ?? [];
  if (!Array.isArray(rules) || !rules.every((r) => typeof r?.pattern === 'string' && typeof r?.allow === 'boolean')) return undefined;
  return rules as RobotsRule[];
}

/** A rule compiled once: the literal pieces between its `*`s (runs of `*` are one). */
interface CompiledRule {
  /** robots-parser's precedence compares the pattern as written. */
  length: number;
  allow: boolean;
  anchored: boolean;
  pieces: string[];
}

function compileRule(rule: RobotsRule): CompiledRule {
  const anchored = rule.pattern.endsWith('$');
  const split = (anchored ? rule.pattern.slice(0, -1) : rule.pattern).split('*');
  // Keep the first and last pieces (prefix and suffix, even empty); drop empty middles.
  const pieces = split.length <= 2 ? split : [split[0]!, ...split.slice(1, -1).filter((p) => p !== ''), split[split.length - 1]!];
  return { length: rule.pattern.length, allow: rule.allow, anchored, pieces };
}

/**
 * Google's robots.txt matching (a prefix match; `*` any run of characters,
 * a final `$` anchors the end), by greedy leftmost search for the pieces
 * between the `*`s: exact for such patterns, and linear in pattern + path.
 */
function ruleMatches(rule: CompiledRule, path: string): boolean {
  const { pieces, anchored } = rule;
  const first = pieces[0]!;
  if (!path.startsWith(first)) return false;
  if (pieces.length === 1) return !anchored || path.length === first.length;
  let pos = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i]!;
    const at = path.indexOf(piece, pos);
    if (at < 0) return false;
    pos = at + piece.length;
  }
  const last = pieces[pieces.length - 1]!;
  if (!anchored) return last === '' || path.includes(last, pos);
  return path.length - last.length >= pos && path.endsWith(last);
}

/** Whether the robots.txt `pattern` matches `path` (exported for the equivalence test). */
export function robotsRuleMatches(pattern: string, path: string): boolean {
  return ruleMatches(compileRule({ pattern, allow: false }), path);
}

/** robots-parser's precedence: the longest matching pattern wins; on a tie, Allow. No rule: allowed. */
function allowedByRules(rules: readonly CompiledRule[], url: string): boolean {
  const parsed = new URL(url);
  // As robots-parser compares: path and query, escapes in upper case.
  const path = (parsed.pathname + parsed.search).replace(/%[0-9a-fA-F]{2}/g, (m) => m.toUpperCase());
  let best: CompiledRule | null = null;
  for (const rule of rules) {
    if (best !== null && rule.length < best.length) continue;
    if (best !== null && rule.length === best.length && (best.allow || !rule.allow)) continue;
    if (ruleMatches(rule, path)) best = rule;
  }
  return best === null || best.allow;
}

/** RFC 9309 §2.5 lets parsers stop at 500 KiB; Google does. */
const MAX_ROBOTS_BYTES = 500 * 1024;

export type RobotsStatus = 'parsed' | 'missing' | 'unavailable';

export interface RobotsPolicy {
  /** parsed: the file's rules; missing: 4xx, allow all; unavailable: 5xx/429/unreachable, disallow all. */
  status: RobotsStatus;
  /** Why the file is unavailable (for failure messages). */
  problem?: string;
  /** The host could not be reached at all (refused address, DNS, connect, timeout): the page would fail the same way. */
  unreachable?: OutboundError;
  isAllowed(url: string): boolean;
  /** Crawl-delay for our user agent in ms, capped; undefined when not given. */
  crawlDelayMs: number | undefined;
  /** Sitemap: lines, as absolute URLs. */
  sitemaps: string[];
}

export interface RobotsOptions {
  userAgent: string;
  /** Longest Crawl-delay honoured; longer values are cut to this. */
  maxCrawlDelayMs: number;
}

/** GET one robots.txt (through the host's politeness limits); throws OutboundError. */
export type RobotsFetch = (robotsUrl: string) => Promise<FetchedResponse>;

const allowAll = (status: RobotsStatus): RobotsPolicy => ({ status, isAllowed: () => true, crawlDelayMs: undefined, sitemaps: [] });

const disallowAll = (problem: string): RobotsPolicy => ({ status: 'unavailable', problem, isAllowed: () => false, crawlDelayMs: undefined, sitemaps: [] });

// Failures of reaching the host, not of the file: reported as the page's own error.
const UNREACHABLE = new Set(['blocked_address', 'dns_failed', 'connect_failed', 'timeout', 'invalid_url', 'unsupported_protocol']);

/** Build the policy from a robots.txt body. */
export function parseRobots(robotsUrl: string, body: string, opts: RobotsOptions): RobotsPolicy {
  const robots = robotsParser(robotsUrl, body);
  const delaySeconds = robots.getCrawlDelay(opts.userAgent);
  const crawlDelayMs =
    delaySeconds !== undefined && Number.isFinite(delaySeconds) && delaySeconds > 0
      ? Math.min(Math.round(delaySeconds * 1000), opts.maxCrawlDelayMs)
      : undefined;
  const sitemaps: string[] = [];
  for (const s of robots.getSitemaps()) {
    try {
      sitemaps.push(new URL(s, robotsUrl).href);
    } catch {
      /* not a URL: skip it */
    }
  }
  const rules = rulesFor(robots, opts.userAgent)?.map(compileRule);
  const origin = new URL(robotsUrl).origin;
  return {
    status: 'parsed',
    // Another origin's URL is never asked, since policies are per origin; robots-parser answers undefined for it.
    isAllowed: (url) =>
      rules !== undefined && new URL(url).origin === origin ? allowedByRules(rules, url) : robots.isAllowed(url, opts.userAgent) !== false,
    crawlDelayMs,
    sitemaps,
  };
}

/** What an origin answered for robots.txt that says its rules: the file (2xx), or none (a 4xx other than 429, status kept). */
export interface RobotsAnswer {
  status: number;
  body: string;
}

/**
 * Fetch `origin`/robots.txt: its answer, or the policy of a file that could not
 * be read (5xx, 429, unreachable, too large). Never throws for the site's
 * behaviour; rethrows only an abort of our own.
 */
async function readRobots(robotsUrl: string, fetch: RobotsFetch, signal: AbortSignal): Promise<RobotsAnswer | RobotsPolicy> {
  let response: FetchedResponse;
  try {
    response = await fetch(robotsUrl);
  } catch (err) {
    if (signal.aborted) throw err;
    if (err instanceof OutboundError && err.code === 'http_status' && err.status !== undefined) {
      if (err.status >= 400 && err.status < 500 && err.status !== 429) return { status: err.status, body: '' };
      return disallowAll(`robots.txt answered HTTP ${err.status}`);
    }
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof OutboundError && UNREACHABLE.has(err.code)) return { ...disallowAll(`robots.txt could not be read: ${message}`), unreachable: err };
    // Too large or undecodable counts as unreadable rules: stay out rather than guess.
    return disallowAll(`robots.txt could not be read: ${message}`);
  }
  // Whatever answered in the end is the file (status 200 when kept): the client has followed redirects and refused the rest.
  return { status: 200, body: new TextDecoder('utf-8').decode(response.body.subarray(0, MAX_ROBOTS_BYTES)) };
}

/**
 * The policy of an answer. A file is parsed as the one of the origin that was
 * asked, even after a redirect: the rules found at the end of the redirects
 * govern that origin.
 */
function policyOf(robotsUrl: string, answer: RobotsAnswer, opts: RobotsOptions): RobotsPolicy {
  return answer.status < 300 ? parseRobots(robotsUrl, answer.body, opts) : allowAll('missing');
}

const isPolicy = (read: RobotsAnswer | RobotsPolicy): read is RobotsPolicy => 'isAllowed' in read;

/**
 * Fetch and interpret `origin`/robots.txt. Never throws for the site's
 * behaviour (that becomes the policy); rethrows only an abort of our own.
 */
export async function loadRobots(origin: string, fetch: RobotsFetch, opts: RobotsOptions, signal: AbortSignal): Promise<RobotsPolicy> {
  const robotsUrl = new URL('/robots.txt', origin).href;
  const read = await readRobots(robotsUrl, fetch, signal);
  return isPolicy(read) ? read : policyOf(robotsUrl, read, opts);
}

/** RFC 9309 §2.4: a robots.txt answer may be used for up to 24 hours. */
export const ROBOTS_MAX_AGE_MS = 24 * 3_600_000;

/** Where robots.txt answers are kept for every worker and job (the shared host limits, core/crawlTasks/hosts.ts). */
export interface RobotsStore {
  cachedRobots(origin: string, maxAgeMs: number): Promise<RobotsAnswer | null>;
  storeRobots(origin: string, answer: RobotsAnswer): Promise<void>;
}

/**
 * loadRobots through `store`: an answer any worker read within ROBOTS_MAX_AGE_MS
 * is used without a request; a fetched one is kept, "no rules" (a 4xx other
 * than 429) too. A file that could not be read (5xx, 429, unreachable) is not
 * kept, so the next job asks again. The store is a cache: when the database
 * fails it, the file is fetched or not kept, never the page failed for it
 * (`onStoreError` hears why). Without a store, loadRobots.
 */
export async function loadStoredRobots(
  origin: string,
  fetch: RobotsFetch,
  opts: RobotsOptions,
  signal: AbortSignal,
  store: RobotsStore | undefined,
  onStoreError: (err: unknown) => void = () => {},
): Promise<RobotsPolicy> {
  if (!store) return loadRobots(origin, fetch, opts, signal);
  const robotsUrl = new URL('/robots.txt', origin).href;
  const cached = await store.cachedRobots(origin, ROBOTS_MAX_AGE_MS).catch((err: unknown) => {
    onStoreError(err);
    return null;
  });
  if (cached) return policyOf(robotsUrl, cached, opts);
  const read = await readRobots(robotsUrl, fetch, signal);
  if (isPolicy(read)) return read;
  // A text column holds no NUL (a UTF-16 file read as UTF-8 is full of them); the rules do not need them.
  await store.storeRobots(origin, { status: read.status, body: read.body.replaceAll('\0', '') }).catch(onStoreError);
  return policyOf(robotsUrl, read, opts);
}

/** One policy per origin per crawl; concurrent callers share the one fetch. */
export class RobotsCache {
  private readonly byOrigin = new Map<string, Promise<RobotsPolicy>>();

  constructor(private readonly load: (origin: string) => Promise<RobotsPolicy>) {}

  forUrl(url: string): Promise<RobotsPolicy> {
    const origin = new URL(url).origin;
    let policy = this.byOrigin.get(origin);
    if (policy === undefined) {
      policy = this.load(origin);
      this.byOrigin.set(origin, policy);
    }
    return policy;
  }
}

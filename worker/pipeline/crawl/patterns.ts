// includePatterns / excludePatterns: globs over a URL's path (never its
// host or query). `*` matches within one path segment, `**` as a whole
// segment matches any number of segments, zero included; everything else is
// literal. Matching is case-sensitive, like paths, and compares decoded
// segments, so "/docs/café" and "/docs/caf%C3%A9" are the same pattern.
//
// Patterns come from clients and paths from crawled pages, so matching must
// never backtrack: segments are matched by simulating the glob as an NFA
// (one pass over the path's segments, each state visited once per segment),
// and a segment's `*`s by greedy leftmost search. The work is bounded by
// (pattern length + 1) × (path length + 1) steps whatever the input.

export type UrlFilter = (url: string) => boolean;

/** Step counter (tests bound the matcher's work with it); matching stops with BudgetSpent past `limit`. */
export interface MatchWork {
  steps: number;
  limit?: number;
}

/** Thrown inside the matcher when `work.limit` is passed. */
class BudgetSpent extends Error {}

function checkBudget(work: MatchWork, pending: number): void {
  if (work.limit !== undefined && work.steps + pending > work.limit) throw new BudgetSpent();
}

/**
 * Steps one crawl may spend matching URLs. Linear time is still |pattern| ×
 * |path| per URL: 40 patterns of 200 characters built against a site's long
 * links could otherwise cost seconds per page, page after page. Ordinary
 * patterns take tens to hundreds of steps per URL (1,000 URLs of 50 segments
 * against five patterns: 1M steps); spending all of this takes
 * 1.5–3 s (bench/adversarial.ts).
 */
export const DEFAULT_FILTER_STEPS = 100_000_000;

// Segment kinds: "**" (any number of segments), a lone "*" (any one segment),
// a literal, or literal pieces around `*`s.
const DEEP = 0;
const ANY = 1;
const LITERAL = 2;
const STAR = 3;

interface Glob {
  kinds: Uint8Array;
  /** Per segment: its literal pieces (decoded), split at the `*`s. */
  pieces: readonly (readonly string[])[];
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray "%" is literal
  }
}

/** Path segments of a pattern or path: "/a/b" → ["a", "b"]; "/" → []; a trailing slash adds nothing. */
function segments(path: string): string[] {
  const parts = path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  return parts;
}

/**
 * A run of "*" and "**" segments with at least one "**" means "at least as
 * many segments as it has "*"s": written as those "*"s then one "**", so the
 * NFA keeps one state for the run instead of one per segment.
 */
function normalizeWildcardRuns(segs: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < segs.length; ) {
    if (!/^\*+$/.test(segs[i]!)) {
      out.push(segs[i++]!);
      continue;
    }
    let stars = 0;
    let deep = false;
    for (; i < segs.length && /^\*+$/.test(segs[i]!); i++) {
      if (segs[i] === '**') deep = true;
      else stars++;
    }
    for (let k = 0; k < stars; k++) out.push('*');
    if (deep) out.push('**');
  }
  return out;
}

function compileGlob(pattern: string): Glob {
  let p = pattern.trim();
  // A full URL is accepted for convenience; only its path is a pattern.
  const scheme = /^https?:\/\/[^/]*/i.exec(p);
  if (scheme) p = p.slice(scheme[0].length) || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  // Inside a segment, "**" is no different from "*". Segments are split
  // before decoding, so "*" cannot cross a real "/" but may match "%2F".
  const segs = normalizeWildcardRuns(segments(p));
  const pieces = segs.map((seg) => (seg === '**' ? [] : seg.split(/\*+/).map(decodeSegment)));
  const kinds = Uint8Array.from(segs, (seg, i) => {
    if (seg === '**') return DEEP;
    const ps = pieces[i]!;
    if (ps.length === 1) return LITERAL;
    return ps.length === 2 && ps[0] === '' && ps[1] === '' ? ANY : STAR;
  });
  return { kinds, pieces };
}

/** Whether `text` has `piece` at `at` (UTF-16 units, like the RegExp this replaced). */
function hasAt(text: string, piece: string, at: number, work: MatchWork): boolean {
  for (let j = 0; j < piece.length; j++) {
    work.steps++;
    if (text.charCodeAt(at + j) !== piece.charCodeAt(j)) return false;
  }
  return true;
}

/**
 * One segment against literal pieces around `*`s. Greedy leftmost placement
 * of the middle pieces is exact for `*`-only globs (a later placement never
 * leaves more room), so there is no backtracking: at most |glob| × |segment| steps.
 */
function matchStar(pieces: readonly string[], seg: string, work: MatchWork): boolean {
  const first = pieces[0] ?? '';
  const last = pieces[pieces.length - 1] ?? '';
  const end = seg.length - last.length;
  if (end < first.length || !hasAt(seg, first, 0, work) || !hasAt(seg, last, end, work)) return false;
  let pos = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] ?? '';
    let found = -1;
    for (let at = pos; at + piece.length <= end; at++) {
      work.steps++;
      if ((at & 1023) === 0) checkBudget(work, 0);
      if (hasAt(seg, piece, at, work)) {
        found = at;
        break;
      }
    }
    if (found < 0) return false;
    pos = found + piece.length;
  }
  return true;
}

/**
 * NFA simulation over segments: `states[g]` means glob[0..g) matched the path
 * read so far. Each state is visited at most once per path segment.
 */
function matchSegments(glob: Glob, path: readonly string[], work: MatchWork): boolean {
  const { kinds, pieces } = glob;
  const n = kinds.length;
  let states = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  let steps = 0;
  // Active states are kept from `low` on: a state below the first active one never comes back.
  let low = 0;
  // "**" may match zero segments: whoever reaches it also reaches what follows.
  const close = (set: Uint8Array, from: number) => {
    for (let g = from; g < n; g++) if (set[g] === 1 && kinds[g] === DEEP) set[g + 1] = 1;
    steps += n - from;
  };
  states[0] = 1;
  close(states, 0);
  for (const seg of path) {
    next.fill(0, low);
    let nextLow = -1;
    for (let g = low; g < n; g++) {
      if (states[g] !== 1) continue;
      steps++;
      const kind = kinds[g];
      if (kind === DEEP) {
        next[g] = 1;
        if (nextLow < 0) nextLow = g;
        continue;
      }
      let ok: boolean;
      if (kind === ANY) ok = true;
      else if (kind === LITERAL) {
        const lit = pieces[g]![0]!;
        steps += lit.length;
        ok = seg === lit;
      } else ok = matchStar(pieces[g]!, seg, work);
      if (ok) {
        next[g + 1] = 1;
        if (nextLow < 0) nextLow = g + 1;
      }
    }
    if (nextLow < 0) {
      work.steps += steps;
      return false;
    }
    checkBudget(work, steps);
    low = nextLow;
    close(next, low);
    [states, next] = [next, states];
  }
  work.steps += steps;
  return states[n] === 1;
}

/** Whether `path` (a URL path, percent-encoded or not) matches the glob `pattern`. */
export function matchesGlob(pattern: string, path: string, work: MatchWork = { steps: 0 }): boolean {
  return matchSegments(compileGlob(pattern), segments(path).map(decodeSegment), work);
}

export interface UrlFilterOptions {
  /** Steps of matching this filter may spend in all (default DEFAULT_FILTER_STEPS). */
  maxSteps?: number;
  /** Called once when the budget is spent; from then on every URL is refused. */
  onBudgetSpent?: () => void;
}

/**
 * A filter over URLs: included when no include pattern is given or one
 * matches, and no exclude pattern matches (exclude wins). Once its matching
 * budget is spent it refuses everything: a crawl then stops discovering
 * rather than stalling its worker.
 */
export function createUrlFilter(includePatterns: readonly string[] = [], excludePatterns: readonly string[] = [], opts: UrlFilterOptions = {}): UrlFilter {
  const include = includePatterns.map(compileGlob);
  const exclude = excludePatterns.map(compileGlob);
  if (include.length === 0 && exclude.length === 0) return () => true;
  const work: MatchWork = { steps: 0, limit: opts.maxSteps ?? DEFAULT_FILTER_STEPS };
  let spent = false;
  return (url) => {
    if (spent) return false;
    let pathname: string;
    try {
      pathname = new URL(url).pathname;
    } catch {
      return false;
    }
    const path = segments(pathname).map(decodeSegment);
    try {
      if (exclude.some((g) => matchSegments(g, path, work))) return false;
      return include.length === 0 || include.some((g) => matchSegments(g, path, work));
    } catch (err) {
      if (!(err instanceof BudgetSpent)) throw err;
      spent = true;
      opts.onBudgetSpent?.();
      return false;
    }
  };
}

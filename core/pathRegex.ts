// Firecrawl's includePaths / excludePaths: regular expressions over a URL's
// path, searched (not anchored) as Firecrawl does. They come from clients, so
// they are compiled by re2js (RE2: no backreferences or lookaround, matching
// in time linear in the path), never by RegExp, and counted repetitions are
// capped so a pattern cannot compile into a huge program.
import { RE2JS } from 're2js';

export const MAX_PATH_REGEX_LENGTH = 200;
const MAX_REPEAT = 100;

/** Why a client's pattern is refused, or null when it compiles within the caps. */
export function pathRegexProblem(pattern: string): string | null {
  if (pattern.length === 0) return 'must not be empty';
  if (pattern.length > MAX_PATH_REGEX_LENGTH) return `must be at most ${MAX_PATH_REGEX_LENGTH} characters`;
  for (const m of pattern.matchAll(/\{(\d{1,6})(?:,(\d{0,6}))?\}/g)) {
    if (Number(m[1]) > MAX_REPEAT || Number(m[2] || 0) > MAX_REPEAT) return `may repeat at most ${MAX_REPEAT} times ({n,m})`;
  }
  try {
    RE2JS.compile(pattern);
    return null;
  } catch (err) {
    return `is not a valid regular expression (${err instanceof Error ? err.message : 'RE2 syntax'})`;
  }
}

/** URL → whether its path passes: no exclude pattern found in it, and some include pattern (when any) found. */
export function createPathRegexFilter(include: readonly string[] = [], exclude: readonly string[] = []): (url: string) => boolean {
  if (include.length === 0 && exclude.length === 0) return () => true;
  const inc = include.map((p) => RE2JS.compile(p));
  const exc = exclude.map((p) => RE2JS.compile(p));
  return (url) => {
    let path: string;
    try {
      path = new URL(url).pathname;
    } catch {
      return false;
    }
    if (exc.some((r) => r.test(path))) return false;
    return inc.length === 0 || inc.some((r) => r.test(path));
  };
}

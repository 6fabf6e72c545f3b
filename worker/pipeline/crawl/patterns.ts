// includePatterns / excludePatterns: globs over a URL's path (never its
// host or query). `*` matches within one path segment, `**` as a whole
// segment matches any number of segments, zero included; everything else is
// literal. Matching is case-sensitive, like paths, and compares decoded
// segments, so "/docs/café" and "/docs/caf%C3%A9" are the same pattern.

export type UrlFilter = (url: string) => boolean;

type SegmentMatcher = '**' | RegExp;

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s; // a stray "%" is literal
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Path segments of a pattern or path: "/a/b" → ["a", "b"]; "/" → []; a trailing slash adds nothing. */
function segments(path: string): string[] {
  const parts = path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
  return parts;
}

function compileGlob(pattern: string): SegmentMatcher[] {
  let p = pattern.trim();
  // A full URL is accepted for convenience; only its path is a pattern.
  const scheme = /^https?:\/\/[^/]*/i.exec(p);
  if (scheme) p = p.slice(scheme[0].length) || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return segments(p).map((seg) => {
    if (seg === '**') return '**';
    // Inside a segment, "**" is no different from "*". Segments are split
    // before decoding, so ".*" cannot cross a real "/" but may match "%2F".
    const body = seg
      .split(/\*+/)
      .map((lit) => escapeRegExp(decodeSegment(lit)))
      .join('.*');
    return new RegExp(`^${body}$`, 's');
  });
}

function matchSegments(glob: SegmentMatcher[], gi: number, path: string[], pi: number): boolean {
  for (; gi < glob.length; gi++, pi++) {
    const g = glob[gi]!;
    if (g === '**') {
      // Collapse runs of "**", then try every split point.
      while (glob[gi + 1] === '**') gi++;
      if (gi === glob.length - 1) return true;
      for (let k = pi; k <= path.length; k++) if (matchSegments(glob, gi + 1, path, k)) return true;
      return false;
    }
    const seg = path[pi];
    if (seg === undefined || !g.test(seg)) return false;
  }
  return pi === path.length;
}

/** Whether `path` (a URL path, percent-encoded or not) matches the glob `pattern`. */
export function matchesGlob(pattern: string, path: string): boolean {
  return matchSegments(compileGlob(pattern), 0, segments(path).map(decodeSegment), 0);
}

/**
 * A filter over URLs: included when no include pattern is given or one
 * matches, and no exclude pattern matches (exclude wins).
 */
export function createUrlFilter(includePatterns: readonly string[] = [], excludePatterns: readonly string[] = []): UrlFilter {
  const include = includePatterns.map(compileGlob);
  const exclude = excludePatterns.map(compileGlob);
  if (include.length === 0 && exclude.length === 0) return () => true;
  return (url) => {
    let pathname: string;
    try {
      pathname = new URL(url).pathname;
    } catch {
      return false;
    }
    const path = segments(pathname).map(decodeSegment);
    if (exclude.some((g) => matchSegments(g, 0, path, 0))) return false;
    return include.length === 0 || include.some((g) => matchSegments(g, 0, path, 0));
  };
}

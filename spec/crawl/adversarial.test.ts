// Adversarial input for the crawler: include/exclude patterns built to make a
// backtracking matcher explode, checked by the matcher's own step count and
// against a calibration measured in this run; and the same semantics as the
// RegExp matcher this replaced, by property test on small inputs. The same for
// a hostile site's robots.txt rules against robots-parser's own matcher.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { createUrlFilter, DEFAULT_FILTER_STEPS, matchesGlob, type MatchWork } from '../../worker/pipeline/crawl/patterns.js';
import { parseRobots } from '../../worker/pipeline/crawl/robots.js';

// The robots.txt library whose parsing is kept and whose matching is replaced (the reference for its semantics).
const robotsParser = createRequire(import.meta.url)('robots-parser') as (url: string, body: string) => { isAllowed(url: string, ua: string): boolean | undefined };

// ---------------------------------------------------------------------------
// The former matcher (a backtracking RegExp per segment, every split tried for
// "**"), kept here only as the reference for the semantics.

type RefSegment = '**' | RegExp;
const refDecode = (s: string) => {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
};
const refSegments = (path: string) => path.split('/').filter((p, i, all) => !(p === '' && (i === 0 || i === all.length - 1)));
function refCompile(pattern: string): RefSegment[] {
  let p = pattern.trim();
  const scheme = /^https?:\/\/[^/]*/i.exec(p);
  if (scheme) p = p.slice(scheme[0].length) || '/';
  if (!p.startsWith('/')) p = `/${p}`;
  return refSegments(p).map((seg) => {
    if (seg === '**') return '**';
    const body = seg
      .split(/\*+/)
      .map((lit) => refDecode(lit).replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
    return new RegExp(`^${body}$`, 's');
  });
}
function refMatch(glob: RefSegment[], gi: number, path: string[], pi: number): boolean {
  for (; gi < glob.length; gi++, pi++) {
    const g = glob[gi]!;
    if (g === '**') {
      while (glob[gi + 1] === '**') gi++;
      if (gi === glob.length - 1) return true;
      for (let k = pi; k <= path.length; k++) if (refMatch(glob, gi + 1, path, k)) return true;
      return false;
    }
    const seg = path[pi];
    if (seg === undefined || !g.test(seg)) return false;
  }
  return pi === path.length;
}
const refMatchesGlob = (pattern: string, path: string) => refMatch(refCompile(pattern), 0, refSegments(path).map(refDecode), 0);

// ---------------------------------------------------------------------------

/** Adversarial (pattern, path) pairs: each takes a backtracking matcher exponential or high-polynomial time. */
function adversarial(n: number): { name: string; pattern: string; path: string }[] {
  const k = 30;
  return [
    { name: 'stars in one segment, no final match', pattern: `/${'*a'.repeat(k)}*b`, path: `/${'a'.repeat(n)}` },
    { name: 'stars around "**"', pattern: `/**/${'*a*/**/'.repeat(k)}b`, path: '/a'.repeat(n / 2) },
    { name: 'many "**" splits', pattern: `${'/**/a'.repeat(k)}/b`, path: '/a'.repeat(n / 2) },
    { name: 'stars in many segments', pattern: `/**/${'*a*a*a*/'.repeat(k)}b`, path: `/${'aaaa/'.repeat(n / 5)}` },
  ];
}

/** Character comparisons of a plain nested loop over |pattern| × |path|: the work a linear-time matcher is allowed. */
function calibrate(pattern: string, path: string): number {
  const started = performance.now();
  let hits = 0;
  for (let i = 0; i < pattern.length; i++) for (let j = 0; j < path.length; j++) if (pattern.charCodeAt(i) === path.charCodeAt(j)) hits++;
  const ms = performance.now() - started;
  assert.ok(hits >= 0);
  return ms;
}

describe('include/exclude patterns against adversarial input', () => {
  for (const { name, pattern, path } of adversarial(4000)) {
    it(`${name}: work within (|pattern|+1) × (|path|+1) steps`, () => {
      const work: MatchWork = { steps: 0 };
      assert.equal(matchesGlob(pattern, path, work), false);
      const bound = (pattern.length + 1) * (path.length + 1);
      assert.ok(work.steps > 0, 'the matcher counted its steps');
      assert.ok(work.steps <= bound, `${work.steps} steps > bound ${bound} for a ${pattern.length}-char pattern and a ${path.length}-char path`);
    });
  }

  it('work grows linearly with the path, not with a power of it', () => {
    for (const { pattern, path } of adversarial(400)) {
      const small: MatchWork = { steps: 0 };
      const large: MatchWork = { steps: 0 };
      matchesGlob(pattern, path, small);
      matchesGlob(pattern, path.repeat(10), large);
      assert.ok(large.steps <= small.steps * 12, `${pattern}: ${small.steps} → ${large.steps} steps for a path 10× as long`);
    }
  });

  it('a filter of 40 adversarial patterns over a long URL takes no longer than a calibrated |pattern| × |path| loop', () => {
    // Sizes at which the former RegExp matcher needs about two seconds here (C(24, 12) placements of the
    // stars, C(20, 10) splits of the "**"s) while a linear one needs microseconds; larger ones never end.
    const include = Array.from({ length: 20 }, (_, i) => `/${'*a'.repeat(12)}*b${i}`);
    const exclude = Array.from({ length: 20 }, (_, i) => `${'/**/a'.repeat(10)}/c${i}`);
    const url = `https://example.com/${'a'.repeat(24)}${'/a'.repeat(20)}`;
    const path = new URL(url).pathname;
    const filter = createUrlFilter(include, exclude);
    filter(url); // warm up both
    calibrate(include.join('') + exclude.join(''), path);
    const budget = 20 * calibrate(include.join('') + exclude.join(''), path) + 50;
    const started = performance.now();
    assert.equal(filter(url), false);
    const took = performance.now() - started;
    assert.ok(took <= budget, `filter took ${took.toFixed(1)} ms; calibrated budget ${budget.toFixed(1)} ms`);
  });
});

describe('the matching budget of one crawl', () => {
  it('a filter refuses every URL once its budget is spent, and says so once', () => {
    let spentCalls = 0;
    const filter = createUrlFilter([`/**/${'*a*/**/'.repeat(30)}b`, '/docs/**'], [], { maxSteps: 2_000_000, onBudgetSpent: () => spentCalls++ });
    assert.equal(filter('https://example.com/docs/intro'), true);
    let checked = 0;
    while (spentCalls === 0 && checked < 10_000) filter(`https://example.com${'/a'.repeat(1000)}/${checked++}`);
    assert.equal(spentCalls, 1);
    assert.ok(checked > 1 && checked < 10_000, `spent after ${checked} adversarial URLs`);
    assert.equal(filter('https://example.com/docs/intro'), false, 'refused once the budget is spent');
    assert.equal(spentCalls, 1);
  });

  it('the default budget is far above what ordinary patterns use on long paths', () => {
    const work: MatchWork = { steps: 0 };
    const patterns = ['/docs/**', '/blog/*', '/**/reference', '/api/v*/**', '/**/*.html'];
    for (let i = 0; i < 1000; i++) for (const p of patterns) matchesGlob(p, `/docs/section-${i}/${'page/'.repeat(50)}x.html`, work);
    assert.ok(work.steps * 50 < DEFAULT_FILTER_STEPS, `${work.steps} steps for 5,000 matches`);
  });
});

describe('pattern semantics are those of the former matcher', () => {
  const token = fc.constantFrom('a', 'b', 'ab', '*', '**', '/', '/', '.', '%2F', '%', 'é', '%C3%A9', '%c3%a9', '-', '');
  const pattern = fc.oneof(
    fc.array(token, { maxLength: 8 }).map((t) => t.join('')),
    fc.array(token, { maxLength: 6 }).map((t) => `https://example.com/${t.join('')}`),
  );
  const pathToken = fc.constantFrom('a', 'b', 'ab', 'ba', '/', '/', '.', '%2F', '%', 'é', '%C3%A9', '-', '*');
  const path = fc.array(pathToken, { maxLength: 10 }).map((t) => `/${t.join('')}`);

  it('matchesGlob agrees with the RegExp matcher', () => {
    fc.assert(
      fc.property(pattern, path, (p, q) => matchesGlob(p, q) === refMatchesGlob(p, q)),
      { numRuns: 5000 },
    );
  });

  it('createUrlFilter agrees: include if any matches (or none given), exclude wins', () => {
    fc.assert(
      fc.property(fc.array(pattern, { maxLength: 3 }), fc.array(pattern, { maxLength: 3 }), path, (inc, exc, q) => {
        const url = `https://example.com${q}`;
        const pathname = new URL(url).pathname;
        const expected = !exc.some((p) => refMatchesGlob(p, pathname)) && (inc.length === 0 || inc.some((p) => refMatchesGlob(p, pathname)));
        return createUrlFilter(inc, exc)(url) === expected;
      }),
      { numRuns: 2000 },
    );
  });
});

describe('robots.txt rules from a hostile site', () => {
  const ORIGIN = 'https://site.example';
  const OPTS = { userAgent: 'GleanerBot', maxCrawlDelayMs: 1000 };
  const bodies = {
    'one rule of 240,000 stars': `User-agent: *\nDisallow: /${'*'.repeat(240_000)}b\n`,
    '120 rules of 2,000 stars and letters': `User-agent: *\n${`Disallow: /${'*a'.repeat(2000)}*b\n`.repeat(120)}`,
  };

  for (const [name, body] of Object.entries(bodies)) {
    it(`${name}: checking URLs costs less than parsing the file (calibrated)`, () => {
      const urls = [200, 1000, 2000].map((n) => `${ORIGIN}/${'a'.repeat(n)}`);
      let parseMs = Number.POSITIVE_INFINITY;
      let policy = parseRobots(`${ORIGIN}/robots.txt`, body, OPTS);
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        policy = parseRobots(`${ORIGIN}/robots.txt`, body, OPTS);
        parseMs = Math.min(parseMs, performance.now() - started);
      }
      const budget = 2 * parseMs + 20;
      const started = performance.now();
      for (const url of urls) assert.equal(policy.isAllowed(url), true);
      const took = performance.now() - started;
      assert.ok(took <= budget, `${urls.length} checks took ${took.toFixed(1)} ms; calibrated budget ${budget.toFixed(1)} ms (parsing: ${parseMs.toFixed(1)} ms)`);
    });
  }

  it("allows and disallows exactly what robots-parser's own matcher does", () => {
    const pieces = fc.constantFrom('/', 'a', 'b', 'ab', '*', '**', '$', '%2f', '%2F', 'é', '?', '=', '.');
    const pattern = fc.array(pieces, { minLength: 1, maxLength: 6 }).map((t) => t.join(''));
    const rule = fc.tuple(fc.constantFrom('Allow', 'Disallow'), pattern).map(([k, p]) => `${k}: ${p}`);
    const group = fc.tuple(fc.constantFrom('*', 'GleanerBot', 'gleanerbot/2.0', 'OtherBot'), fc.array(rule, { maxLength: 5 })).map(([ua, rules]) => [`User-agent: ${ua}`, ...rules].join('\n'));
    const body = fc.array(group, { maxLength: 3 }).map((g) => g.join('\n\n'));
    const path = fc.array(fc.constantFrom('/', 'a', 'b', 'ab', '$', '%2f', '%2F', 'é', '?', '=', '.', '*'), { maxLength: 8 }).map((t) => `/${t.join('')}`);
    fc.assert(
      fc.property(body, path, (b, p) => {
        const url = `${ORIGIN}${p}`;
        const expected = robotsParser(`${ORIGIN}/robots.txt`, b).isAllowed(url, 'GleanerBot') !== false;
        return parseRobots(`${ORIGIN}/robots.txt`, b, OPTS).isAllowed(url) === expected;
      }),
      { numRuns: 5000 },
    );
  });
});

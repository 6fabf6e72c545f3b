// Timings for the hostile-input paths (the tests bound their work; durations
// are measured here): page extraction on hostile shapes (n and 4n), include/
// exclude patterns at their worst, a crawl's pattern budget spent, sitemap
// nesting bombs, hostile robots.txt rules.
//   npx tsx bench/adversarial.ts [--extraction-only] [--extractor path/to/extraction/index.ts]
// --extractor times another copy of core/extraction (e.g. an older commit's, for before/after figures).
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import zlib from 'node:zlib';
import { HOSTILE_SHAPES, scaling } from '../testing/hostilePages.js';
import { createUrlFilter } from '../worker/pipeline/crawl/patterns.js';
import { parseRobots } from '../worker/pipeline/crawl/robots.js';
import { readSitemapBody } from '../worker/pipeline/crawl/sitemap.js';

const { values: options } = parseArgs({ options: { 'extraction-only': { type: 'boolean', default: false }, extractor: { type: 'string' } } });
const extractionModule = options.extractor ? pathToFileURL(path.resolve(options.extractor)).href : '../core/extraction/index.js';
const { extractPage } = (await import(extractionModule)) as typeof import('../core/extraction/index.js');
console.log(`extractPage on hostile shapes, CPU ms best of 3 at n and 4n (~4x for a linear pass, ~16x for a quadratic one), ${options.extractor ?? 'core/extraction'}:`);
for (const shape of HOSTILE_SHAPES) {
  const s = scaling((html) => {
    try {
      extractPage(html, 'https://site.example/');
    } catch {
      /* refused (PageTooComplexError): the refusal is what is timed */
    }
  }, shape);
  const kb = (b: number) => `${(b / 1024).toFixed(0)} KB`;
  console.log(`  ${shape.name}: ${kb(s.bytes[0])} ${s.ms[0].toFixed(1)} ms, ${kb(s.bytes[1])} ${s.ms[1].toFixed(1)} ms (x${s.ratio.toFixed(1)})`);
}
if (options['extraction-only']) process.exit(0);

const ms = (started: number) => `${(performance.now() - started).toFixed(1)} ms`;
const best = (runs: number, fn: () => void) => {
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    min = Math.min(min, performance.now() - started);
  }
  return `${min.toFixed(2)} ms`;
};

// 40 patterns of (up to) 200 characters, the API's limits, against 2,000-character paths.
const families = {
  'stars in a segment': Array.from({ length: 40 }, (_, i) => `/${'*a'.repeat(97)}*b${i}`.slice(0, 200)),
  '"**" and "*" runs': Array.from({ length: 40 }, (_, i) => `${'/**/*'.repeat(39)}/b${i}`.slice(0, 200)),
  '"**" around star segments': Array.from({ length: 40 }, (_, i) => `/**/${'*a*a/**/'.repeat(24)}b${i}`.slice(0, 200)),
};
const paths = { 'one segment': `/${'a'.repeat(2000)}`, '1,000 segments': '/a'.repeat(1000), '400 segments': '/aaaa'.repeat(400) };
console.log('include/exclude filter, one URL (best of 5):');
for (const [family, patterns] of Object.entries(families)) {
  const filter = createUrlFilter(patterns.slice(0, 20), patterns.slice(20), { maxSteps: Number.POSITIVE_INFINITY });
  for (const [shape, path] of Object.entries(paths)) console.log(`  ${family}, ${shape}: ${best(5, () => filter(`https://site.example${path}`))}`);
}
console.log('a crawl spending its whole matching budget:');
for (const [family, patterns] of Object.entries(families).slice(1)) {
  let spent = false;
  const filter = createUrlFilter(patterns.slice(0, 20), patterns.slice(20), { onBudgetSpent: () => (spent = true) });
  const started = performance.now();
  let urls = 0;
  while (!spent) filter(`https://site.example${'/aaaa'.repeat(400)}/${urls++}`);
  console.log(`  ${family}: ${urls} URLs, ${ms(started)}`);
}

const DEPTH = 300_000;
const bomb = Buffer.from(`<?xml version="1.0"?><urlset>${'<x>'.repeat(DEPTH)}${'</x>'.repeat(DEPTH)}</urlset>`);
const gzBomb = zlib.gzipSync(bomb, { level: 9 });
const flat = Buffer.from(`<?xml version="1.0"?><urlset>${'<x></x>'.repeat(DEPTH)}</urlset>`);
console.log(`sitemap with ${DEPTH.toLocaleString('en')} nested elements (${bomb.length} bytes, ${gzBomb.length} gzipped), refused:`);
for (const [name, body] of [['plain', bomb], ['gzipped', gzBomb], ['plain', bomb], ['gzipped', gzBomb]] as const) {
  const started = performance.now();
  await readSitemapBody(body, 'https://site.example/sitemap.xml', 1000, 10 * 1024 * 1024).catch(() => {});
  console.log(`  ${name}: ${ms(started)}`);
}
let started = performance.now();
await readSitemapBody(flat, 'https://site.example/sitemap.xml', 1000, flat.length);
console.log(`  (reading a flat document of the same size in full: ${ms(started)})`);

console.log('robots.txt, one URL check of 2,000 characters (best of 5):');
const robots = {
  'one rule of 240,000 stars': `User-agent: *\nDisallow: /${'*'.repeat(240_000)}b\n`,
  '120 rules of 2,000 stars and letters': `User-agent: *\n${`Disallow: /${'*a'.repeat(2000)}*b\n`.repeat(120)}`,
};
for (const [name, body] of Object.entries(robots)) {
  started = performance.now();
  const policy = parseRobots('https://site.example/robots.txt', body, { userAgent: 'GleanerBot', maxCrawlDelayMs: 1000 });
  const parse = ms(started);
  console.log(`  ${name}: ${best(5, () => policy.isAllowed(`https://site.example/${'a'.repeat(2000)}`))} (parsing ${parse})`);
}

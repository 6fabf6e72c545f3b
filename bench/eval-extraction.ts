/**
 * Scores the main-content extractor on the development set described in
 * ../shared/data/extraction-dev/README.md (trafilatura's benchmark metric),
 * side by side with @mozilla/readability on linkedom, in the same run.
 *
 *   npm run eval:extraction -- [--dir DIR] [--json] [--limit N] [--only gleaner|readability]
 *                              [--part all|tune|held] [--runs N] [--misses N]
 *
 * Each extractor gets a row for the whole set and one for each part of the
 * deterministic split (testing/extractionDevSet.ts): "tune" (~80 %) is where
 * rules are tuned, "held" (~20 %) is only ever reported. --misses lists the
 * worst pages of the tuning part only. --runs N times the extraction N times
 * and reports the best pages/s (the machine is shared: one run is noisy), by
 * the wall clock and per second of this process's CPU time (less sensitive to
 * other work on the machine).
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { extractContent } from '../core/extraction/content.js';
import { type DomElement, parseHtml } from '../core/extraction/dom.js';
import { extractPage } from '../core/extraction/index.js';
import { scanDocument, textContent } from '../core/extraction/scan.js';
import { type Counts, DEFAULT_DEV_DIR, type Part, loadCases, loadPages, metrics, missesOf, partOf, scoreCase, sumCounts } from '../testing/extractionDevSet.js';

type Extractor = (html: string, url: string) => string;

const EXTRACTORS: Record<string, Extractor> = {
  gleaner: (html, url) => extractPage(html, url).text,
  readability: (html) => {
    const { document } = parseHTML(html);
    return new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse()?.textContent ?? '';
  },
};

const PARTS = ['all', 'tune', 'held'] as const;

function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${option} needs a positive integer, got '${value}'`);
  return n;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      only: { type: 'string' },
      misses: { type: 'string' },
      part: { type: 'string', default: 'all' },
      runs: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const dir = resolve(values.dir ?? DEFAULT_DEV_DIR);
  if (!existsSync(join(dir, 'cases.json'))) {
    console.log(`eval-extraction: skipped, no development set at ${dir}`);
    return;
  }
  const part = values.part as (typeof PARTS)[number];
  if (!PARTS.includes(part)) throw new Error(`--part must be one of ${PARTS.join(', ')}, got '${values.part}'`);
  const runs = positiveInt(values.runs, '--runs');
  let cases = loadCases(dir);
  if (values.limit !== undefined) cases = cases.slice(0, positiveInt(values.limit, '--limit'));
  if (part !== 'all') cases = cases.filter((c) => partOf(c) === part);
  const names = values.only ? values.only.split(',') : Object.keys(EXTRACTORS);
  for (const n of names) if (!EXTRACTORS[n]) throw new Error(`unknown extractor '${n}' (known: ${Object.keys(EXTRACTORS).join(', ')})`);

  // Decoding is done up front so that pages/s measures the extraction step alone.
  const pages = loadPages(dir, cases);
  const parts = pages.map((p) => partOf(p.c));

  const rows: { extractor: string; part: string; pages: number; precision: number; recall: number; accuracy: number; f: number; pagesPerSecond: number; pagesPerCpuSecond: number; counts: Counts }[] = [];
  const perPage = new Map<string, Counts[]>();
  const texts = new Map<string, string[]>();
  for (const name of names) {
    const extract = EXTRACTORS[name]!;
    let out: string[] = [];
    let errors = 0;
    let best = Infinity;
    let bestCpu = Infinity;
    for (let run = 0; run < runs; run++) {
      out = [];
      errors = 0;
      const cpu = process.cpuUsage();
      const start = performance.now();
      for (const p of pages) {
        try {
          out.push(extract(p.html, p.c.url));
        } catch (err) {
          out.push(''); // an extractor that fails on a page returns nothing for it
          errors++;
          if (run === 0 && errors <= 3) console.error(`${name} failed on ${p.c.file}: ${(err as Error).message}`);
        }
      }
      best = Math.min(best, (performance.now() - start) / 1000);
      const used = process.cpuUsage(cpu);
      bestCpu = Math.min(bestCpu, (used.user + used.system) / 1e6);
    }
    if (errors) console.error(`${name}: failed on ${errors} pages`);
    const pc = pages.map((p, i) => scoreCase(p.c, out[i]!));
    perPage.set(name, pc);
    texts.set(name, out);
    const pagesPerSecond = pages.length / best;
    const pagesPerCpuSecond = pages.length / bestCpu;
    const groups: [string, Counts[]][] = [[part, pc]];
    if (part === 'all') for (const q of ['tune', 'held'] as Part[]) groups.push([q, pc.filter((_, i) => parts[i] === q)]);
    for (const [label, list] of groups) {
      const counts = sumCounts(list);
      rows.push({ extractor: name, part: label, pages: list.length, ...metrics(counts), pagesPerSecond, pagesPerCpuSecond, counts });
    }
  }

  if (values.json) {
    console.log(JSON.stringify({ pages: pages.length, results: rows }));
  } else {
    const header = ['extractor', 'part', 'pages', 'precision', 'recall', 'accuracy', 'F', 'pages/s', 'pages/cpu-s'];
    const timed = (r: (typeof rows)[number], v: number): string => (r.part === part ? v.toFixed(1) : '');
    const table = rows.map((r) => [r.extractor, r.part, String(r.pages), r.precision.toFixed(3), r.recall.toFixed(3), r.accuracy.toFixed(3), r.f.toFixed(3), timed(r, r.pagesPerSecond), timed(r, r.pagesPerCpuSecond)]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const fmt = (r: string[]): string => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`${pages.length} pages from ${dir}${runs > 1 ? ` (pages/s: best of ${runs} runs)` : ''}`);
    console.log(fmt(header));
    for (const r of table) console.log(fmt(r));
  }

  if (values.misses) {
    const n = positiveInt(values.misses, '--misses');
    const name = names[0]!;
    const pc = perPage.get(name)!;
    const out = texts.get(name)!;
    // Only tuning pages are ever shown: the held-back part must stay unseen.
    const order = pages
      .map((_, i) => i)
      .filter((i) => parts[i] === 'tune')
      .sort((a, b) => pc[b]!.fn + pc[b]!.fp - (pc[a]!.fn + pc[a]!.fp));
    for (const i of order.slice(0, n)) {
      const p = pages[i]!;
      const { missed, leaked } = missesOf(p.c, out[i]!);
      if (!missed.length && !leaked.length) break;
      const doc = scanDocument(parseHtml(p.html).root()[0] as unknown as DomElement);
      const method = name === 'gleaner' ? `, ${extractContent(doc, p.c.url, doc.title ? textContent(doc.title) : '').method}` : '';
      console.log(`\n## ${p.c.file} ${p.c.url} (text ${out[i]!.length} chars${method})`);
      for (const s of missed) console.log(`  missed: ${s}`);
      for (const s of leaked) console.log(`  leaked: ${s}`);
    }
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`eval-extraction: ${(err as Error).message}\n`);
  process.exit(1);
}

/**
 * Scores the main-content extractor on the development set described in
 * ../shared/data/extraction-dev/README.md (trafilatura's benchmark metric),
 * side by side with @mozilla/readability on linkedom, in the same run.
 *
 *   npm run eval:extraction -- [--dir DIR] [--json] [--limit N] [--only gleaner|readability] [--misses N]
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { Readability } from '@mozilla/readability';
import { parseHTML } from 'linkedom';
import { extractContent } from '../core/extraction/content.js';
import { type DomElement, parseHtml } from '../core/extraction/dom.js';
import { scanDocument, textContent } from '../core/extraction/scan.js';
import { decodeHtml, extractPage } from '../core/extraction/index.js';

interface Case {
  url: string;
  file: string;
  with: string[];
  without: string[];
}

interface Page {
  c: Case;
  html: string;
}

interface Counts {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}

type Extractor = (html: string, url: string) => string;

const EXTRACTORS: Record<string, Extractor> = {
  gleaner: (html, url) => extractPage(html, url).text,
  readability: (html) => {
    const { document } = parseHTML(html);
    return new Readability(document as unknown as ConstructorParameters<typeof Readability>[0]).parse()?.textContent ?? '';
  },
};

const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function normalise(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

function score(c: Case, text: string): Counts {
  const t = normalise(text);
  const counts: Counts = { tp: 0, fn: 0, fp: 0, tn: 0 };
  for (const seg of c.with) {
    if (t.includes(normalise(seg))) counts.tp++;
    else counts.fn++;
  }
  for (const seg of c.without) {
    if (t.includes(normalise(seg))) counts.fp++;
    else counts.tn++;
  }
  return counts;
}

function metrics(k: Counts): { precision: number; recall: number; accuracy: number; f: number } {
  const precision = k.tp + k.fp ? k.tp / (k.tp + k.fp) : 0;
  const recall = k.tp + k.fn ? k.tp / (k.tp + k.fn) : 0;
  const accuracy = (k.tp + k.tn) / Math.max(1, k.tp + k.tn + k.fp + k.fn);
  const f = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, accuracy, f };
}

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
    },
    strict: true,
  });
  const dir = resolve(values.dir ?? join(projectRoot, '..', 'shared', 'data', 'extraction-dev'));
  const casesPath = join(dir, 'cases.json');
  if (!existsSync(casesPath)) {
    console.log(`eval-extraction: skipped, no development set at ${dir}`);
    return;
  }
  let cases = JSON.parse(readFileSync(casesPath, 'utf8')) as Case[];
  if (values.limit !== undefined) cases = cases.slice(0, positiveInt(values.limit, '--limit'));
  const names = values.only ? values.only.split(',') : Object.keys(EXTRACTORS);
  for (const n of names) if (!EXTRACTORS[n]) throw new Error(`unknown extractor '${n}' (known: ${Object.keys(EXTRACTORS).join(', ')})`);

  // Decoding is done up front so that pages/s measures the extraction step alone.
  const pages: Page[] = cases.map((c) => ({ c, html: decodeHtml(gunzipSync(readFileSync(join(dir, c.file)))).html }));

  const rows: { extractor: string; precision: number; recall: number; accuracy: number; f: number; pagesPerSecond: number; counts: Counts }[] = [];
  const perPage = new Map<string, Counts[]>();
  const texts = new Map<string, string[]>();
  for (const name of names) {
    const extract = EXTRACTORS[name]!;
    const out: string[] = [];
    let errors = 0;
    const start = performance.now();
    for (const p of pages) {
      try {
        out.push(extract(p.html, p.c.url));
      } catch (err) {
        out.push(''); // an extractor that fails on a page returns nothing for it
        errors++;
        if (errors <= 3) console.error(`${name} failed on ${p.c.file}: ${(err as Error).message}`);
      }
    }
    const seconds = (performance.now() - start) / 1000;
    if (errors) console.error(`${name}: failed on ${errors} pages`);
    const counts: Counts = { tp: 0, fn: 0, fp: 0, tn: 0 };
    const pc = pages.map((p, i) => score(p.c, out[i]!));
    for (const k of pc) {
      counts.tp += k.tp;
      counts.fn += k.fn;
      counts.fp += k.fp;
      counts.tn += k.tn;
    }
    perPage.set(name, pc);
    texts.set(name, out);
    rows.push({ extractor: name, ...metrics(counts), pagesPerSecond: pages.length / seconds, counts });
  }

  if (values.json) {
    console.log(JSON.stringify({ pages: pages.length, results: rows }));
  } else {
    const header = ['extractor', 'precision', 'recall', 'accuracy', 'F', 'pages/s'];
    const table = rows.map((r) => [r.extractor, r.precision.toFixed(3), r.recall.toFixed(3), r.accuracy.toFixed(3), r.f.toFixed(3), r.pagesPerSecond.toFixed(1)]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const fmt = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`${pages.length} pages from ${dir}`);
    console.log(fmt(header));
    for (const r of table) console.log(fmt(r));
  }

  if (values.misses) {
    const n = positiveInt(values.misses, '--misses');
    const name = names[0]!;
    const pc = perPage.get(name)!;
    const out = texts.get(name)!;
    const order = pages.map((_, i) => i).sort((a, b) => pc[b]!.fn + pc[b]!.fp - (pc[a]!.fn + pc[a]!.fp));
    for (const i of order.slice(0, n)) {
      const p = pages[i]!;
      const t = normalise(out[i]!);
      const missed = p.c.with.filter((s) => !t.includes(normalise(s)));
      const leaked = p.c.without.filter((s) => t.includes(normalise(s)));
      if (!missed.length && !leaked.length) break;
      const doc = scanDocument(parseHtml(p.html).root()[0] as unknown as DomElement);
      const method = name === 'gleaner' ? `, ${extractContent(doc, p.c.url, doc.title ? textContent(doc.title) : '').method}` : '';
      console.log(`\n## ${p.c.file} ${p.c.url} (text ${t.length} chars${method})`);
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

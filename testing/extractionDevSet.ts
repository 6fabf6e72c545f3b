/**
 * The extraction development set (../shared/data/extraction-dev, see its README):
 * loading, the deterministic tuning/held-back split, and trafilatura's metric.
 * Shared by `npm run eval:extraction` and the quality-floor test.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { decodeHtml } from '../core/extraction/index.js';

export interface DevCase {
  url: string;
  file: string;
  with: string[];
  without: string[];
}

export interface DevPage {
  c: DevCase;
  html: string;
}

export interface Counts {
  tp: number;
  fn: number;
  fp: number;
  tn: number;
}

export interface Metrics {
  precision: number;
  recall: number;
  accuracy: number;
  f: number;
}

export const DEFAULT_DEV_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'shared', 'data', 'extraction-dev');

export function loadCases(dir: string): DevCase[] {
  return JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8')) as DevCase[];
}

/** Decodes each page's bytes as a crawler would (BOM, then <meta> charset). */
export function loadPages(dir: string, cases: DevCase[]): DevPage[] {
  return cases.map((c) => ({ c, html: decodeHtml(gunzipSync(readFileSync(join(dir, c.file)))).html }));
}

export type Part = 'tune' | 'held';

/**
 * About 20 % of the cases, chosen by a hash of the page file name, are held
 * back: never looked at while tuning rules, only reported, so the tuning part's
 * gain can be checked for overfitting. Stable across reorderings of cases.json.
 */
export function partOf(c: DevCase): Part {
  const h = createHash('sha256').update(c.file).digest();
  return h.readUInt32BE(0) % 100 < 20 ? 'held' : 'tune';
}

function normalise(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

export function scoreCase(c: DevCase, text: string): Counts {
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

export function sumCounts(all: Counts[]): Counts {
  const k: Counts = { tp: 0, fn: 0, fp: 0, tn: 0 };
  for (const c of all) {
    k.tp += c.tp;
    k.fn += c.fn;
    k.fp += c.fp;
    k.tn += c.tn;
  }
  return k;
}

export function metrics(k: Counts): Metrics {
  const precision = k.tp + k.fp ? k.tp / (k.tp + k.fp) : 0;
  const recall = k.tp + k.fn ? k.tp / (k.tp + k.fn) : 0;
  const accuracy = (k.tp + k.tn) / Math.max(1, k.tp + k.tn + k.fp + k.fn);
  const f = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, accuracy, f };
}

export function missesOf(c: DevCase, text: string): { missed: string[]; leaked: string[] } {
  const t = normalise(text);
  return { missed: c.with.filter((s) => !t.includes(normalise(s))), leaked: c.without.filter((s) => t.includes(normalise(s))) };
}

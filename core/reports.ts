// Operational reports: read-only SQL files in sql/reports/, each starting with
// a comment block whose first line describes it and whose "Parameters:" lines
// declare its named parameters (`:since`, `:stale_after_seconds`, …). Used by
// `npm run report` and meant for a dashboard too.
//
// Named parameters are turned into positional ones ($1, $2 … with the declared
// type as a cast) and bound by the driver; values are never put into the text.
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Db } from './platform/db.js';
import { parseDuration } from './platform/duration.js';

export const REPORTS_DIR = fileURLToPath(new URL('../sql/reports/', import.meta.url));

const PARAMETER_TYPES = ['timestamptz', 'integer', 'numeric', 'text'] as const;
export type ReportParameterType = (typeof PARAMETER_TYPES)[number];

export interface ReportParameter {
  name: string;
  type: ReportParameterType;
  description: string;
  /** As written in the header: a duration before now for timestamptz ("24h"), a literal otherwise. */
  default: string | undefined;
}

export interface ReportInfo {
  name: string;
  /** The first line of the header comment. */
  description: string;
  parameters: ReportParameter[];
}

interface LoadedReport extends ReportInfo {
  /** The SQL with $n::type in place of each :name. */
  text: string;
  /** The parameter name behind each $n, in order. */
  order: string[];
}

export type ReportParams = Record<string, unknown>;

export interface ReportResult {
  columns: string[];
  rows: Record<string, unknown>[];
}

/** A mistake by the caller (unknown report, bad or unknown parameter), as opposed to a database failure. */
export class ReportError extends Error {
  override name = 'ReportError';
}

// ---------------------------------------------------------------------------
// Durations

/** A positive duration (15m, 24h, 7d…) in ms, or undefined. */
export function parsePositiveDuration(text: string): number | undefined {
  const ms = parseDuration(text);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

// ---------------------------------------------------------------------------
// Loading

/** The leading `--` comment lines, without the markers. */
function headerLines(sqlText: string): string[] {
  const lines: string[] = [];
  for (const line of sqlText.split('\n')) {
    const t = line.trim();
    if (t.startsWith('--')) lines.push(t.replace(/^--\s?/, ''));
    else if (t === '' && lines.length === 0) continue;
    else break;
  }
  return lines;
}

const PARAMETER_LINE = new RegExp(`^\\s*:([a-z_][a-z0-9_]*)\\s+(${PARAMETER_TYPES.join('|')})\\s+(.+?)\\s*$`);

function parseHeader(file: string, sqlText: string): { description: string; parameters: ReportParameter[] } {
  const lines = headerLines(sqlText);
  const description = lines.find((l) => l.trim() !== '')?.trim();
  if (!description) throw new Error(`report ${file} has no header comment`);
  const parameters: ReportParameter[] = [];
  const start = lines.findIndex((l) => /^Parameters:/i.test(l.trim()));
  if (start < 0) throw new Error(`report ${file} does not declare its parameters ("-- Parameters: none." if it has none)`);
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const m = PARAMETER_LINE.exec(line);
    if (!m) throw new Error(`report ${file}: cannot read parameter line ${JSON.stringify(line)} (expected ":name type description")`);
    const def = /\(default:?\s*([^)]*?)(?:\s+ago)?\)/.exec(m[3]!);
    parameters.push({ name: m[1]!, type: m[2] as ReportParameterType, description: m[3]!, default: def?.[1] });
  }
  return { description, parameters };
}

/**
 * Replace each `:name` outside comments, string literals and quoted
 * identifiers (and not a `::cast`) with `$n::type`.
 */
export function toPositional(sqlText: string, types: ReadonlyMap<string, ReportParameterType>): { text: string; order: string[] } {
  const order: string[] = [];
  let out = '';
  let i = 0;
  while (i < sqlText.length) {
    const c = sqlText[i]!;
    const next = sqlText[i + 1];
    if (c === '-' && next === '-') {
      const end = sqlText.indexOf('\n', i);
      const stop = end < 0 ? sqlText.length : end;
      out += sqlText.slice(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sqlText.indexOf('*/', i + 2);
      const stop = end < 0 ? sqlText.length : end + 2;
      out += sqlText.slice(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      // Doubled quotes inside are just two adjacent literals to this scanner.
      const end = sqlText.indexOf(c, i + 1);
      const stop = end < 0 ? sqlText.length : end + 1;
      out += sqlText.slice(i, stop);
      i = stop;
    } else if (c === ':' && next === ':') {
      out += '::';
      i += 2;
    } else if (c === ':' && next !== undefined && /[a-z_]/.test(next)) {
      const m = /^[a-z_][a-z0-9_]*/.exec(sqlText.slice(i + 1))!;
      const name = m[0];
      const type = types.get(name);
      if (!type) throw new Error(`parameter :${name} is used but not declared in the header`);
      let n = order.indexOf(name) + 1;
      if (n === 0) n = order.push(name);
      out += `$${n}::${type}`;
      i += 1 + name.length;
    } else {
      out += c;
      i += 1;
    }
  }
  return { text: out, order };
}

async function loadReport(dir: string, file: string): Promise<LoadedReport> {
  const sqlText = await fs.readFile(path.join(dir, file), 'utf8');
  const { description, parameters } = parseHeader(file, sqlText);
  const { text, order } = toPositional(sqlText, new Map(parameters.map((p) => [p.name, p.type])));
  for (const p of parameters) {
    if (!order.includes(p.name)) throw new Error(`report ${file} declares :${p.name} but does not use it`);
  }
  return { name: file.replace(/\.sql$/, ''), description, parameters, text, order };
}

const cache = new Map<string, Promise<Map<string, LoadedReport>>>();

function loadReports(dir = REPORTS_DIR): Promise<Map<string, LoadedReport>> {
  let found = cache.get(dir);
  if (!found) {
    found = (async () => {
      const files = (await fs.readdir(dir)).filter((f) => /^[a-z0-9][a-z0-9-]*\.sql$/.test(f)).sort();
      const reports = await Promise.all(files.map((f) => loadReport(dir, f)));
      return new Map(reports.map((r) => [r.name, r]));
    })();
    found.catch(() => cache.delete(dir));
    cache.set(dir, found);
  }
  return found;
}

/** Every report with its one-line description and parameters, by name. */
export async function listReports(dir = REPORTS_DIR): Promise<ReportInfo[]> {
  return [...(await loadReports(dir)).values()].map(({ name, description, parameters }) => ({
    name,
    description,
    parameters: parameters.map((p) => ({ ...p })),
  }));
}

async function getReport(name: string, dir: string): Promise<LoadedReport> {
  const reports = await loadReports(dir);
  const report = reports.get(name);
  if (!report) throw new ReportError(`unknown report ${JSON.stringify(name)}; the reports are: ${[...reports.keys()].join(', ')}`);
  return report;
}

// ---------------------------------------------------------------------------
// Parameters

function coerce(report: string, p: ReportParameter, value: unknown, now: number): unknown {
  const bad = (why: string): never => {
    throw new ReportError(`report ${report}: parameter ${p.name} ${why} (got ${JSON.stringify(value instanceof Date ? value.toISOString() : value)})`);
  };
  switch (p.type) {
    case 'timestamptz': {
      if (value instanceof Date) return Number.isNaN(value.getTime()) ? bad('is not a valid date') : value;
      if (typeof value !== 'string') return bad('must be a Date, an ISO timestamp or a duration like 24h');
      const ago = parsePositiveDuration(value);
      if (ago !== undefined) return new Date(now - ago);
      if (!/^\d{4}-\d{2}-\d{2}/.test(value.trim())) return bad('must be a duration like 15m, 24h, 7d or an ISO timestamp');
      const date = new Date(value.trim());
      return Number.isNaN(date.getTime()) ? bad('is not a valid timestamp') : date;
    }
    case 'integer': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) return bad('must be a whole number');
      return n;
    }
    case 'numeric': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isFinite(n)) return bad('must be a number');
      return n;
    }
    case 'text':
      return typeof value === 'string' ? value : bad('must be a string');
  }
}

/**
 * The SQL text and the positional values for a report, defaults applied.
 * Relative values ("24h", a default "24h ago") count back from `now`.
 */
export async function prepareReport(
  name: string,
  params: ReportParams = {},
  opts: { dir?: string; now?: Date } = {},
): Promise<{ text: string; values: unknown[]; params: Record<string, unknown> }> {
  const report = await getReport(name, opts.dir ?? REPORTS_DIR);
  const declared = new Map(report.parameters.map((p) => [p.name, p]));
  for (const key of Object.keys(params)) {
    if (params[key] !== undefined && !declared.has(key)) {
      const takes = report.parameters.length ? `it takes ${report.parameters.map((p) => p.name).join(', ')}` : 'it takes none';
      throw new ReportError(`report ${name} has no parameter ${JSON.stringify(key)}; ${takes}`);
    }
  }
  const now = (opts.now ?? new Date()).getTime();
  const resolved: Record<string, unknown> = {};
  for (const p of report.parameters) {
    const given = params[p.name];
    if (given === undefined || given === null) {
      if (p.default === undefined) throw new ReportError(`report ${name} needs parameter ${p.name}`);
      resolved[p.name] = coerce(name, p, p.default, now);
    } else {
      resolved[p.name] = coerce(name, p, given, now);
    }
  }
  return { text: report.text, values: report.order.map((n) => resolved[n]), params: resolved };
}

/** Run a report read-only; rows keep the column order of the SELECT. */
export async function runReport(sql: Db, name: string, params: ReportParams = {}, opts: { dir?: string; now?: Date } = {}): Promise<ReportResult> {
  const { text, values } = await prepareReport(name, params, opts);
  const result = await sql.unsafe(text, values as never[], { prepare: true });
  const columns = (result.columns ?? []).map((c) => c.name);
  return { columns, rows: Array.from(result, (row) => ({ ...row })) };
}

// `npm run report -- NAME [--since 24h] [--stale-after 10m] [--json]` | `npm run report -- --list`
// Runs a report from sql/reports/ against the same DATABASE_URL / DATA_DIR as the service.
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../core/platform/config.js';
import { openDatabase } from '../core/platform/db.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrationsApplied } from '../core/platform/migrations.js';
import { listReports, parsePositiveDuration, prepareReport, ReportError, runReport, type ReportParams } from '../core/reports.js';

const USAGE = `usage:
  npm run report -- --list                  list the reports with a one-line description
  npm run report -- NAME [options]          run a report and print it as a table
options:
  --since DURATION|TIMESTAMP   start of the window: 15m, 24h, 7d… before now, or an ISO timestamp (default 24h)
  --stale-after DURATION       stale threshold for the stuck report (default STALE_AFTER, 10m)
  --json                       print {report, parameters, columns, rows} as JSON instead of a table`;

// `npm run report -- usage | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      since: { type: 'string' },
      'stale-after': { type: 'string' },
      json: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
} catch (err) {
  fail((err as Error).message);
}
const { values, positionals } = parsed;
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}

const reports = await listReports();

if (values.list) {
  if (positionals.length) fail('--list takes no report name');
  const width = Math.max(...reports.map((r) => r.name.length));
  for (const r of reports) {
    const params = r.parameters.map((p) => `:${p.name}`).join(' ');
    process.stdout.write(`${r.name.padEnd(width)}  ${r.description}${params ? `  [${params}]` : ''}\n`);
  }
  process.exit(0);
}

if (positionals.length === 0) fail('missing report name (try --list)');
if (positionals.length > 1) fail(`one report at a time (got ${positionals.join(', ')})`);
const name = positionals[0]!;
const report = reports.find((r) => r.name === name);
if (!report) fail(`unknown report ${JSON.stringify(name)}; the reports are: ${reports.map((r) => r.name).join(', ')}`);
const takes = (p: string) => report.parameters.some((x) => x.name === p);

let config;
try {
  config = loadConfig();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const params: ReportParams = {};
if (values.since !== undefined) {
  if (!takes('since')) fail(`report ${name} takes no --since`);
  params.since = values.since;
}
if (takes('stale_after_seconds')) {
  let ms = config.worker.staleAfterMs;
  if (values['stale-after'] !== undefined) {
    const given = parsePositiveDuration(values['stale-after']);
    if (given === undefined) fail(`--stale-after must be a duration like 90s, 10m or 1h (got ${JSON.stringify(values['stale-after'])})`);
    ms = given;
  }
  params.stale_after_seconds = Math.max(1, Math.round(ms / 1000));
} else if (values['stale-after'] !== undefined) {
  fail(`report ${name} takes no --stale-after`);
}

// Check the parameters before touching the database.
let resolved: Record<string, unknown>;
try {
  resolved = (await prepareReport(name, params)).params;
} catch (err) {
  if (err instanceof ReportError) fail(err.message.replace(/^report \S+: parameter since/, '--since'));
  throw err;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  const text = String(value).replace(/\s+/g, ' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function printTable(columns: string[], rows: Record<string, unknown>[]): void {
  const numeric = columns.map((c) => rows.length > 0 && rows.every((r) => r[c] === null || typeof r[c] === 'number'));
  const table = [columns, ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  const lines = table.map((r) => r.map((c, i) => (numeric[i] && r !== columns ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd());
  if (rows.length === 0) lines.push('(no rows)');
  process.stdout.write(`${lines.join('\n')}\n`);
}

let database;
try {
  database = await openDatabase(config, createSilentLogger(), 'gleaner-report');
  // Reports only read: migrating here could lock job writes while indexes build after a deploy.
  if (!(await migrationsApplied(database.sql))) {
    process.stderr.write('the database is not migrated yet: start the service or run `npm run migrate` first\n');
    process.exit(1);
  }
  const result = await runReport(database.sql, name, resolved);
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ report: name, parameters: resolved, columns: result.columns, rows: result.rows }, null, 2)}\n`);
  } else {
    printTable(result.columns, result.rows);
  }
} catch (err) {
  process.stderr.write(`report ${name} failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await database?.close().catch(() => {});
}

// `npm run chaos [-- --only NAME[,NAME]] [--reduced]`: every fault, hostile-input
// and abuse scenario against real processes (an embedded PostgreSQL in a temp
// dir, the service's entry points as child processes, local HTTP servers),
// each bounded in time; prints scenario | load | what was checked | result,
// then scans every child's output for keys and webhook secrets. Exits 1 if
// anything did not hold.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { knownSecrets } from './harness.js';
import { ensureTestModel } from '../testing/testModel.js';
import { standInModelDir } from '../testing/serviceProcess.js';
import { scenarios } from './index.js';
import { scanLogsForSecrets } from './secrets.js';
import { held, type ScenarioReport } from './types.js';

const { values } = parseArgs({ options: { only: { type: 'string', multiple: true }, reduced: { type: 'boolean', default: false }, 'keep-logs': { type: 'boolean', default: false } } });
const only = (values.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
const unknown = only.filter((n) => !scenarios.some((s) => s.name === n));
if (unknown.length) {
  process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}; known: ${scenarios.map((s) => s.name).join(', ')}\n`);
  process.exit(2);
}
const selected = only.length ? scenarios.filter((s) => only.includes(s.name)) : scenarios;
const SCENARIO_TIMEOUT_MS = 10 * 60_000;

const started = Date.now();
// Services load the embedding model at start-up; none can be downloaded here.
await ensureTestModel(standInModelDir);
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-chaos-'));
const logDir = path.join(dir, 'logs');
await fs.mkdir(logDir);
// Its own temp dir: as root the server runs as "postgres", which must be able to enter it.
const pgDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-chaos-pg-'));
const pg = await startEmbeddedPostgres(pgDir, createSilentLogger(), 'postgres');
const progress = (m: string) => process.stderr.write(`${m}\n`);

const rows: { name: string; report: ScenarioReport; ms: number }[] = [];
let interrupted = false;
process.once('SIGINT', () => (interrupted = true));
for (const scenario of selected) {
  if (interrupted) break;
  progress(`▶ ${scenario.name}: ${scenario.summary}`);
  const t = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const report = await Promise.race([
    scenario.run({ reduced: values.reduced!, logDir, pgServerUrl: pg.adminUrl, progress }),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`scenario did not finish within ${SCENARIO_TIMEOUT_MS / 1000} s`)), SCENARIO_TIMEOUT_MS))),
  ]).catch((err: Error): ScenarioReport => ({ load: '(did not finish)', checks: [{ what: 'scenario ran to the end', held: false, detail: err.stack ?? err.message }], notes: [] }));
  clearTimeout(timer);
  rows.push({ name: scenario.name, report, ms: Date.now() - t });
  progress(`  ${held(report) ? 'held' : 'NOT HELD'} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

// The whole run's logs: no key, no webhook secret (the first-start banner on stderr excepted).
const scan = await scanLogsForSecrets(logDir, knownSecrets);
rows.push({
  name: 'secrets-in-logs',
  ms: 0,
  report: {
    load: `every child's stdout+stderr of this run: ${scan.files} files, ${(scan.bytes / 1024).toFixed(0)} KB`,
    checks: [
      {
        what: 'no knowledgesdk_live_… key and no whsec_… secret (pattern + the exact values handed out) outside the first-start banner on stderr',
        held: scan.findings.length === 0 && scan.files > 0,
        detail: scan.findings.length ? `${scan.findings.length} found, e.g. ${scan.findings[0]!.file}: ${scan.findings[0]!.match}` : `${knownSecrets.size} known values, ${scan.bannersExcluded} banner(s) excluded`,
      },
    ],
    notes: [],
  },
});

await pg.stop().catch(() => {});
await fs.rm(pgDir, { recursive: true, force: true });
if (!values['keep-logs'] && rows.every((r) => held(r.report))) await fs.rm(dir, { recursive: true, force: true });
else progress(`logs kept in ${logDir}`);

const esc = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
const lines = ['| scenario | load | what was checked | result |', '| --- | --- | --- | --- |'];
for (const { name, report, ms } of rows) {
  report.checks.forEach((c, i) => {
    const first = i === 0;
    lines.push(`| ${first ? `**${name}**${ms ? ` (${(ms / 1000).toFixed(0)} s)` : ''}` : ''} | ${first ? esc(report.load) : ''} | ${esc(c.what)} | ${c.held ? 'held' : 'NOT HELD'}: ${esc(c.detail)} |`);
  });
}
process.stdout.write(`\n${lines.join('\n')}\n`);
const notes = rows.flatMap((r) => r.report.notes);
if (notes.length) process.stdout.write(`\n${notes.map((n) => `- ${n}`).join('\n')}\n`);
const allHeld = rows.every((r) => held(r.report));
process.stdout.write(`\n${allHeld ? 'all held' : 'NOT ALL HELD'}; ${selected.length} scenario(s) in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
process.exit(allHeld ? 0 : 1);

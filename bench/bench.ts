// `npm run bench [-- --quick] [--only accept,lifecycle,pickup] [--gleaner-only] [--runs N]`:
// starts its own embedded PostgreSQL, runs every measurement three times with
// its peers side by side (run 1 of each contender, then run 2, …, each on a
// fresh database), prints a table (median, min–max, peers' medians) and writes
// bench-results.json in the working directory. `--cpu-prof DIR`: the accept
// measurement's API child writes a CPU profile into DIR (read it with
// `npx tsx bench/suite/cpuProfile.ts FILE`). `--service-env K=V` (repeatable)
// adds a setting to the service the pipeline measurement starts. While
// iterating: `--peers LABEL` (repeatable) keeps only the peers whose label
// contains LABEL, `--modes drain` runs only the lifecycle's drain, and
// `--out FILE` writes the results there instead of bench-results.json.
import { writeFile } from 'node:fs/promises';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { measurements } from './suite/index.js';
import { startBenchServer } from './suite/server.js';
import { RUNS } from './suite/settings.js';
import { GLEANER, type Contender, type Measurement } from './suite/types.js';
import { median } from './suite/util.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string', multiple: true },
    'gleaner-only': { type: 'boolean', default: false },
    runs: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'service-env': { type: 'string', multiple: true },
    peers: { type: 'string', multiple: true },
    modes: { type: 'string' },
    out: { type: 'string', default: 'bench-results.json' },
  },
});
const quick = args.quick!;
const runs = args.runs ? Number(args.runs) : RUNS;
const only = (args.only ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
const wanted = (m: Measurement) => only.length === 0 || only.includes(m.name) || m.rows.some((r) => only.includes(r.name));
const unknown = only.filter((n) => !measurements.some((m) => m.name === n || m.rows.some((r) => r.name === n)));
if (unknown.length) {
  process.stderr.write(`unknown measurement(s): ${unknown.join(', ')}; known: ${measurements.map((m) => m.name).join(', ')}\n`);
  process.exit(2);
}
const log = (m: string) => process.stderr.write(`${m}\n`);
// --peers 'graphile-worker, concurrency 4' (repeatable): only the peers whose label contains one of these.
const peerFilter = (args.peers ?? []).map((v) => v.trim()).filter(Boolean);
const peerWanted = (c: Contender) => peerFilter.length === 0 || peerFilter.some((f) => c.name.includes(f));
// --modes drain: the lifecycle measurement runs only its drain (or only its submit-while-draining: accept).
const modes = args.modes ? (args.modes.split(',').map((v) => v.trim()) as ('accept' | 'drain')[]) : undefined;
const serviceEnv = Object.fromEntries((args['service-env'] ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
const startedAt = Date.now();
const loadBefore = load();
const server = await startBenchServer();
const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, PostgreSQL ${server.version} (embedded, default settings)`;
log(`machine: ${machine}; load average before: ${loadBefore}${quick ? '; --quick' : ''}`);

const notes: string[] = [];
const skipped: string[] = [];

// A measurement's stray promise (a probe left running when its run failed)
// must not end the whole run and lose every result: it is recorded instead.
process.on('unhandledRejection', (err) => {
  notes.push(`unhandled rejection: ${(err as Error)?.message ?? err}`);
  log(`  unhandled rejection: ${(err as Error)?.stack ?? err}`);
});

/** measurement → row → contender → values of each run */
const results = new Map<string, Map<string, Map<string, number[]>>>();

for (const m of measurements.filter(wanted)) {
  if (m.pending) {
    skipped.push(`${m.name}: ${m.pending}`);
    continue;
  }
  log(`▶ ${m.name}: ${m.how(quick)}`);
  const contenders: Contender[] = [m.gleaner, ...(args['gleaner-only'] ? [] : m.peers.filter(peerWanted))];
  const rows = new Map(m.rows.map((r) => [r.name, new Map<string, number[]>()]));
  results.set(m.name, rows);
  for (let run = 1; run <= runs; run++) {
    for (const c of contenders) {
      const t = Date.now();
      try {
        const r = await c.run({ server, quick, run, log, cpuProfDir: args['cpu-prof'], serviceEnv, modes });
        for (const [row, value] of Object.entries(r.values)) {
          const byContender = rows.get(row);
          if (!byContender) throw new Error(`${c.name} reported an unknown row ${row}`);
          byContender.set(c.name, [...(byContender.get(c.name) ?? []), value]);
        }
        for (const n of r.notes ?? []) notes.push(`${m.name} run ${run}: ${n}`);
        log(`  run ${run} ${c.name}: ${Object.entries(r.values).map(([k, v]) => `${k} ${fmt(v)}`).join(', ')} (${((Date.now() - t) / 1000).toFixed(1)} s)${r.notes?.length ? `\n    ${r.notes.join('\n    ')}` : ''}`);
      } catch (err) {
        notes.push(`${m.name} run ${run}: ${c.name} failed: ${(err as Error).message}`);
        log(`  run ${run} ${c.name}: FAILED ${(err as Error).stack ?? err}`);
      }
    }
  }
  // Written after every measurement, so a run that dies later keeps what it measured.
  await writeFile(args.out!, JSON.stringify(summarize().output, null, 2) + '\n');
}
interface ResultRow {
  name: string;
  unit: string;
  median: number;
  min: number;
  max: number;
  peers: Record<string, number>;
}

/** The table and bench-results.json from what has been measured so far. */
function summarize(): { output: ResultRow[]; table: string[] } {
  const output: ResultRow[] = [];
  const table: string[] = ['| measurement | Gleaner: median (min–max) | target | met | peers in the same run (median) |', '| --- | --- | --- | --- | --- |'];
  for (const m of measurements.filter(wanted)) {
    const rows = results.get(m.name);
    if (!rows) continue;
    for (const spec of m.rows) {
      const byContender = rows.get(spec.name)!;
      const ours = spec.derive ? spec.derive(rows) : (byContender.get(GLEANER) ?? []);
      const peers: Record<string, number> = {};
      for (const [name, vs] of byContender) if (name !== GLEANER && vs.length) peers[name] = median(vs);
      const row: ResultRow = { name: spec.name, unit: spec.unit, median: median(ours), min: Math.min(...ours), max: Math.max(...ours), peers };
      output.push(row);
      const met = !ours.length ? '–' : spec.meets ? (spec.meets(row.median, peers) ? 'yes' : 'no') : '';
      const peerText = Object.entries(peers).map(([n, v]) => `${n} ${fmt(v)}`).join('; ') || '–';
      table.push(`| ${spec.name} | ${ours.length ? `${fmt(row.median)} ${spec.unit} (${fmt(row.min)}–${fmt(row.max)})` : 'failed'} | ${spec.target ?? ''} | ${met} | ${peerText} |`);
    }
  }
  return { output, table };
}

await server.stop();

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '–';
  if (Math.abs(v) >= 100) return Math.round(v).toLocaleString('en');
  return v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

const { output, table } = summarize();
await writeFile(args.out!, JSON.stringify(output, null, 2) + '\n');
const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
console.log(`\n${machine}\nload average before ${loadBefore}, after ${load()}; ${runs} runs each, ${minutes} min${quick ? ', --quick' : ''}\n`);
console.log(table.join('\n'));
if (skipped.length) console.log(`\nnot measured: ${skipped.join('; ')}`);
if (notes.length) console.log(`\nnotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
console.log(`\nwritten: ${args.out}`);

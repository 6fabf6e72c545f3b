// accept: HTTP load on POST /v1/extract/async against the real API in a child
// process (rate limit and in-flight cap off, several valid keys), autocannon
// here; accepted jobs/s counts 2xx answers only. No worker runs meanwhile.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { createApiKey } from '../../core/apiKeys.js';
import { connect } from '../../core/platform/db.js';
import { standInModelDir } from '../../testing/serviceProcess.js';
import { ensureTestModel } from '../../testing/testModel.js';
import { startApiProcess, type ApiProcess } from './apiProcess.js';
import { pgbenchInsert } from './peers/pgbench.js';
import { ACCEPT_CONNECTIONS, ACCEPT_KEYS, acceptSeconds } from './settings.js';
import { GLEANER, type Contender, type Measurement, type RunContext, type RunResult } from './types.js';

/** CPU time (ms) a process has used so far in user and in system mode, from /proc: what a request costs, whatever else shares the machine. */
function cpuMs(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command name), in clock ticks.
  return { user: (Number(fields[11]) * 1000) / CLOCK_TICKS, system: (Number(fields[12]) * 1000) / CLOCK_TICKS };
}
const CLOCK_TICKS = 100;

const BODY = JSON.stringify({ url: 'https://example.com/articles/benchmark' });

/**
 * Gleaner's accept run with `processes` API processes on one database, each
 * on its own port with its share of the connections (one autocannon each, at
 * once): the rate is their sum, the p99 the worst of theirs, the CPU theirs
 * together.
 */
async function acceptRun(ctx: RunContext, processes: number): Promise<RunResult> {
  // The API child runs on the stand-in model (childEnv); a fresh clone has none until it is written.
  await ensureTestModel(standInModelDir);
  const db = await ctx.server.database('accept', { migrated: true });
  const sql = connect(db.url, 2, 'gleaner-bench');
  const logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-api-'));
  const keys: string[] = [];
  for (let i = 0; i < ACCEPT_KEYS; i++) keys.push((await createApiKey(sql, `bench-${i}`)).key);
  const apis: ApiProcess[] = [];
  let measured = false;
  try {
    for (let i = 0; i < processes; i++) {
      apis.push(await startApiProcess({ DATABASE_URL: db.url, RATE_LIMIT_PER_MINUTE: '0', MAX_JOBS_IN_FLIGHT_PER_KEY: '0', CREATE_INITIAL_KEY: 'false' }, logDir, { cpuProfDir: ctx.cpuProfDir }));
    }
    const load = async (seconds: number) => {
      const each = await Promise.all(
        apis.map((api) =>
          autocannon({
            url: api.baseUrl,
            connections: ACCEPT_CONNECTIONS / processes,
            duration: seconds,
            requests: keys.map((key) => ({ method: 'POST' as const, path: '/v1/extract/async', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: BODY })),
          }),
        ),
      );
      const sum = (f: (r: autocannon.Result) => number) => each.reduce((n, r) => n + f(r), 0);
      return { ok: sum((r) => r['2xx']), non2xx: sum((r) => r.non2xx), errors: sum((r) => r.errors), timeouts: sum((r) => r.timeouts), duration: Math.max(...each.map((r) => r.duration)), p50: Math.max(...each.map((r) => r.latency.p50)), p99: Math.max(...each.map((r) => r.latency.p99)) };
    };
    const apiCpu = () => apis.map((api) => cpuMs(api.pid)).reduce((a, b) => ({ user: a.user + b.user, system: a.system + b.system }));
    await load(ctx.quick ? 1 : 2); // warm-up: JIT, connection pool
    const [before] = await sql`select count(*)::int as n from jobs`;
    const cpuBefore = apiCpu();
    const dbBefore = ctx.server.cpuMs();
    const ownBefore = process.cpuUsage();
    const r = await load(acceptSeconds(ctx.quick));
    const cpuAfter = apiCpu();
    const user = cpuAfter.user - cpuBefore.user;
    const cpu = user + cpuAfter.system - cpuBefore.system;
    const dbMs = ctx.server.cpuMs() - dbBefore;
    const own = process.cpuUsage(ownBefore);
    const [after] = await sql`select count(*)::int as n from jobs`;
    const created = after!.n - before!.n;
    const perJob = (ms: number) => Math.round((ms * 1000) / r.ok);
    const notes = [
      `accept${processes > 1 ? ` (${processes} API processes)` : ''}: ${r.ok} accepted (${created} jobs in the table), ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; latency p50 ${r.p50} ms, p99 ${r.p99} ms; API CPU ${Math.round(cpu)} ms (${Math.round((user / cpu) * 100)} % user); CPU per accepted job: API ${perJob(cpu)} µs, database ${perJob(dbMs)} µs, autocannon ${perJob((own.user + own.system) / 1000)} µs`,
    ];
    measured = true;
    return { values: { accept: r.ok / r.duration, accept_p99: r.p99, accept_api_cpu: (cpu * 1000) / r.ok }, notes };
  } finally {
    for (const api of apis) await api.stop();
    await sql.end({ timeout: 1 });
    await db.drop();
    // A failed run's error points at the API's log: keep it.
    if (measured) await fs.rm(logDir, { recursive: true, force: true });
  }
}

const gleaner: Contender = { name: GLEANER, run: (ctx) => acceptRun(ctx, 1) };
/** Where the machine has spare cores, does a second API process help? (`--peers 'API processes'`) */
const twoApiProcesses: Contender = { name: 'gleaner, 2 API processes', run: (ctx) => acceptRun(ctx, 2) };

export const accept: Measurement = {
  name: 'accept',
  how: (quick) =>
    `autocannon, ${ACCEPT_CONNECTIONS} connections, ${acceptSeconds(quick)} s (after a warm-up) on POST /v1/extract/async, ${ACCEPT_KEYS} keys, API in a child process (LOG_LEVEL=info to a file, rate limit and in-flight cap off, no worker); peers: pgbench single-row insert transactions, ${ACCEPT_CONNECTIONS} clients, prepared; Gleaner as 2 API processes on one database, ${ACCEPT_CONNECTIONS / 2} connections each.`,
  rows: [
    { name: 'accept', unit: 'jobs/s', better: 'higher', target: '≥ 2,500', meets: (m) => m >= 2500 },
    { name: 'accept_p99', unit: 'ms', better: 'lower', target: '≤ 20 ms', meets: (m) => m <= 20 },
    // CPU the API process spent per accepted job: unlike jobs/s, it does not move with other load on the machine.
    { name: 'accept_api_cpu', unit: 'µs CPU per job', better: 'lower' },
    {
      name: 'accept_vs_pgbench',
      unit: '× pgbench',
      better: 'higher',
      // Run by run: Gleaner's accepted jobs/s over pgbench's inserts/s measured right after it.
      derive: (rows) => {
        const ours = rows.get('accept')?.get(GLEANER) ?? [];
        const pg = rows.get('accept')?.get(pgbenchInsert.name) ?? [];
        return ours.slice(0, pg.length).map((v, i) => v / pg[i]!);
      },
    },
  ],
  gleaner,
  peers: [pgbenchInsert, twoApiProcesses],
};


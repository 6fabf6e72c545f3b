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
import { GLEANER, type Contender, type Measurement, type RunResult } from './types.js';

/** CPU time (user + system, ms) a process has used so far, from /proc: what a request costs, whatever else shares the machine. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  // utime and stime are fields 14 and 15 of the line (11 and 12 after the command name), in clock ticks.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100;

const BODY = JSON.stringify({ url: 'https://example.com/articles/benchmark' });

const gleaner: Contender = {
  name: GLEANER,
  async run(ctx): Promise<RunResult> {
    // The API child runs on the stand-in model (childEnv); a fresh clone has none until it is written.
    await ensureTestModel(standInModelDir);
    const db = await ctx.server.database('accept', { migrated: true });
    const sql = connect(db.url, 2, 'gleaner-bench');
    const logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-api-'));
    const keys: string[] = [];
    for (let i = 0; i < ACCEPT_KEYS; i++) keys.push((await createApiKey(sql, `bench-${i}`)).key);
    let api: ApiProcess | null = null;
    let measured = false;
    try {
      api = await startApiProcess(
        { DATABASE_URL: db.url, RATE_LIMIT_PER_MINUTE: '0', MAX_JOBS_IN_FLIGHT_PER_KEY: '0', CREATE_INITIAL_KEY: 'false' },
        logDir,
        { cpuProfDir: ctx.cpuProfDir },
      );
      const baseUrl = api.baseUrl;
      const load = (seconds: number) =>
        autocannon({
          url: baseUrl,
          connections: ACCEPT_CONNECTIONS,
          duration: seconds,
          requests: keys.map((key) => ({ method: 'POST' as const, path: '/v1/extract/async', headers: { 'content-type': 'application/json', 'x-api-key': key }, body: BODY })),
        });
      await load(ctx.quick ? 1 : 2); // warm-up: JIT, connection pool
      const [before] = await sql`select count(*)::int as n from jobs`;
      const cpuBefore = cpuMs(api.pid);
      const r = await load(acceptSeconds(ctx.quick));
      const cpu = cpuMs(api.pid) - cpuBefore;
      const [after] = await sql`select count(*)::int as n from jobs`;
      const created = after!.n - before!.n;
      const notes = [`accept: ${r['2xx']} accepted (${created} jobs in the table), ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts; latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms; API process CPU ${Math.round(cpu)} ms`];
      measured = true;
      return { values: { accept: r['2xx'] / r.duration, accept_p99: r.latency.p99, accept_api_cpu: (cpu * 1000) / r['2xx'] }, notes };
    } finally {
      await api?.stop();
      await sql.end({ timeout: 1 });
      await db.drop();
      // A failed run's error points at the API's log: keep it.
      if (measured) await fs.rm(logDir, { recursive: true, force: true });
    }
  },
};

export const accept: Measurement = {
  name: 'accept',
  how: (quick) =>
    `autocannon, ${ACCEPT_CONNECTIONS} connections, ${acceptSeconds(quick)} s (after a warm-up) on POST /v1/extract/async, ${ACCEPT_KEYS} keys, API in a child process (LOG_LEVEL=info to a file, rate limit and in-flight cap off, no worker); peer: pgbench single-row insert transactions, ${ACCEPT_CONNECTIONS} clients, prepared.`,
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
  peers: [pgbenchInsert],
};


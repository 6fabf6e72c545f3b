// One embedded PostgreSQL for the whole bench run (in a temp dir), and a fresh
// database on it for every run of every contender, so no run inherits another's
// tables, bloat or statistics.
import { readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { connect, type Sql } from '../../core/platform/db.js';
import { startEmbeddedPostgres } from '../../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { migrate } from '../../core/platform/migrations.js';

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export interface BenchServer {
  /** URL of the server's `postgres` database. */
  url: string;
  version: string;
  /** A new, empty database; with `migrated`, Gleaner's migrations applied. */
  database(label: string, opts?: { migrated?: boolean }): Promise<BenchDatabase>;
  /** A database URL's host, port, user, password and name (for pgbench). */
  parts(url: string): { host: string; port: string; user: string; password: string; database: string };
  /**
   * CPU time (user + system, ms) the server has used so far: the postmaster,
   * the children it has reaped and the ones still running (backends, WAL
   * writer, …), from /proc. A difference over a run is that run's database CPU.
   */
  cpuMs(): number;
  stop(): Promise<void>;
}

/** Fields of /proc/PID/stat after the command name (utime is index 11, cutime 13, ppid 1). */
function statFields(pid: number | string): string[] | null {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  } catch {
    return null;
  }
}
const TICK_MS = 10;

let counter = 0;

export async function startBenchServer(): Promise<BenchServer> {
  // Its own temp dir: as root the server runs as "postgres", which must be able to enter it.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-pg-'));
  const pg = await startEmbeddedPostgres(dir, createSilentLogger(), 'postgres');
  const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => {} });
  const [{ server_version: version }] = (await admin`show server_version`) as unknown as [{ server_version: string }];
  return {
    url: pg.adminUrl,
    version,
    async database(label, opts = {}) {
      const name = `bench_${label.replace(/\W/g, '_').toLowerCase()}_${++counter}`;
      await admin.unsafe(`create database ${name}`);
      const url = pg.adminUrl.replace(/\/[^/?]*(\?.*)?$/, `/${name}`);
      if (opts.migrated) {
        const sql: Sql = connect(url, 1, 'gleaner-bench-migrate');
        await migrate(sql);
        await sql.end({ timeout: 1 });
      }
      // Not dropped during the run: dropping WITH (FORCE) kills connections a
      // peer's pool may still hold idle (pg emits an unhandled error); the
      // whole data directory goes when the server stops.
      return { name, url, drop: async () => {} };
    },
    parts(url) {
      const u = new URL(url);
      return { host: u.hostname, port: u.port, user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1) };
    },
    cpuMs() {
      const postmaster = Number(readFileSync(path.join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
      const own = statFields(postmaster);
      if (!own) return NaN;
      let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
      for (const pid of readdirSync('/proc')) {
        if (!/^\d+$/.test(pid)) continue;
        const f = statFields(pid);
        if (f && Number(f[1]) === postmaster) ticks += Number(f[11]) + Number(f[12]);
      }
      return ticks * TICK_MS;
    },
    async stop() {
      await admin.end({ timeout: 1 });
      await pg.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

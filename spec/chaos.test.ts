// The chaos scenarios (chaos/) that are fast at a reduced load, each
// against real processes: worker SIGKILLs, a PostgreSQL outage, a receiver
// down, hostile pages, the SSRF matrix and abuse (the last one also scans
// every process's output of this file for keys and secrets).
// `npm run chaos` runs them all at full load and prints the table.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { scenarios } from '../chaos/index.js';
import { held } from '../chaos/types.js';

let logDir: string;
let pgServerUrl: string;
const cleanups: (() => Promise<void>)[] = [];

before(async () => {
  logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-chaos-test-'));
  cleanups.push(() => fs.rm(logDir, { recursive: true, force: true }));
  if (process.env.GLEANER_TEST_DATABASE_URL) {
    pgServerUrl = process.env.GLEANER_TEST_DATABASE_URL;
  } else {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-chaos-test-pg-'));
    const pg = await startEmbeddedPostgres(dir, createSilentLogger(), 'postgres');
    pgServerUrl = pg.adminUrl; // scenarios create their databases from it
    cleanups.push(async () => {
      await pg.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });
  }
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn().catch(() => {});
});

// abuse last: its log scan then covers every process this file started.
const inSuite = scenarios.filter((s) => s.inTestSuite).sort((a, b) => Number(a.name === 'abuse') - Number(b.name === 'abuse'));

for (const scenario of inSuite) {
  test(`chaos: ${scenario.name} (reduced) — ${scenario.summary}`, { timeout: scenario.reducedTimeoutMs ?? 60_000 }, async (t) => {
    const report = await scenario.run({ reduced: true, logDir, pgServerUrl });
    for (const c of report.checks) t.diagnostic(`${c.held ? 'held' : 'NOT HELD'}: ${c.what}: ${c.detail}`);
    for (const n of report.notes) t.diagnostic(n);
    const failed = report.checks.filter((c) => !c.held);
    assert.ok(held(report), failed.map((c) => `${c.what}: ${c.detail}`).join('\n'));
  });
}

// A fresh database per test file on the run's one embedded server (started by
// spec/run.ts; a file run on its own starts a server of its own).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import postgres from 'postgres';
import { connect, type Sql } from '../../core/db.js';
import { startEmbeddedPostgres } from '../../core/embeddedPostgres.js';
import { createSilentLogger } from '../../core/logger.js';
import { migrate } from '../../core/migrations.js';

let serverUrl: Promise<string> | undefined;

function server(): Promise<string> {
  serverUrl ??= (async () => {
    if (process.env.GLEANER_TEST_DATABASE_URL) return process.env.GLEANER_TEST_DATABASE_URL;
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-test-'));
    const started = await startEmbeddedPostgres(dir, createSilentLogger(), 'postgres');
    onCleanup(async () => {
      await started.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });
    return started.url;
  })();
  return serverUrl;
}

export interface TestDatabase {
  url: string;
  sql: Sql;
}

/** Create an empty, migrated database for this test file (unmigrated with `migrate: false`); dropped when the file ends. */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const base = await server();
  const name = `test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = base.replace(/\/[^/]*$/, `/${name}`);
  const sql = connect(url, 10, 'gleaner-test');
  if (opts.migrate !== false) await migrate(sql);
  onCleanup(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { url, sql };
}

// A fresh database per test file on the run's one embedded server (started by
// spec/run.ts, which passes a superuser's URL in GLEANER_TEST_DATABASE_URL and
// the service role's in GLEANER_TEST_SERVICE_URL; a file run on its own starts
// a server of its own).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onCleanup } from './cleanup.js';
import postgres from 'postgres';
import { connect, type Sql } from '../../core/platform/db.js';
import { startEmbeddedPostgres } from '../../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { migrate } from '../../core/platform/migrations.js';

interface ServerUrls {
  /** A superuser's URL: creates and drops the test databases. */
  admin: string;
  /** The URL tests connect with: the service's own role on the embedded server. */
  service: string;
}

let serverUrls: Promise<ServerUrls> | undefined;

function server(): Promise<ServerUrls> {
  serverUrls ??= (async () => {
    const external = process.env.GLEANER_TEST_DATABASE_URL;
    if (external) return { admin: external, service: process.env.GLEANER_TEST_SERVICE_URL || external };
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-test-'));
    const started = await startEmbeddedPostgres(dir, createSilentLogger(), 'postgres');
    onCleanup(async () => {
      await started.stop();
      await fs.rm(dir, { recursive: true, force: true });
    });
    return { admin: started.adminUrl, service: started.url };
  })();
  return serverUrls;
}

export interface TestDatabase {
  url: string;
  sql: Sql;
}

/**
 * Create an empty, migrated database for this test file (unmigrated with
 * `migrate: false`); dropped when the file ends. On the embedded server it
 * belongs to the service's role, which every connection of the test uses, as
 * the service does.
 */
export async function createTestDatabase(opts: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const urls = await server();
  const name = `test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(urls.admin, { max: 1, onnotice: () => {} });
  const owner = urls.service === urls.admin ? '' : ` owner "${decodeURIComponent(new URL(urls.service).username)}"`;
  await admin.unsafe(`create database ${name}${owner}`);
  const url = urls.service.replace(/\/[^/]*$/, `/${name}`);
  const sql = connect(url, 10, 'gleaner-test');
  if (opts.migrate !== false) await migrate(sql);
  onCleanup(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  return { url, sql };
}

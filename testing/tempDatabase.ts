// For benchmarks: a throwaway embedded PostgreSQL in a temp dir, migrated.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connect, type Sql } from '../core/platform/db.js';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { migrate } from '../core/platform/migrations.js';

export async function tempDatabase(): Promise<{ url: string; sql: Sql; close(): Promise<void> }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-bench-'));
  const server = await startEmbeddedPostgres(dir, createSilentLogger());
  const sql = connect(server.url, 10, 'gleaner-bench');
  await migrate(sql);
  return {
    url: server.url,
    sql,
    async close() {
      await sql.end({ timeout: 1 });
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

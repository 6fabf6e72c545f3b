// Applies sql/migrations/NNN_name.sql in order, each once and recorded, in one
// transaction under an advisory lock so concurrent starts do not race.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Sql } from './db.js';

export const MIGRATIONS_DIR = fileURLToPath(new URL('../../sql/migrations/', import.meta.url));
const LOCK_KEY = 0x676c65616e; // "glean"

export interface Migration {
  version: number;
  name: string;
  text: string;
  checksum: string;
}

const cache = new Map<string, Promise<Migration[]>>();

export function readMigrations(dir = MIGRATIONS_DIR): Promise<Migration[]> {
  let found = cache.get(dir);
  if (!found) cache.set(dir, (found = loadMigrations(dir)));
  return found;
}

async function loadMigrations(dir: string): Promise<Migration[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d+_[\w-]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      return {
        version: Number(file.split('_')[0]),
        name: file.replace(/\.sql$/, ''),
        text,
        checksum: createHash('sha256').update(text).digest('hex'),
      };
    }),
  );
}

const ensureTable = `create table if not exists schema_migrations (
  version integer primary key, name text not null, checksum text not null, applied_at timestamptz not null default now())`;

/** Returns the names of the migrations applied by this call. */
export async function migrate(sql: Sql, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  return sql.begin(async (tx) => {
    // Transaction-scoped lock: a second starter waits here, then sees the work done.
    // Index builds (and waiting for another starter's) may outlast DATABASE_STATEMENT_TIMEOUT.
    await tx`set local statement_timeout = 0`;
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
    await tx.unsafe(ensureTable);
    const done = new Map((await tx`select version, checksum from schema_migrations`).map((r) => [r.version as number, r.checksum as string]));
    const applied: string[] = [];
    for (const m of migrations) {
      const previous = done.get(m.version);
      if (previous !== undefined) {
        if (previous !== m.checksum) throw new Error(`migration ${m.name} was changed after it was applied`);
        continue;
      }
      await tx.savepoint(async (sp) => {
        await sp.unsafe(m.text);
        await sp`insert into schema_migrations (version, name, checksum) values (${m.version}, ${m.name}, ${m.checksum})`;
      });
      applied.push(m.name);
    }
    return applied;
  });
}

/** True when every migration file has been applied. */
export async function migrationsApplied(sql: Sql, dir = MIGRATIONS_DIR): Promise<boolean> {
  const migrations = await readMigrations(dir);
  const exists = await sql`select to_regclass('schema_migrations') as t`;
  if (!exists[0]?.t) return migrations.length === 0;
  const rows = await sql`select version from schema_migrations`;
  const have = new Set(rows.map((r) => r.version as number));
  return migrations.every((m) => have.has(m.version));
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import type { Config } from './config.js';
import { startEmbeddedPostgres, type EmbeddedServer } from './embeddedPostgres.js';
import type { Logger } from './logger.js';

export type Sql = postgres.Sql;
/** A connection or a transaction: what every data-access function takes. */
export type Db = postgres.Sql | postgres.TransactionSql;

export interface Database {
  sql: Sql;
  url: string;
  embedded: EmbeddedServer | undefined;
  close(options?: { stopEmbedded?: boolean }): Promise<void>;
}

export function connect(url: string, max: number, applicationName = 'gleaner'): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connection: { application_name: applicationName },
    // Surface an unreachable database quickly instead of queueing forever.
    connect_timeout: 10,
    // postgres.js waits up to 20 s (3^retries / 100, shared by the pool) before
    // reconnecting, and queued queries wait with it: after an outage, requests
    // would hang and LISTEN would return late. Retry within a second instead.
    backoff: (retries: number) => Math.min(1, 0.05 * 2 ** retries) * (0.5 + Math.random() / 2),
  });
}

/** Whether scripts/patch-postgres.mjs ran (it does on npm install/ci, not with --ignore-scripts). */
function postgresDriverPatched(): boolean {
  try {
    const entry = fileURLToPath(import.meta.resolve('postgres'));
    return readFileSync(entry.replace(/index\.js$/, 'connection.js'), 'utf8').includes('// gleaner:');
  } catch {
    return false;
  }
}

/** DATABASE_URL when set, otherwise the embedded server under DATA_DIR. */
export async function openDatabase(config: Config, logger: Logger, applicationName = 'gleaner'): Promise<Database> {
  if (!postgresDriverPatched()) {
    logger.warn('the postgres.js driver is not patched (installed with --ignore-scripts?): a database outage can crash the process; run `node scripts/patch-postgres.mjs`');
  }
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, logger);
    url = embedded.url;
  }
  const sql = connect(url, config.databasePoolSize, applicationName);
  return {
    sql,
    url,
    embedded,
    async close({ stopEmbedded = true } = {}) {
      await sql.end({ timeout: 5 });
      if (stopEmbedded && embedded) await embedded.stop();
    },
  };
}

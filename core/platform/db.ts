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
  /** A small pool of its own (closed with the database), e.g. so heartbeats never queue behind a saturated main pool. */
  dedicated(name: string, max: number, opts?: ConnectOptions): Sql;
  close(options?: { stopEmbedded?: boolean }): Promise<void>;
}

export interface ConnectOptions {
  /** statement_timeout of every statement on these connections; 0 or unset: none. */
  statementTimeoutMs?: number;
}

export function connect(url: string, max: number, applicationName = 'gleaner', opts: ConnectOptions = {}): Sql {
  return postgres(url, {
    max,
    onnotice: () => {},
    connection: {
      application_name: applicationName,
      // Every statement is written for READ COMMITTED (SKIP LOCKED sweeps, guarded
      // moves): a server or role default of REPEATABLE READ or SERIALIZABLE would
      // turn their conflicts into serialization errors.
      default_transaction_isolation: 'read committed',
      ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    },
    // Surface an unreachable database quickly instead of queueing forever.
    connect_timeout: 10,
    // postgres.js waits up to 20 s (3^retries / 100, shared by the pool) before
    // reconnecting, and queued queries wait with it: after an outage, requests
    // would hang and LISTEN would return late. Retry within a second instead.
    backoff: (retries: number) => Math.min(1, 0.05 * 2 ** retries) * (0.5 + Math.random() / 2),
  });
}

/** The marker patches/postgres+3.4.9.patch leaves in the driver (applied by patch-package on npm install/ci). */
const PATCH_MARKER = '// gleaner:';

/** Why the installed postgres.js lacks our fix, or null when it has it. `connectionJs` defaults to the installed driver's file. */
export function postgresDriverProblem(connectionJs?: string): string | null {
  let file = connectionJs;
  try {
    file ??= fileURLToPath(import.meta.resolve('postgres')).replace(/index\.js$/, 'connection.js');
    if (readFileSync(file, 'utf8').includes(PATCH_MARKER)) return null;
    return `the postgres.js driver at ${file} is not patched`;
  } catch (err) {
    return `the postgres.js driver could not be checked (${(err as Error).message})`;
  }
}

/**
 * Stop start-up on an unpatched driver: without the fix, a database outage can
 * kill the process with an uncatchable TypeError (patches/ explains).
 */
export function assertPostgresDriverPatched(connectionJs?: string): void {
  const problem = postgresDriverProblem(connectionJs);
  if (problem) {
    throw new Error(`${problem}: a database outage could crash the process. Run \`npx patch-package\` (npm install and npm ci run it as postinstall; --ignore-scripts and other package managers skip it)`);
  }
}

/** DATABASE_URL when set, otherwise the embedded server under DATA_DIR. */
export async function openDatabase(config: Config, logger: Logger, applicationName = 'gleaner'): Promise<Database> {
  assertPostgresDriverPatched();
  let embedded: EmbeddedServer | undefined;
  let url = config.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres(config.dataDir, logger);
    url = embedded.url;
  }
  const sql = connect(url, config.databasePoolSize, applicationName, { statementTimeoutMs: config.databaseStatementTimeoutMs });
  const extra: Sql[] = [];
  return {
    sql,
    url,
    embedded,
    dedicated(name, max, opts) {
      const own = connect(url, max, `${applicationName}-${name}`, opts);
      extra.push(own);
      return own;
    },
    async close({ stopEmbedded = true } = {}) {
      for (const own of extra) await own.end({ timeout: 5 });
      await sql.end({ timeout: 5 });
      if (stopEmbedded && embedded) await embedded.stop();
    },
  };
}

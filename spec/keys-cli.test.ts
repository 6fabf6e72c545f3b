// `npm run keys` as a real process against a fresh database. (The case of the
// CLI attaching to a running service's embedded server is in process.test.ts,
// where that service is already started.)
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { authenticateKey } from '../core/apiKeys.js';
import { createTestDatabase, type TestDatabase } from './helpers/database.js';
import { STACK_TRACE, runScript } from './helpers/processes.js';

const KEY = /^knowledgesdk_live_[0-9A-Za-z]{40}$/;

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});

const keys = (...args: string[]) => runScript('cli/keys.ts', args, { DATABASE_URL: db.url }, 30_000);

describe('keys CLI', () => {
  let key: string;

  test('create --name prints the key alone on the last line of stdout', async () => {
    const run = await keys('create', '--name', 'ci');
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.replace(/\n$/, '').split('\n');
    key = lines.at(-1)!;
    assert.match(key, KEY);
    assert.equal(run.stdout.split(key).length, 2, 'the key is printed once');
    assert.ok(!run.stderr.includes(key));
    const authenticated = await authenticateKey(db.sql, key);
    assert.equal(authenticated?.name, 'ci');
    assert.equal(authenticated?.revokedAt, null);
  });

  test('list shows the key by name and prefix, never in full', async () => {
    const run = await keys('list');
    assert.equal(run.code, 0, run.stderr);
    const [header, ...rows] = run.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+NAME\s+PREFIX\s+CREATED\s+REVOKED$/);
    const row = rows.find((r) => r.split(/\s+/)[1] === 'ci');
    assert.ok(row, run.stdout);
    assert.ok(row.includes(`${key.slice(0, 'knowledgesdk_live_'.length + 6)}…`));
    assert.match(row, /\s-$/, 'not revoked');
    assert.ok(!run.stdout.includes(key), 'the full key is never listed');
    assert.ok(!run.stdout.includes(key.slice(-20)));
  });

  test('revoke by name makes authentication fail', async () => {
    const run = await keys('revoke', 'ci');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^revoked key_\S+ \(ci\)$/m);
    assert.equal(await authenticateKey(db.sql, key), null);
    const list = await keys('list');
    const row = list.stdout.split('\n').find((r) => r.split(/\s+/)[1] === 'ci');
    assert.match(row!, /\d{4}-\d{2}-\d{2}T\S+Z$/, 'the revocation time is listed');
    const again = await keys('revoke', 'ci');
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no active key/);
    assert.doesNotMatch(again.stderr, STACK_TRACE);
  });

  test('revoke by id works too', async () => {
    const created = await keys('create', '--name', 'by-id');
    const byIdKey = created.stdout.trimEnd().split('\n').at(-1)!;
    const id = (await authenticateKey(db.sql, byIdKey))!.id;
    const run = await keys('revoke', id);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(await authenticateKey(db.sql, byIdKey), null);
  });

  for (const [label, args, message] of [
    ['an unknown command', ['frobnicate'], /unknown command: frobnicate/],
    ['no command', [], /missing command/],
    ['create without --name', ['create'], /create needs --name/],
    ['create with a blank --name', ['create', '--name', '  '], /create needs --name/],
    ['revoke without a key', ['revoke'], /revoke needs one key id or name/],
    ['an unknown option', ['list', '--frob'], /Unknown option/],
  ] as const) {
    test(`${label} exits non-zero with the usage and no stack trace`, async () => {
      const run = await keys(...args);
      assert.notEqual(run.code, 0);
      assert.equal(run.signal, null);
      assert.match(run.stderr, message);
      assert.match(run.stderr, /usage:/);
      assert.doesNotMatch(run.stderr, STACK_TRACE);
      assert.equal(run.stdout, '');
    });
  }

  test('--help prints the usage and exits 0', async () => {
    const run = await keys('--help');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /usage:/);
  });
});

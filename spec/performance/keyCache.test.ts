// API keys are served from a short-lived cache on the request path
// (KeyCache). A revocation must still be refused at once: in the process that
// made it, and in every other API process through the NOTIFY of migration
// 019's trigger, whether the dashboard or the keys CLI revoked the key.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { createApiKey, KEY_CACHE_TTL_MS, KeyCache, revokeApiKey } from '../../core/apiKeys.js';
import { onCleanup } from '../helpers/cleanup.js';
import { createTestDatabase, type TestDatabase } from '../helpers/database.js';
import { runScript, spawnScript, type ServiceProcess } from '../helpers/processes.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until `check` holds (a deadline far beyond any notification, only so a broken build fails instead of hanging). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 60_000; !(await check()); await sleep(10)) assert.ok(Date.now() < deadline, what);
}

let renames = 0;
/** True when a rename made after the key was cached is not seen: the answer came from the cache, not the table. */
async function servedFromCache(db: TestDatabase, cache: KeyCache, key: string, id: string): Promise<boolean> {
  const first = (await cache.authenticate(key))?.name;
  const fresh = `renamed-${++renames}`;
  await db.sql`update api_keys set name = ${fresh} where id = ${id}`;
  const second = (await cache.authenticate(key))?.name;
  return first !== undefined && second === first;
}

describe('KeyCache in one process', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });

  test('an active key is served from the cache, and a revocation by another connection clears it (an hour-long TTL cannot)', async () => {
    const cache = new KeyCache(db.sql, 3_600_000);
    onCleanup(() => cache.close());
    const { key, apiKey } = await createApiKey(db.sql, 'cached');
    await eventually(() => servedFromCache(db, cache, key, apiKey.id), 'the key was never served from the cache');

    // Another connection, as another process (the keys CLI) would revoke it.
    const other = postgres(db.url, { max: 1, onnotice: () => {} });
    onCleanup(() => other.end({ timeout: 1 }));
    await other`update api_keys set revoked_at = now() where id = ${apiKey.id}`;
    await eventually(async () => (await cache.authenticate(key)) === null, 'the revoked key was still served from the cache');
    assert.equal(await cache.authenticate(key), null, 'a revoked key is not cached');
  });

  test('revokeApiKey clears the caches of its own process before it returns', async () => {
    const cache = new KeyCache(db.sql, 3_600_000);
    onCleanup(() => cache.close());
    const { key, apiKey } = await createApiKey(db.sql, 'revoked-here');
    await eventually(() => servedFromCache(db, cache, key, apiKey.id), 'the key was never served from the cache');
    await revokeApiKey(db.sql, apiKey.id);
    assert.equal(await cache.authenticate(key), null);
  });
});

describe('two API processes', () => {
  const ADMIN_TOKEN = 'a'.repeat(40);
  let db: TestDatabase;
  let apis: ServiceProcess[];
  let urls: string[];
  before(async () => {
    db = await createTestDatabase();
    const env = { DATABASE_URL: db.url, PORT: '0', CREATE_INITIAL_KEY: 'false', RATE_LIMIT_PER_MINUTE: '0', LOG_LEVEL: 'info', ADMIN_TOKEN };
    apis = [spawnScript('server/main.ts', [], env), spawnScript('server/main.ts', [], env)];
    urls = await Promise.all(apis.map(async (p) => (await p.waitForLog((l) => l.message === 'API listening', 120_000, "'API listening'")).url as string));
  });
  after(async () => {
    for (const p of apis ?? []) await p.stop('SIGTERM');
  });

  const status = async (url: string, key: string) => (await fetch(`${url}/v1/jobs`, { headers: { 'x-api-key': key } })).status;

  /** Both processes accept (and cache) the key; then `revoke`; returns ms from the revocation's commit until both refuse it. */
  async function refusedEverywhere(name: string, revoke: (id: string) => Promise<void>): Promise<number> {
    const { key, apiKey } = await createApiKey(db.sql, name);
    for (const url of urls) for (let i = 0; i < 3; i++) assert.equal(await status(url, key), 200);
    await revoke(apiKey.id);
    const [row] = await db.sql`select revoked_at from api_keys where id = ${apiKey.id}`;
    const revokedAt = (row!.revoked_at as Date).getTime();
    const refusedAt = await Promise.all(
      urls.map(async (url) => {
        await eventually(async () => (await status(url, key)) === 401, `${url} went on accepting the revoked key`);
        return Date.now();
      }),
    );
    return Math.max(...refusedAt) - revokedAt;
  }

  test('a key revoked with the keys CLI is refused by both, long before a cached entry could expire', async (t) => {
    const ms = await refusedEverywhere('cli-revoked', async (id) => {
      const run = await runScript('cli/keys.ts', ['revoke', id], { DATABASE_URL: db.url }, 60_000);
      assert.equal(run.code, 0, run.stderr);
    });
    t.diagnostic(`refused by both processes ${ms} ms after the revocation committed`);
    // Generous: a notification takes milliseconds; only a cached entry living out its TTL would take this long.
    assert.ok(ms < KEY_CACHE_TTL_MS, `${ms} ms`);
  });

  test('a key revoked in one process’s dashboard is refused by both', async (t) => {
    const ms = await refusedEverywhere('dashboard-revoked', async (id) => {
      const res = await fetch(`${urls[0]}/dashboard/keys/${id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, redirect: 'manual' });
      assert.equal(res.status, 303);
      assert.match(res.headers.get('location') ?? '', /done=revoked/);
    });
    t.diagnostic(`refused by both processes ${ms} ms after the revocation committed`);
    assert.ok(ms < KEY_CACHE_TTL_MS, `${ms} ms`);
  });
});

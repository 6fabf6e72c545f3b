import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError, configVariableNames, loadConfig } from '../core/platform/config.js';

test('defaults: port 3000, .data, no private networks, info logs', () => {
  const config = loadConfig({});
  assert.equal(config.port, 3000);
  assert.match(config.dataDir, /\.data$/);
  assert.equal(config.databaseUrl, undefined);
  assert.equal(config.allowPrivateNetworks, false);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.worker.staleAfterMs, 10 * 60_000);
});

test('durations and booleans are parsed', () => {
  const config = loadConfig({ SHUTDOWN_GRACE: '45s', RETRY_BASE_DELAY: '250ms', STALE_AFTER: '2h', ALLOW_PRIVATE_NETWORKS: '1', FETCH_TOTAL_TIMEOUT: '1500' });
  assert.equal(config.worker.shutdownGraceMs, 45_000);
  assert.equal(config.worker.retryBaseDelayMs, 250);
  assert.equal(config.worker.staleAfterMs, 7_200_000);
  assert.equal(config.allowPrivateNetworks, true);
  assert.equal(config.fetch.totalTimeoutMs, 1500);
});

test('every bad value is named with its reason', () => {
  assert.throws(
    () => loadConfig({ PORT: 'abc', WORKER_CONCURRENCY: '0', ALLOW_PRIVATE_NETWORKS: 'maybe', LOG_LEVEL: 'loud', SHUTDOWN_GRACE: 'soon' }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      const text = err.message;
      assert.match(text, /PORT: must be a number/);
      assert.match(text, /WORKER_CONCURRENCY: must be at least 1/);
      assert.match(text, /ALLOW_PRIVATE_NETWORKS: must be true or false/);
      assert.match(text, /LOG_LEVEL/);
      assert.match(text, /SHUTDOWN_GRACE: must be a duration/);
      return true;
    },
  );
});

test('a bad DATABASE_URL is reported without echoing it (it may hold a password)', () => {
  assert.throws(
    () => loadConfig({ DATABASE_URL: 'mysql://user:secretpw@host/db' }),
    (err: unknown) => err instanceof ConfigError && /DATABASE_URL/.test(err.message) && !err.message.includes('secretpw'),
  );
});

test('empty strings count as unset', () => {
  assert.equal(loadConfig({ PORT: '', DATABASE_URL: '' }).port, 3000);
});

/** The README's configuration table: each row's variable names and the first `value` of its default column. */
function readmeConfigTable(): { names: string[]; default: string }[] {
  const readme = readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Configuration');
  assert.ok(start >= 0, 'README has a Configuration section');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 5));
  return section
    .split('\n')
    .filter((line) => /^\| `[A-Z]/.test(line))
    .map((line) => {
      const [, names = '', def = ''] = line.split('|');
      return { names: [...names.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]!), default: /`([^`]*)`/.exec(def)?.[1] ?? def.trim() };
    });
}

test("the README's configuration table lists exactly the variables core/platform/config.ts reads", () => {
  const documented = readmeConfigTable().flatMap((r) => r.names);
  assert.deepEqual(documented.filter((n) => !configVariableNames.includes(n)), [], 'documented but not read');
  assert.deepEqual(configVariableNames.filter((n) => !documented.includes(n)), [], 'read but not documented');
  assert.equal(new Set(documented).size, documented.length, 'each variable documented once');
});

test("each default in the README's configuration table is the default core/platform/config.ts applies", () => {
  const defaults = loadConfig({});
  const checked: string[] = [];
  for (const row of readmeConfigTable()) {
    // "unset", derived ("$DATA_DIR/models") and abbreviated ("GleanerBot/0.1 (…)") defaults are not values to set.
    if (row.names.length !== 1 || row.default === 'unset' || /[$…]/.test(row.default) || row.default === '') continue;
    const name = row.names[0]!;
    assert.deepEqual(loadConfig({ [name]: row.default }), defaults, `${name}=${row.default} (the README's default) changes the configuration`);
    checked.push(name);
  }
  assert.ok(checked.length >= 40, `${checked.length} defaults checked`);
});

describe('cross-field checks', () => {
  const refused = (env: Record<string, string>, message: RegExp) =>
    assert.throws(() => loadConfig(env), (err: unknown) => err instanceof ConfigError && message.test(err.message), `${JSON.stringify(env)} is refused with ${message}`);

  test('unset timing settings derive from STALE_AFTER, so setting it alone is always valid', () => {
    const c = loadConfig({ STALE_AFTER: '5s' });
    assert.equal(c.worker.rescueAfterMs, 2500);
    assert.equal(c.worker.heartbeatIntervalMs, 625);
    assert.equal(c.worker.jobTimeoutMs, 4500);
    const d = loadConfig({});
    assert.deepEqual([d.worker.rescueAfterMs, d.worker.heartbeatIntervalMs], [60_000, 15_000], 'the README defaults');
    assert.ok(d.worker.jobTimeoutMs < d.worker.staleAfterMs);
  });

  test('RESCUE_AFTER must be shorter than STALE_AFTER', () => {
    refused({ STALE_AFTER: '1m', RESCUE_AFTER: '1m' }, /RESCUE_AFTER: must be shorter than STALE_AFTER/);
    assert.equal(loadConfig({ STALE_AFTER: '1m', RESCUE_AFTER: '59s' }).worker.rescueAfterMs, 59_000);
  });

  test('HEARTBEAT_INTERVAL must be at most half of RESCUE_AFTER (two heartbeats per rescue window)', () => {
    refused({ RESCUE_AFTER: '10s', HEARTBEAT_INTERVAL: '5001ms' }, /HEARTBEAT_INTERVAL: must be above 0 and at most half of RESCUE_AFTER/);
    assert.equal(loadConfig({ RESCUE_AFTER: '10s', HEARTBEAT_INTERVAL: '5s' }).worker.heartbeatIntervalMs, 5000);
  });

  test('JOB_TIMEOUT must be shorter than STALE_AFTER, so a slow job times out before it is reaped', () => {
    refused({ STALE_AFTER: '10m', JOB_TIMEOUT: '10m' }, /JOB_TIMEOUT: must be above 0 and shorter than STALE_AFTER/);
    assert.equal(loadConfig({ STALE_AFTER: '10m', JOB_TIMEOUT: '9m' }).worker.jobTimeoutMs, 540_000);
  });

  test('STALE_AFTER under a second is refused', () => {
    refused({ STALE_AFTER: '999ms' }, /STALE_AFTER: must be at least 1s/);
  });

  test('RETENTION must outlast the webhook retry schedule', () => {
    refused({ RETENTION: '1h' }, /RETENTION: must be 0 \(keep forever\) or longer than 1h and than the webhook retry schedule/);
    refused({ RETENTION: '2h', WEBHOOK_RETRY_SCHEDULE: '3h' }, /RETENTION/);
    assert.equal(loadConfig({ RETENTION: '0' }).maintenance.retentionMs, 0);
    assert.equal(loadConfig({ RETENTION: '5h', WEBHOOK_RETRY_SCHEDULE: '1h', WEBHOOK_TIMEOUT: '10s' }).maintenance.retentionMs, 5 * 3_600_000);
  });

  test('chunk sizes: overlap at most half a chunk, a chunk at most the model’s input', () => {
    refused({ CHUNK_TOKENS: '100', CHUNK_OVERLAP_TOKENS: '51' }, /CHUNK_OVERLAP_TOKENS: must be at most half of CHUNK_TOKENS/);
    refused({ EMBEDDING_MAX_TOKENS: '128', CHUNK_TOKENS: '129' }, /CHUNK_TOKENS: must be at most EMBEDDING_MAX_TOKENS/);
    assert.deepEqual(loadConfig({ EMBEDDING_MAX_TOKENS: '128', CHUNK_TOKENS: '128', CHUNK_OVERLAP_TOKENS: '64' }).chunking, { maxTokens: 128, overlapTokens: 64 });
  });

  test('Typesense needs both its URL and its key', () => {
    refused({ TYPESENSE_URL: 'http://127.0.0.1:8108' }, /TYPESENSE_URL and TYPESENSE_API_KEY: set both/);
    refused({ TYPESENSE_API_KEY: 'xyz' }, /TYPESENSE_URL and TYPESENSE_API_KEY: set both/);
    assert.equal(loadConfig({ TYPESENSE_URL: 'http://127.0.0.1:8108', TYPESENSE_API_KEY: 'xyz' }).typesense?.collection, 'gleaner_chunks');
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../core/config.js';

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

// Secret comparisons never throw: a presented token whose UTF-8 byte length
// differs from the configured one (same UTF-16 length) is a 401 on the API's
// /metrics, on the dashboard, and on a worker's WORKER_METRICS_PORT, and the
// worker process keeps serving.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { freePort } from '../../bench/suite/apiProcess.js';
import { createTestDatabase } from '../helpers/database.js';
import { spawnScript } from '../helpers/processes.js';
import { startStack } from '../helpers/stack.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdefgh'; // 32 ASCII characters
const ADMIN_TOKEN = 'admin-token-0123456789abcdefghijklmn';
// 32 characters that are two bytes each in UTF-8 (sent as latin1 header bytes,
// read back by node as 32 characters, re-encoded to 64 bytes).
const sameLengthWrongBytes = 'é'.repeat(METRICS_TOKEN.length);

/** GET with raw header values (node's client sends latin1 bytes as they are). */
function get(url: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
}

describe('token comparisons', () => {
  test('API /metrics and the dashboard: a bearer with the token length in characters but not in bytes is a 401, not a 500', async () => {
    const stack = await startStack({ config: { METRICS_TOKEN, ADMIN_TOKEN } });
    for (const bearer of [sameLengthWrongBytes, 'é'.repeat(16), 'x'.repeat(31)]) {
      const metrics = await get(`${stack.baseUrl}/metrics`, { authorization: `Bearer ${bearer}` });
      assert.equal(metrics.status, 401, metrics.text);
      assert.match(metrics.text, /"unauthorized"/);
    }
    const dashboard = await get(`${stack.baseUrl}/dashboard/`, { authorization: `Bearer ${'é'.repeat(ADMIN_TOKEN.length)}` });
    assert.equal(dashboard.status, 401);
    assert.equal((await get(`${stack.baseUrl}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` })).status, 200);
    assert.equal((await get(`${stack.baseUrl}/dashboard/`, { authorization: `Bearer ${ADMIN_TOKEN}` })).status, 200);
  });

  test("a worker's metrics port answers 401 to such a bearer and the worker keeps running", async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const worker = spawnScript('worker/main.ts', [], { DATABASE_URL: db.url, LOG_LEVEL: 'info', METRICS_TOKEN, WORKER_METRICS_PORT: String(port) });
    await worker.waitForLog((l) => l.message === 'worker metrics listening', 30_000, "'worker metrics listening'");
    const base = `http://127.0.0.1:${port}`;
    for (const bearer of [sameLengthWrongBytes, 'é'.repeat(16)]) {
      const res = await get(`${base}/metrics`, { authorization: `Bearer ${bearer}` });
      assert.equal(res.status, 401);
    }
    const ok = await get(`${base}/metrics`, { authorization: `Bearer ${METRICS_TOKEN}` });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /gleaner_jobs/);
    assert.ok(worker.alive, `the worker exited: ${worker.stderr().slice(-500)}`);
    assert.ok(!worker.logs.some((l) => l.message === 'unhandled promise rejection'), 'no unhandled rejection was logged');
    await worker.stop('SIGTERM');
  });
});

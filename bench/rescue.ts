// `npm run bench:rescue [-- RESCUE_AFTER]`: SIGKILL a real worker process that
// holds jobs, start another, and time from the kill until every job has
// completed (exactly once). Uses the default heartbeat/rescue settings unless given.
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { createApiKey } from '../core/apiKeys.js';
import { createJob, getJob, listJobEvents } from '../core/jobs/index.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { startQueue } from '../core/queue/index.js';
import { percentile, tempDatabase } from '../testing/tempDatabase.js';
import { standInModelDir } from '../testing/serviceProcess.js';
import { ensureTestModel } from '../testing/testModel.js';

const rescueAfter = process.argv[2] ?? '60s';
const heartbeat = process.argv[3] ?? (rescueAfter === '60s' ? '15s' : '2s');
const JOBS = 8;
const root = path.resolve(import.meta.dirname, '..');

await ensureTestModel(standInModelDir);
const db = await tempDatabase();
const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: false }, createSilentLogger());

// Each page hangs on its first request (the worker that will be killed) and answers at once afterwards.
const seen = new Set<string>();
const site = http.createServer((req, res) => {
  if (!seen.has(req.url!)) {
    seen.add(req.url!);
    return; // hang
  }
  res.writeHead(200, { 'content-type': 'text/html' }).end('<html><head><title>R</title></head><body><article><p>Rescued page with enough text to count as content.</p></article></body></html>');
});
await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;

function worker(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: root,
    stdio: 'ignore',
    env: { ...process.env, EMBEDDING_MODEL_DIR: standInModelDir, DATABASE_URL: db.url, ALLOW_PRIVATE_NETWORKS: 'true', RESCUE_AFTER: rescueAfter, HEARTBEAT_INTERVAL: heartbeat, FETCH_TOTAL_TIMEOUT: '10m', FETCH_HEADERS_TIMEOUT: '10m', FETCH_BODY_TIMEOUT: '10m', WORKER_CONCURRENCY: String(JOBS), LOG_LEVEL: 'error' },
  });
}

const { apiKey } = await createApiKey(db.sql, 'bench');
const first = worker();
const ids: string[] = [];
for (let i = 0; i < JOBS; i++) {
  const { job } = await createJob(db.sql, { apiKeyId: apiKey.id, input: { url: `${base}/p${i}` }, callbackUrl: null, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  ids.push(job.id);
}
const waitUntil = async (check: () => Promise<boolean>, ms: number) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
};
await waitUntil(async () => (await db.sql`select count(*)::int as n from jobs where status = 'processing'`)[0]!.n === JOBS, 30_000);
await new Promise((r) => setTimeout(r, 1000));
first.kill('SIGKILL');
const killedAt = Date.now();
const second = worker();

const done = new Map<string, number>();
await waitUntil(async () => {
  for (const id of ids) {
    if (done.has(id)) continue;
    const job = await getJob(db.sql, { jobId: id });
    if (job?.status === 'completed') done.set(id, job.completedAt!.getTime() - killedAt);
  }
  return done.size === JOBS;
}, 5 * 60_000);

let completions = 0;
for (const id of ids) completions += (await listJobEvents(db.sql, id)).filter((e) => e.toStatus === 'completed').length;
const times = [...done.values()].sort((a, b) => a - b);
console.log(`rescue after SIGKILL (RESCUE_AFTER=${rescueAfter}, HEARTBEAT_INTERVAL=${heartbeat}), ${JOBS} jobs held by the killed worker:`);
console.log(`  kill → completed by another worker: min ${(times[0]! / 1000).toFixed(1)} s, p50 ${(percentile(times, 50) / 1000).toFixed(1)} s, max ${(times.at(-1)! / 1000).toFixed(1)} s`);
console.log(`  completed events: ${completions} for ${JOBS} jobs (exactly once: ${completions === JOBS})`);

second.kill('SIGTERM');
await new Promise((r) => second.once('exit', r));
await boss.stop({ graceful: false, wait: true });
site.closeAllConnections();
site.close();
await db.close();

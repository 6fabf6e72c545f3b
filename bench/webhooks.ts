// `npm run bench:webhooks`: delivery latency from job completion (completed_at,
// committed with the delivery's queue entry) to the receiver's 2xx, on localhost.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApiKey } from '../core/apiKeys.js';
import { loadConfig } from '../core/platform/config.js';
import { createJob, getJob } from '../core/jobs/index.js';
import { connect } from '../core/platform/db.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { startQueue } from '../core/queue/index.js';
import type { Runtime } from '../core/platform/runtime.js';
import { openKnowledge } from '../core/modelAndIndex.js';
import { createOutboundClient, outboundOptions } from '../core/outbound/index.js';
import { singlePagePipeline } from '../worker/pipeline/singlePage.js';
import { startWorker } from '../worker/worker.js';
import { percentile, tempDatabase } from '../testing/tempDatabase.js';

const JOBS = Number(process.argv[2] ?? 200);
const db = await tempDatabase();
const config = loadConfig({ ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'error', DATABASE_URL: db.url, WORKER_CONCURRENCY: '8' });
const logger = createSilentLogger();
const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: true }, logger);
const runtime: Runtime = { config, logger, database: { sql: db.sql, url: db.url, embedded: undefined, dedicated: (name, max, opts) => connect(db.url, max, `gleaner-bench-${name}`, opts), close: async () => {} }, sql: db.sql, boss, knowledge: openKnowledge(config, db.sql, logger), close: async () => {} };

const page = '<html><head><title>Bench</title></head><body><article><h1>Bench</h1><p>A short article body for the delivery benchmark, long enough to extract.</p></article></body></html>';
const site = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
const receivedAt = new Map<string, number>();
let done = 0;
let finish: () => void;
const allDone = new Promise<void>((r) => (finish = r));
const receiver = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    res.writeHead(200).end();
    // The 2xx is written; record when the receiver answered.
    receivedAt.set(JSON.parse(body).jobId as string, Date.now());
    if (++done === JOBS) finish();
  });
});
await Promise.all([new Promise<void>((r) => site.listen(0, '127.0.0.1', r)), new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r))]);
const siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;

// The plain page pipeline: this measures delivery, not embedding.
const pageClient = createOutboundClient(outboundOptions(config));
const worker = await startWorker(runtime, singlePagePipeline(pageClient));
const { apiKey } = await createApiKey(db.sql, 'bench');
const ids: string[] = [];
for (let i = 0; i < JOBS; i++) {
  const { job } = await createJob(db.sql, { apiKeyId: apiKey.id, input: { url: siteUrl }, callbackUrl: hookUrl, idempotencyKey: null, requestHash: null, maxAttempts: 3 });
  ids.push(job.id);
  await new Promise((r) => setTimeout(r, 20)); // a steady trickle, 50 jobs/s
}
await Promise.race([allDone, new Promise((_, reject) => setTimeout(() => reject(new Error('timed out waiting for deliveries')), 120_000))]);

const latencies: number[] = [];
for (const id of ids) {
  const job = await getJob(db.sql, { jobId: id });
  latencies.push(receivedAt.get(id)! - job!.completedAt!.getTime());
}
latencies.sort((a, b) => a - b);
console.log(`webhook delivery latency, job completed → receiver 2xx, ${JOBS} jobs on localhost:`);
console.log(`  p50 ${percentile(latencies, 50)} ms   p99 ${percentile(latencies, 99)} ms   max ${latencies.at(-1)} ms`);

await worker.stop();
await pageClient.close();
await boss.stop({ graceful: false, wait: true });
site.close();
receiver.close();
await db.close();

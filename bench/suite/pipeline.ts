// pipeline and memory: `npm start` (cli/start.ts as a child process, API
// and worker in one process, as users run it) crawls a generated local site
// of 200 realistic pages with the stand-in embedding model: 10 jobs, one per
// section, each discovering its 20 articles (maxPages 20, an include pattern).
// Measured: passages embedded per second from the first submit to the last
// completed_at, against the raw onnxruntime rate for the very same passages
// (the chunks the run stored, as the model saw them) at the same batch size
// and thread setting, measured in this process afterwards; the API's p99
// latency (GET /v1/jobs/:id, 20 requests/s) while the crawl runs; and the
// peak RSS of the `npm start` process.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createApiKey } from '../../core/apiKeys.js';
import { loadConfig } from '../../core/platform/config.js';
import { connect } from '../../core/platform/db.js';
import { embeddingText } from '../../worker/pipeline/knowledge.js';
import { measureRawOnnx } from '../embedding.js';
import { sampleRss } from '../../chaos/harness.js';
import { buildServiceCopy, childEnv, projectRoot, standInModelDir } from '../../testing/serviceProcess.js';
import { ensureTestModel } from '../../testing/testModel.js';
import { freePort } from './apiProcess.js';
import { generateSite, serveSite } from './site.js';
import { GLEANER, type Measurement } from './types.js';
import { latencySummary, round, sleep } from './util.js';

const SECTIONS = 10;

/** A process's resident set now, in MB (VmRSS of /proc/PID/status). */
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const PER_SECTION = 20;

export const pipeline: Measurement = {
  name: 'pipeline',
  how: (quick) =>
    `npm start (compiled, cli/build.ts) crawls a generated site of ${quick ? SECTIONS / 2 : SECTIONS} × ${PER_SECTION} pages (one job per section) with the stand-in model; passages/s as a share of raw onnxruntime on the same passages and batch size; API p99 (GET /v1/jobs/:id at 20/s) while it runs; peak RSS of npm start, and its RSS idle after start-up.`,
  rows: [
    { name: 'pipeline', unit: '% of raw embedding rate', better: 'higher', target: '≥ 85 %', meets: (m) => m >= 85 },
    { name: 'pipeline_passages', unit: 'passages/s', better: 'higher' },
    { name: 'raw_embedding', unit: 'passages/s', better: 'higher' },
    { name: 'pipeline_pages', unit: 'pages/s', better: 'higher' },
    { name: 'pipeline_api_p99', unit: 'ms', better: 'lower', target: '≤ 50 ms', meets: (m) => m <= 50 },
    { name: 'memory', unit: 'MB', better: 'lower', target: '≤ 500 MB', meets: (m) => m <= 500 },
    { name: 'memory_idle', unit: 'MB', better: 'lower' },
  ],
  gleaner: {
    name: GLEANER,
    async run({ server, quick, log, serviceEnv }) {
      await ensureTestModel(standInModelDir);
      const site = generateSite({ sections: quick ? SECTIONS / 2 : SECTIONS, perSection: PER_SECTION });
      const web = await serveSite(site);
      const db = await server.database('pipeline', { migrated: true });
      const sql = connect(db.url, 2, 'gleaner-bench-pipeline');
      const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gleaner-bench-pipeline-'));
      const port = await freePort();
      const env = {
        DATABASE_URL: db.url,
        PORT: String(port),
        ALLOW_PRIVATE_NETWORKS: 'true',
        EMBEDDING_MODEL_DIR: standInModelDir,
        // Politeness is per host and every page here is on one local host: measure the pipeline, not the pause.
        CRAWL_HOST_DELAY: '0',
        RATE_LIMIT_PER_MINUTE: '0',
        CREATE_INITIAL_KEY: 'false',
        LOG_LEVEL: 'info',
        ...serviceEnv,
      };
      const config = loadConfig(env);
      const out = fs.openSync(path.join(logDir, 'start.log'), 'w');
      // Compiled, as npm start runs it, and node directly (not through npm) so the pid sampled is the service's own process.
      const build = await buildServiceCopy();
      const child = spawn(process.execPath, [path.join(build, 'cli', 'start.js')], { cwd: projectRoot, env: childEnv(env), stdio: ['ignore', out, out] });
      fs.closeSync(out);
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      const baseUrl = `http://127.0.0.1:${port}`;
      try {
        const { key } = await createApiKey(sql, 'bench');
        const deadline = Date.now() + 120_000;
        while (!(await fetch(`${baseUrl}/readyz`).then((r) => r.ok, () => false))) {
          if (child.exitCode !== null || Date.now() > deadline) throw new Error(`npm start did not become ready; see ${logDir}/start.log`);
          await sleep(100);
        }
        // Idle: start-up done (model loaded, index open), nothing submitted yet.
        await sleep(2000);
        const idleRss = rssMb(child.pid as number);
        const rss = sampleRss(child.pid as number, 100);
        const headers = { 'x-api-key': key, 'content-type': 'application/json' };
        const submitted = Date.now();
        const jobIds: string[] = [];
        for (const s of site.sections) {
          const res = await fetch(`${baseUrl}/v1/extract/async`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ url: `${web.baseUrl}${s.path}`, maxPages: PER_SECTION, includePatterns: [`${s.path}article-*`] }),
          });
          if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
          jobIds.push(((await res.json()) as { jobId: string }).jobId);
        }
        // The API probe: one GET every 50 ms while the jobs run.
        const latencies: number[] = [];
        let done = false;
        let probeErrors = 0;
        const probe = (async () => {
          for (let i = 0; !done; i++) {
            const t0 = performance.now();
            // A failed request (the service died) is counted, not thrown: the job wait below reports it.
            const ok = await fetch(`${baseUrl}/v1/jobs/${jobIds[i % jobIds.length]}`, { headers }).then(
              (r) => r.arrayBuffer().then(() => r.ok),
              () => false,
            );
            if (ok) latencies.push(performance.now() - t0);
            else probeErrors++;
            await sleep(Math.max(0, 50 - (performance.now() - t0)));
          }
        })();
        const finishDeadline = Date.now() + 30 * 60_000;
        for (;;) {
          const [row] = await sql`select count(*) filter (where status in ('completed', 'failed'))::int as finished, count(*) filter (where status = 'failed')::int as failed from jobs where id = any(${jobIds})`;
          if (row?.finished === jobIds.length) {
            if (row.failed) throw new Error(`${row.failed} pipeline job(s) failed; see ${logDir}/start.log`);
            break;
          }
          if (child.exitCode !== null) throw new Error(`npm start exited (code ${child.exitCode}) during the crawl; see ${logDir}/start.log`);
          if (Date.now() > finishDeadline) throw new Error('the crawl did not finish within 30 minutes');
          await sleep(200);
        }
        done = true;
        await probe;
        const peakRss = rss.stop();
        const [timing] = await sql`select extract(epoch from max(completed_at))::float8 * 1000 as last_ms from jobs where id = any(${jobIds})`;
        const elapsedMs = (timing?.last_ms as number) - submitted;
        const chunks = await sql`select title, heading_path, content from chunks order by job_id, url, position`;
        const [pages] = await sql`select count(distinct url)::int as n from chunks`;
        const passages = chunks.map((c) => embeddingText(c.title as string, { headingPath: c.heading_path as string[], content: c.content as string }));
        const pipelineRate = (passages.length * 1000) / elapsedMs;
        // Pages a job could not use, by reason: on a healthy run there are none.
        const failed = await sql`select f->>'reason' as reason, count(*)::int as n from jobs, jsonb_array_elements(result->'failedPages') f where id = any(${jobIds}) group by 1`;
        log(`    ${pages?.n} pages, ${passages.length} passages in ${round(elapsedMs / 1000)} s; measuring raw onnxruntime on the same passages…`);
        child.kill('SIGTERM');
        await exited;
        const raw = await measureRawOnnx({
          modelDir: standInModelDir,
          passages,
          batchSize: config.embedding.batchSize,
          maxTokens: config.embedding.maxTokens,
          threads: config.embedding.threads,
          dtype: config.embedding.dtype,
          runs: 1,
        });
        const api = latencySummary(latencies);
        return {
          values: {
            pipeline: (pipelineRate / raw.passagesPerSecond) * 100,
            pipeline_passages: pipelineRate,
            raw_embedding: raw.passagesPerSecond,
            pipeline_pages: ((pages?.n as number) * 1000) / elapsedMs,
            pipeline_api_p99: api.p99,
            memory: peakRss / 2 ** 20,
            memory_idle: idleRss,
          },
          notes: [
            `${pages?.n} pages, ${passages.length} passages in ${round(elapsedMs / 1000)} s; API p50 ${round(api.p50)} ms, max ${round(api.max)} ms over ${latencies.length} requests (${probeErrors} failed)`,
            ...(failed.length ? [`pages not used: ${failed.map((f) => `${f.reason} ×${f.n}`).join(', ')}`] : []),
          ],
        };
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await exited;
        await sql.end({ timeout: 1 });
        await web.close();
        await db.drop();
        fs.rmSync(path.dirname(build), { recursive: true, force: true });
      }
    },
  },
  peers: [],
};

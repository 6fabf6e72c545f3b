// `npm test`: one embedded PostgreSQL for the whole run, then node's test runner
// over every spec file (each file makes its own database on that server).
// GLEANER_TEST_SERVER_URL (a superuser's URL) runs them on that server instead;
// `--db-facing` picks the files whose subject is the database (.ci/run runs
// them again on Debian's packaged PostgreSQL).
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { startEmbeddedPostgres } from '../core/platform/embeddedPostgres.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { ensureTestModel } from '../testing/testModel.js';
import { DEFAULT_TEST_MODEL_DIR } from './helpers/config.js';
import { testRunnerArgs } from './helpers/testRunner.js';

const root = path.resolve(import.meta.dirname, '..');
// The embedding tests and the pipeline need a model and the hub is out of reach:
// a random-weight stand-in, rebuilt only when its marker says it is stale.
const modelDir = path.resolve(process.env.GLEANER_TEST_MODEL_DIR || DEFAULT_TEST_MODEL_DIR);
const modelStarted = performance.now();
if (await ensureTestModel(modelDir)) {
  console.log(`Wrote the stand-in embedding model to ${modelDir} in ${((performance.now() - modelStarted) / 1000).toFixed(1)} s.`);
}

/** The files whose subject is the database: SQL, migrations, the queue, the job path end to end. */
const DB_FACING = [
  'spec/jobs.test.ts',
  'spec/claim.test.ts',
  'spec/maintenance.test.ts',
  'spec/reports.test.ts',
  'spec/search/postgres.test.ts',
  'spec/api.test.ts',
  'spec/webhooks.test.ts',
  'spec/worker.test.ts',
  'spec/hardening/upgrade.test.ts',
];

const external = process.env.GLEANER_TEST_SERVER_URL;
const dataDir = external ? null : await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-test-'));
const server = external
  ? { url: external, stop: async () => {} }
  : await startEmbeddedPostgres(dataDir!, createSilentLogger(), 'postgres').catch(async (err) => {
      await fs.rm(dataDir!, { recursive: true, force: true });
      throw err;
    });
if (external) {
  const admin = postgres(external, { max: 1, onnotice: () => {} });
  const [row] = await admin`select version()`;
  await admin.end();
  console.log(`Tests on ${row!.version}`);
}

const args = process.argv.slice(2);
const requested = args.includes('--db-facing') ? [...DB_FACING, ...args.filter((a) => a !== '--db-facing')] : args;
const files = requested.length
  ? requested
  : (await fs.readdir(path.join(root, 'spec'), { recursive: true }))
      .filter((f) => f.endsWith('.test.ts'))
      .sort()
      .map((f) => path.join('spec', f));

// Files run in parallel against one server; more than a few at once only adds contention.
const child = spawn(process.execPath, testRunnerArgs(files, Math.min(4, os.availableParallelism())), {
  cwd: root,
  stdio: 'inherit',
  env: {
    ...process.env,
    // A superuser's URL (test files create their databases with it) and, on the embedded server, the service role's (they connect with it).
    GLEANER_TEST_DATABASE_URL: 'adminUrl' in server ? server.adminUrl : server.url,
    GLEANER_TEST_SERVICE_URL: server.url,
    GLEANER_TEST_MODEL_DIR: modelDir,
  },
});
const stopAll = () => child.kill('SIGTERM');
process.on('SIGINT', stopAll);
process.on('SIGTERM', stopAll);
const code: number = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await server.stop().catch(() => {});
if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
process.exit(code);

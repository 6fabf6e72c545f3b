// The entry points as real processes: graceful shutdown of a worker mid-job,
// restarts on a persistent embedded database (with the keys CLI attaching to
// the running server), and start-up refusing a bad configuration.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import type http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import { getJob, listJobEvents } from '../core/jobs/index.js';
import { onCleanup } from './helpers/cleanup.js';
import { createTestDatabase } from './helpers/database.js';
import { articlePage, fixtureSite, startHttpServer, type TestServer } from './helpers/http.js';
import {
  STACK_TRACE,
  buildServiceCopy,
  pidAlive,
  postmasterPidFromFile,
  postmastersFor,
  runScript,
  spawnScript,
  stopLeftoverPostgres,
  type ServiceProcess,
} from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';
import { waitUntil } from '../testing/waitUntil.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// The worker and npm start run compiled, as npm run worker and npm start run them (cli/build.ts): every thread
// (embedding, extraction) loads its .js module without tsx.
let build: string;
before(async () => {
  build = await buildServiceCopy();
  onCleanup(() => fs.rm(path.dirname(build), { recursive: true, force: true }));
});

/** A page that answers after `delayMs()` and records whether each request was answered or abandoned. */
function delayedPage(title: string, delayMs: () => number) {
  const requests: { answered: boolean; abandoned: boolean }[] = [];
  const handler: http.RequestListener = (req, res) => {
    const r = { answered: false, abandoned: false };
    requests.push(r);
    res.on('close', () => (r.abandoned = !r.answered));
    setTimeout(() => {
      if (res.destroyed) return;
      r.answered = true;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(articlePage(title, `The ${title} page answers in its own time, with enough text to extract.`));
    }, delayMs()).unref();
  };
  return { handler, requests };
}

describe('worker process: graceful shutdown', () => {
  let stack: Stack;
  let site: TestServer;
  let slow = true;
  const stalled = delayedPage('Stalled', () => (slow ? 5000 : 0));
  const quick = delayedPage('Quick', () => 1000);

  before(async () => {
    site = await startHttpServer(fixtureSite({ '/stalled': stalled.handler, '/quick': quick.handler }));
    stack = await startStack();
  });

  const workerEnv = (overrides: Record<string, string>) => ({
    DATABASE_URL: stack.url,
    ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'info',
    WORKER_POLL_INTERVAL: '200ms',
    ...overrides,
  });

  async function startWorkerProcess(overrides: Record<string, string>): Promise<ServiceProcess> {
    const worker = spawnScript(path.join(build, 'worker', 'main.js'), [], workerEnv(overrides));
    await worker.waitForLog((l) => l.message === 'worker started', 120_000, "'worker started'");
    return worker;
  }

  async function submit(url: string): Promise<string> {
    const res = await stack.request('POST', '/v1/extract/async', { body: { url } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    return res.body.jobId as string;
  }

  test('SIGTERM mid-job releases the job to pending and exits 0; a second worker completes it exactly once', async (t) => {
    const first = await startWorkerProcess({ SHUTDOWN_GRACE: '500ms' });
    const jobId = await submit(`${site.url}/stalled`);
    await first.waitForLog((l) => l.message === 'job started' && l.jobId === jobId, 60_000, "'job started'");
    await waitUntil('the page request', () => stalled.requests.length === 1);
    assert.equal((await getJob(stack.sql, { jobId }))!.status, 'processing');

    const exit = await first.stop('SIGTERM');
    assert.equal(exit.signal, null);
    assert.equal(exit.code, 0, first.stderr());
    // Grace 500 ms, then abort and release: the page (answering after 5 s) was abandoned, not awaited (checked below).
    t.diagnostic(`SIGTERM → exit with a job released after a 500 ms grace: ${exit.ms} ms`);
    assert.equal(stalled.requests[0]!.answered, false);
    assert.ok(first.logs.some((l) => l.message === 'job released for another worker' && l.jobId === jobId));
    assert.doesNotMatch(first.stderr(), STACK_TRACE);

    const released = (await getJob(stack.sql, { jobId }))!;
    assert.equal(released.status, 'pending');
    assert.equal(released.workerId, null);
    assert.equal(released.attempts, 1);
    assert.equal(released.maxAttempts, stack.config.worker.maxAttempts + 1, 'the interrupted attempt is given back');
    const afterRelease = await listJobEvents(stack.sql, jobId);
    const last = afterRelease.at(-1)!;
    assert.deepEqual([last.fromStatus, last.toStatus], ['processing', 'pending']);
    assert.deepEqual(last.detail, { reason: 'worker shutdown' });

    slow = false;
    const second = await startWorkerProcess({ SHUTDOWN_GRACE: '5s' });
    const done = await stack.waitForStatus(jobId, ['completed', 'failed'], 60_000);
    assert.equal(done.status, 'completed');
    assert.equal((done.result as { knowledgeItems: { title: string }[] }).knowledgeItems[0]?.title, 'Stalled');
    const events = await listJobEvents(stack.sql, jobId);
    assert.deepEqual(
      events.map((e) => [e.fromStatus, e.toStatus]),
      [
        [null, 'pending'],
        ['pending', 'processing'],
        ['processing', 'pending'],
        ['pending', 'processing'],
        ['processing', 'completed'],
      ],
    );
    assert.equal(events.filter((e) => e.toStatus === 'completed').length, 1);
    assert.notEqual(events[1]!.workerId, events[3]!.workerId, 'the second attempt ran on the second worker');
    assert.equal(events[3]!.workerId, events[4]!.workerId);

    const secondExit = await second.stop('SIGTERM');
    assert.equal(secondExit.code, 0, second.stderr());
  });

  test('SIGTERM while a job can finish within the grace period lets it complete (no release)', async (t) => {
    // A grace of an hour: a worker that waited out the grace instead of leaving when its job is done would be SIGKILLed by stop() below.
    const worker = await startWorkerProcess({ SHUTDOWN_GRACE: '1h' });
    const jobId = await submit(`${site.url}/quick`);
    await worker.waitForLog((l) => l.message === 'job started' && l.jobId === jobId, 60_000, "'job started'");
    await waitUntil('the page request', () => quick.requests.length === 1);

    const exit = await worker.stop('SIGTERM', 60_000);
    assert.equal(exit.signal, null, 'it left on its own');
    assert.equal(exit.code, 0, worker.stderr());
    t.diagnostic(`SIGTERM → exit with a 1 s job finishing inside the grace: ${exit.ms} ms`);
    assert.equal(quick.requests[0]!.answered, true);

    const job = (await getJob(stack.sql, { jobId }))!;
    assert.equal(job.status, 'completed');
    assert.equal(job.attempts, 1);
    const events = await listJobEvents(stack.sql, jobId);
    assert.deepEqual(
      events.map((e) => e.toStatus),
      ['pending', 'processing', 'completed'],
    );
    const messages = worker.logs.map((l) => l.message);
    assert.ok(!messages.includes('job released for another worker'));
    assert.ok(messages.indexOf('shutting down') < messages.indexOf('job completed'), 'the job completed after the signal');
    assert.ok(messages.indexOf('job completed') < messages.indexOf('worker stopped'));
  });
});

describe('npm start on a persistent embedded database', () => {
  // One data directory through a cold start, a CLI attaching to the running
  // server, a clean stop and a warm restart: the steps depend on each other.
  let dataDir: string;
  let pgData: string;
  let site: TestServer;
  let firstKey: string;
  let cliKey: string;
  let jobId: string;
  let service: ServiceProcess;
  let baseUrl: string;
  const timings: Record<string, number> = {};

  const env = () => ({ DATA_DIR: dataDir, PORT: '0', ALLOW_PRIVATE_NETWORKS: 'true', LOG_LEVEL: 'info', WORKER_POLL_INTERVAL: '200ms', SHUTDOWN_GRACE: '5s' });

  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-process-'));
    pgData = path.join(dataDir, 'postgres');
    onCleanup(async () => {
      await stopLeftoverPostgres(pgData);
      await fs.rm(dataDir, { recursive: true, force: true });
    });
    site = await startHttpServer(
      fixtureSite({
        '/persist': articlePage('Persistence', 'Jobs and their results survive a restart of the whole service.'),
        '/again': articlePage('Again', 'A job submitted after the keys command has exited.'),
      }),
    );
  });

  async function api(method: string, p: string, key: string | null, body?: unknown): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (key) headers['x-api-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(baseUrl + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    try {
      return { status: res.status, body: JSON.parse(text) };
    } catch {
      return { status: res.status, body: text };
    }
  }

  async function waitForJob(id: string, key: string, timeoutMs = 60_000): Promise<any> {
    let view: { status: number; body: any } | undefined;
    await waitUntil(
      `job ${id} to finish`,
      async () => {
        view = await api('GET', `/v1/jobs/${id}`, key);
        return view.status === 200 && ['completed', 'failed', 'cancelled'].includes(view.body.status);
      },
      timeoutMs,
    );
    return view!.body;
  }

  async function start(label: 'cold' | 'warm'): Promise<void> {
    service = spawnScript(path.join(build, 'cli', 'start.js'), [], env());
    const ready = await service.waitForLog((l) => l.message === 'ready', 120_000, "'ready'");
    const listening = service.logs.find((l) => l.message === 'API listening');
    assert.ok(listening, 'API listening is logged before ready');
    baseUrl = listening.url as string;
    assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ready.embeddedDatabase, true);
    timings[label] = ready.receivedAt - service.spawnedAt;
    timings[`${label}InProcess`] = ready.startupMs as number;
  }

  const keysOnStderr = (p: ServiceProcess) => p.stderr().split('\n').filter((l) => l.startsWith('knowledgesdk_live_'));

  test('a cold first start initialises the data directory and prints one API key', async (t) => {
    await start('cold');
    const messages = service.logs.map((l) => l.message);
    assert.ok(messages.includes('initialising embedded PostgreSQL data directory'));
    assert.ok(messages.includes('embedded PostgreSQL started'));
    const keys = keysOnStderr(service);
    assert.equal(keys.length, 1, service.stderr());
    firstKey = keys[0]!;
    assert.match(firstKey, /^knowledgesdk_live_[0-9A-Za-z]{40}$/);
    assert.ok(!service.stdout().includes(firstKey), 'the key never reaches the log');

    const created = await api('POST', '/v1/extract/async', firstKey, { url: `${site.url}/persist` });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    jobId = created.body.jobId;
    const job = await waitForJob(jobId, firstKey);
    assert.equal(job.status, 'completed');
    assert.equal(job.result.knowledgeItems[0].title, 'Persistence');
    t.diagnostic(`cold start (spawn → ready, incl. initdb): ${timings.cold} ms (in-process ${timings.coldInProcess} ms)`);
  });

  test('keys create attaches to the running server, and the service accepts the new key at once', async () => {
    const pidBefore = await postmasterPidFromFile(pgData);
    assert.ok(pidBefore && pidAlive(pidBefore));
    assert.deepEqual(await postmastersFor(pgData), [pidBefore]);

    const cli = await runScript('cli/keys.ts', ['create', '--name', 'attached'], { DATA_DIR: dataDir });
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trimEnd().split('\n');
    cliKey = lines.at(-1)!;
    assert.match(cliKey, /^knowledgesdk_live_[0-9A-Za-z]{40}$/);

    // One server for the directory, the same one, still running after the CLI has gone.
    assert.equal(await postmasterPidFromFile(pgData), pidBefore);
    assert.deepEqual(await postmastersFor(pgData), [pidBefore]);
    assert.ok(pidAlive(pidBefore));

    const list = await api('GET', '/v1/jobs', cliKey);
    assert.equal(list.status, 200, JSON.stringify(list.body));
    assert.equal(list.body.jobs.length, 0, "the new key sees none of the first key's jobs");
    assert.equal((await api('GET', '/readyz', null)).status, 200);
    const again = await api('POST', '/v1/extract/async', cliKey, { url: `${site.url}/again` });
    assert.equal(again.status, 202);
    assert.equal((await waitForJob(again.body.jobId, cliKey)).status, 'completed');
    assert.ok(service.alive);
  });

  test('SIGTERM exits 0 and stops the embedded server it started', async () => {
    const pid = await postmasterPidFromFile(pgData);
    assert.ok(pid);
    const exit = await service.stop('SIGTERM', 30_000);
    assert.equal(exit.signal, null);
    assert.equal(exit.code, 0, service.stderr());
    assert.doesNotMatch(service.stderr(), STACK_TRACE);
    assert.equal(await postmasterPidFromFile(pgData), undefined, 'postmaster.pid is removed');
    // pg_ctl stop -w returns once postmaster.pid is gone; the process itself ends a moment later.
    await waitUntil(`postmaster ${pid} to exit`, () => !pidAlive(pid), 5000);
    assert.deepEqual(await postmastersFor(pgData), []);
  });

  test('a warm restart keeps keys and jobs, and prints no new key', async (t) => {
    await start('warm');
    const messages = service.logs.map((l) => l.message);
    assert.ok(!messages.includes('initialising embedded PostgreSQL data directory'));
    assert.ok(messages.includes('embedded PostgreSQL started'));
    assert.deepEqual(keysOnStderr(service), [], service.stderr());

    const job = await api('GET', `/v1/jobs/${jobId}`, firstKey);
    assert.equal(job.status, 200, JSON.stringify(job.body));
    assert.equal(job.body.status, 'completed');
    assert.equal(job.body.result.knowledgeItems[0].title, 'Persistence');
    assert.match(job.body.result.knowledgeItems[0].content, /survive a restart/);
    assert.equal((await api('GET', '/v1/jobs', cliKey)).status, 200);

    const exit = await service.stop('SIGTERM', 30_000);
    assert.equal(exit.code, 0, service.stderr());
    assert.deepEqual(await postmastersFor(pgData), []);
    const line = `embedded start-up, spawn → 'ready': cold ${timings.cold} ms (in-process ${timings.coldInProcess} ms), warm ${timings.warm} ms (in-process ${timings.warmInProcess} ms)`;
    t.diagnostic(line);
    console.log(line);
  });

  test(
    'a busy PORT stops start-up with exit 1 and leaves no embedded server running',
    async () => {
      const blocker = await startHttpServer((_req, res) => res.end());
      const run = await runScript(path.join(build, 'cli', 'start.js'), [], { ...env(), PORT: String(blocker.port) }, 60_000);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /^gleaner failed to start: .*EADDRINUSE/m);
      assert.doesNotMatch(run.stderr, STACK_TRACE);
      assert.ok(!run.stdout.includes('"ready"'));
      await sleep(500);
      assert.deepEqual(await postmastersFor(pgData), [], 'the server this process started is stopped');
      assert.equal(await postmasterPidFromFile(pgData), undefined);
    },
  );
});

describe('bad configuration', () => {
  // An unreachable DATABASE_URL: if the config were accepted, start-up would still end quickly.
  const unreachable = 'postgres://nobody:secret-pw@127.0.0.1:1/none';

  const cases: { script: string; env: Record<string, string>; name: RegExp }[] = [
    { script: 'cli/start.ts', env: { PORT: 'abc' }, name: /PORT: must be a number/ },
    { script: 'worker/main.ts', env: { WORKER_CONCURRENCY: '0' }, name: /WORKER_CONCURRENCY: must be at least 1/ },
    { script: 'server/main.ts', env: { SHUTDOWN_GRACE: 'soon' }, name: /SHUTDOWN_GRACE: must be a duration/ },
    { script: 'cli/keys.ts', env: { ALLOW_PRIVATE_NETWORKS: 'maybe' }, name: /ALLOW_PRIVATE_NETWORKS: must be true or false/ },
  ];
  for (const c of cases) {
    test(`${c.script} with ${Object.entries(c.env).map(([k, v]) => `${k}=${v}`).join(' ')} exits 1 naming the variable`, async () => {
      const args = c.script === 'cli/keys.ts' ? ['list'] : [];
      const run = await runScript(c.script, args, { DATABASE_URL: unreachable, LOG_LEVEL: 'info', ...c.env }, 30_000);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /Invalid configuration/);
      assert.match(run.stderr, c.name);
      assert.doesNotMatch(run.stderr, STACK_TRACE);
      assert.ok(!run.stdout.includes('"ready"') && !run.stdout.includes('worker started'));
    });
  }

  test('a busy PORT stops start-up with exit 1 instead of running without an API', async () => {
    const db = await createTestDatabase();
    const blocker = await startHttpServer((_req, res) => res.end());
    const run = await runScript('cli/start.ts', [], { DATABASE_URL: db.url, PORT: String(blocker.port), LOG_LEVEL: 'info' }, 30_000);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^gleaner failed to start: .*EADDRINUSE/m);
    assert.doesNotMatch(run.stderr, STACK_TRACE);
    assert.ok(!run.stdout.includes('"ready"'));
  });

  test('a malformed DATABASE_URL is named but never echoed', async () => {
    const run = await runScript('cli/start.ts', [], { DATABASE_URL: 'mysql://root:hunter2@db/x' }, 30_000);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /DATABASE_URL: must be a postgres/);
    assert.ok(!run.stderr.includes('hunter2'));
    assert.doesNotMatch(run.stderr, STACK_TRACE);
  });

  test('an unreachable database stops start-up with one message, no stack trace', async () => {
    const run = await runScript('worker/main.ts', [], { DATABASE_URL: unreachable }, 30_000);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^gleaner failed to start: /m);
    assert.ok(!run.stderr.includes('secret-pw'));
    assert.doesNotMatch(run.stderr, STACK_TRACE);
  });
});

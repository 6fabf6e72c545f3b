// The operator dashboard: HTTP-level checks of auth, CSRF and caching, then
// browser tests with Debian's Chromium driven by playwright-core (skipped,
// with a message, when /usr/bin/chromium is not installed).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import winston from 'winston';
import { authenticateKey } from '../core/apiKeys.js';
import { getJob, listJobEvents } from '../core/jobs/index.js';
import { WEBHOOK_QUEUE } from '../core/queue/index.js';
import { runReport } from '../core/reports.js';
import { createApp } from '../server/app.js';
import { dashboardRouter } from '../server/dashboard/index.js';
import { SnapshotCache } from '../server/dashboard/overview.js';
import { onCleanup } from './helpers/cleanup.js';
import { testConfig } from './helpers/config.js';
import { seedDemoData, type DemoData } from './helpers/dashboardData.js';
import { projectRoot, runScript } from './helpers/processes.js';
import { startStack, type Stack } from './helpers/stack.js';

// Browser-side code in page.evaluate() (the project's lib has no DOM types).
declare const document: any;

const ADMIN_TOKEN = 'dashboard-test-admin-token-0123456789';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(projectRoot, '.test-artifacts');

let stack: Stack;
let demo: DemoData;

before(async () => {
  stack = await startStack({ config: { ADMIN_TOKEN } });
  demo = await seedDemoData(stack.sql, { jobsPerDay: 240, staleAfterSeconds: stack.config.worker.staleAfterMs / 1000, prefix: 'dash' });
});

const bearer = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function get(pathname: string, headers: Record<string, string> = {}) {
  const res = await fetch(stack.baseUrl + pathname, { headers, redirect: 'manual' });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function post(pathname: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(stack.baseUrl + pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
    redirect: 'manual',
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function signIn(): Promise<{ cookie: string; csrf: string }> {
  const res = await post('/dashboard/login', { token: ADMIN_TOKEN, next: '/dashboard' });
  assert.equal(res.status, 303);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await get('/dashboard/keys', { cookie });
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.text)![1]!;
  return { cookie, csrf };
}

const seededSecrets = () => [demo.failedJobId, ...demo.keys.map((k) => k.apiKey.name), ...demo.keys.map((k) => k.apiKey.id)];

describe('HTTP: access', () => {
  test('ADMIN_TOKEN unset: /dashboard/* is a 404 and start-up says how to enable it', async () => {
    const lines: string[] = [];
    const logger = winston.createLogger({
      level: 'info',
      format: winston.format.json(),
      transports: [new winston.transports.Stream({ stream: new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) }) })],
    });
    const app = createApp({ config: testConfig(), sql: stack.sql, boss: stack.boss, knowledge: stack.knowledge, client: stack.client, logger });
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    onCleanup(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    for (const p of ['/dashboard', '/dashboard/', '/dashboard/login', '/dashboard/jobs', '/dashboard/static/dashboard.js', '/dashboard/overview/fragment']) {
      const res = await fetch(base + p, { headers: bearer });
      assert.equal(res.status, 404, p);
      await res.text();
    }
    const login = await fetch(`${base}/dashboard/login`, { method: 'POST', body: `token=${ADMIN_TOKEN}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assert.equal(login.status, 404);
    await login.text();
    const disabled = lines.map((l) => JSON.parse(l)).filter((l) => l.message === 'dashboard disabled: set ADMIN_TOKEN to enable it');
    assert.equal(disabled.length, 1);
    assert.equal(disabled[0].level, 'info');
  });

  test('no credentials, a wrong bearer token or a forged cookie: 401 and no data', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer not-the-admin-token-at-all' },
      { authorization: `Bearer ${ADMIN_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` },
      { cookie: `gleaner_admin=${ADMIN_TOKEN}` },
      { cookie: 'gleaner_admin=v1.1700000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
      { authorization: `Bearer ${stack.key}` },
    ];
    for (const headers of attempts) {
      for (const p of ['/dashboard', '/dashboard/jobs', `/dashboard/jobs/${demo.failedJobId}`, '/dashboard/keys', '/dashboard/overview/fragment', '/dashboard/overview.json']) {
        const res = await get(p, headers);
        assert.equal(res.status, 401, `${p} with ${JSON.stringify(headers)}`);
        // (the requested path itself comes back in the form's "next" field)
        for (const secret of seededSecrets().filter((x) => !p.includes(x))) assert.ok(!res.text.includes(secret), `${p} leaked ${secret}`);
        assert.ok(!res.text.includes('data-status='), `${p} shows status data`);
      }
    }
  });

  test('the admin token as a bearer token opens every page', async () => {
    for (const p of ['/dashboard', '/dashboard/jobs', `/dashboard/jobs/${demo.failedJobId}`, '/dashboard/keys', '/dashboard/overview/fragment']) {
      const res = await get(p, bearer);
      assert.equal(res.status, 200, p);
      assert.match(res.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(res.headers.get('cache-control'), 'no-store');
    }
  });

  test('sign-in sets an HttpOnly, SameSite=Strict session cookie that is not the token; Secure behind HTTPS', async () => {
    const wrong = await post('/dashboard/login', { token: 'nope-nope-nope-nope' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(wrong.text, /not the admin token/);

    const res = await post('/dashboard/login', { token: ADMIN_TOKEN, next: '/dashboard/keys' });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/dashboard/keys');
    const setCookie = res.headers.get('set-cookie')!;
    assert.match(setCookie, /^gleaner_admin=v2\.\d+\.\d+\.[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\/dashboard/);
    assert.doesNotMatch(setCookie, /Secure/);
    assert.ok(!setCookie.includes(ADMIN_TOKEN));
    const cookie = setCookie.split(';')[0]!;
    assert.equal((await get('/dashboard', { cookie })).status, 200);

    const https = await post('/dashboard/login', { token: ADMIN_TOKEN }, { 'x-forwarded-proto': 'https' });
    assert.match(https.headers.get('set-cookie')!, /; Secure/);
  });

  test('sign-in never redirects off the dashboard', async () => {
    for (const next of ['https://evil.example/', '//evil.example/x', '/dashboard//evil.example', '/v1/jobs', 'javascript:alert(1)']) {
      const res = await post('/dashboard/login', { token: ADMIN_TOKEN, next });
      assert.equal(res.headers.get('location'), '/dashboard', next);
    }
  });

  test('a sign-in posted from another site is refused', async () => {
    const res = await post('/dashboard/login', { token: ADMIN_TOKEN }, { origin: 'https://evil.example' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('set-cookie'), null);
  });
});

describe('HTTP: CSRF and actions', () => {
  test('with the cookie, actions need the CSRF token and the same origin', async () => {
    const { cookie, csrf } = await signIn();
    const submitted = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/to-cancel' } });
    assert.equal(submitted.status, 202);
    const pending = { id: submitted.body.jobId as string };
    const url = `/dashboard/jobs/${pending.id}/cancel`;
    const refused = [
      await post(url, {}, { cookie }),
      await post(url, { _csrf: 'wrong' }, { cookie }),
      await post(url, { _csrf: csrf }, { cookie, origin: 'https://evil.example' }),
      await post(url, { _csrf: csrf }, { cookie, referer: 'https://evil.example/page' }),
      await post(url, { _csrf: csrf }, { cookie, origin: 'null' }),
    ];
    for (const r of refused) assert.equal(r.status, 403);
    assert.equal((await getJob(stack.sql, { jobId: pending.id }))!.status, 'pending');

    const ok = await post(url, { _csrf: csrf }, { cookie, origin: stack.baseUrl });
    assert.equal(ok.status, 303);
    assert.equal(ok.headers.get('location'), `/dashboard/jobs/${pending.id}?done=cancelled`);
    const job = (await getJob(stack.sql, { jobId: pending.id }))!;
    assert.equal(job.status, 'cancelled');
    assert.equal(job.error?.message, 'cancelled by the client');
  });

  test('with the bearer token, actions need no CSRF token (browsers never send it by themselves)', async () => {
    const [completed] = await stack.sql`select id from jobs where status = 'completed' and callback_url is not null and api_key_id = any(${stack.sql.array(demo.keys.map((k) => k.apiKey.id))}::text[]) limit 1`;
    const res = await post(`/dashboard/jobs/${completed!.id}/redeliver`, {}, bearer);
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location')!, /done=redelivered/);
    const [queued] = await stack.sql`select count(*)::int as n from pgboss.job where name = ${WEBHOOK_QUEUE} and data->>'jobId' = ${completed!.id}`;
    assert.equal(queued!.n, 1);
    const again = await post(`/dashboard/jobs/${completed!.id}/retry`, {}, bearer);
    assert.match(again.headers.get('location')!, /error=not_retryable/);
  });

  test('key names and urls are escaped', async () => {
    const name = '<script>alert(1)</script>"\'';
    const res = await post('/dashboard/keys', { name }, bearer);
    assert.equal(res.status, 201);
    assert.ok(!res.text.includes('<script>alert(1)</script>'));
    assert.ok(res.text.includes('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;'));
    const created = /id="new-key-value">([^<]+)</.exec(res.text)![1]!;
    await stack.sql`update api_keys set revoked_at = now() where key_prefix = ${created.slice(0, 24)}`;
  });
});

describe('HTTP: overview figures and caching', () => {
  test('the overview JSON is runReport’s output for the same moment', async () => {
    const res = await get('/dashboard/overview.json', bearer);
    const body = JSON.parse(res.text);
    const now = new Date(body.generatedAt);
    const expected = await runReport(stack.sql, 'jobs-by-status', { since: '24h' }, { now });
    assert.deepEqual(
      body.reports['jobs-by-status'].rows.map((r: any) => [r.status, r.jobs]),
      expected.rows.map((r) => [r.status, r.jobs]),
    );
    const throughput = await runReport(stack.sql, 'throughput', { since: '24h' }, { now });
    assert.deepEqual(body.reports.throughput.rows.map((r: any) => r.created), throughput.rows.map((r) => r.created));
  });

  test('any number of viewers share one set of queries per interval', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => fetch(`${stack.baseUrl}/dashboard/overview/fragment`, { headers: bearer })));
    const stamps = new Set(results.map((r) => r.headers.get('x-snapshot-generated-at')));
    await Promise.all(results.map((r) => r.text()));
    assert.equal(stamps.size, 1);

    let loads = 0;
    let clock = 0;
    const cache = new SnapshotCache(async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 20));
      return loads;
    }, 10_000, () => clock);
    assert.deepEqual(await Promise.all(Array.from({ length: 50 }, () => cache.get())), Array(50).fill(1));
    clock = 9_999;
    assert.equal(await cache.get(), 1);
    clock = 10_000;
    assert.equal(await cache.get(), 2);
    assert.equal(loads, 2);

    let fail = true;
    const flaky = new SnapshotCache(async () => {
      if (fail) throw new Error('database down');
      return 'ok';
    }, 10_000, () => 0);
    await assert.rejects(flaky.get(), /database down/);
    fail = false;
    assert.equal(await flaky.get(), 'ok'); // a failure is not cached
  });
});

describe('HTTP: jobs list', () => {
  test('cursor pagination walks every job of every key once, newest first', async () => {
    const seen: string[] = [];
    let next: string | null = '/dashboard/jobs';
    let pages = 0;
    while (next) {
      const res = await get(next, bearer);
      assert.equal(res.status, 200);
      seen.push(...[...res.text.matchAll(/<tr data-job-id="([^"]+)"/g)].map((m) => m[1]!));
      const link: RegExpExecArray | null = /<a href="([^"]+)" rel="next">/.exec(res.text);
      next = link ? link[1]!.replaceAll('&amp;', '&') : null;
      assert.ok(++pages < 100);
    }
    const all = await stack.sql`select id from jobs order by created_at desc, id desc`;
    assert.ok(pages > 2, `only ${pages} pages`);
    assert.deepEqual(seen, all.map((r) => r.id));
  });

  test('filters by status, key, domain and time', async () => {
    const key = demo.keys[0]!.apiKey.id;
    const res = await get(`/dashboard/jobs?status=failed&key=${key}&domain=EN.wikipedia.org&since=24h`, bearer);
    assert.equal(res.status, 200);
    const rows = [...res.text.matchAll(/<tr data-job-id="([^"]+)" data-status="([^"]+)"/g)];
    const [expected] = await stack.sql`
      select count(*)::int as n from jobs where status = 'failed' and api_key_id = ${key} and input->>'url' like 'https://en.wikipedia.org/%' and created_at >= now() - interval '24 hours'`;
    assert.equal(rows.length, Math.min(50, expected!.n));
    assert.ok(rows.length > 0, 'the seed has failed wikipedia jobs for the first key');
    for (const r of rows) assert.equal(r[2], 'failed');

    const none = await get('/dashboard/jobs?before=2000-01-01', bearer);
    assert.match(none.text, /No jobs match/);
    const bad = await get('/dashboard/jobs?since=yesterday', bearer);
    assert.equal(bad.status, 400);
    assert.match(bad.text, /Created since/);
    const badCursor = await get('/dashboard/jobs?cursor=bm9wZQ', bearer);
    assert.equal(badCursor.status, 400);
  });
});

// ---------------------------------------------------------------------------
// Browser

describe('browser', () => {
  let browser: Browser | undefined;
  const skipMessage = `Chromium not found at ${CHROMIUM} (apt-get install -y chromium): browser tests skipped`;

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      // .ci/run sets GLEANER_REQUIRE_BROWSER=1: in CI a missing browser fails the run instead of skipping these tests.
      if (process.env.GLEANER_REQUIRE_BROWSER === '1') throw new Error(`${skipMessage}, but GLEANER_REQUIRE_BROWSER=1 requires them`);
      return;
    }
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  });
  after(async () => {
    await browser?.close();
  });

  async function signedIn(viewport = { width: 1280, height: 900 }, baseUrl = stack.baseUrl): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser!.newContext({ viewport });
    const page = await context.newPage();
    const res = await page.goto(`${baseUrl}/dashboard`);
    assert.equal(res!.status(), 401);
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    return { context, page };
  }

  test('sign in with the admin token; the overview shows the same figures as npm run report', async (t) => {
    if (!browser) return t.skip(skipMessage);
    const { context, page } = await signedIn();
    const problems: string[] = []; // script errors and CSP violations
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    await page.reload();
    const cookies = await context.cookies();
    assert.equal(cookies.length, 1);
    assert.equal(cookies[0]!.httpOnly, true);
    assert.equal(cookies[0]!.sameSite, 'Strict');

    const generatedAt = new Date((await page.locator('#overview').getAttribute('data-generated-at'))!);
    const shown: Record<string, number> = {};
    for (const tile of await page.locator('.tile[data-status]').all()) {
      const text = (await tile.locator('.tile-value').innerText()).replace(/,/g, '');
      shown[(await tile.getAttribute('data-status'))!] = Number(text);
    }
    // The CLI, on the same database, over the same window.
    const since = new Date(generatedAt.getTime() - 24 * 3_600_000).toISOString();
    const cli = await runScript('cli/report.ts', ['jobs-by-status', '--json', '--since', since], { DATABASE_URL: stack.url, LOG_LEVEL: 'error' }, 60_000);
    assert.equal(cli.code, 0, cli.stderr);
    const fromCli = Object.fromEntries(JSON.parse(cli.stdout).rows.map((r: { status: string; jobs: number }) => [r.status, r.jobs]));
    assert.deepEqual(shown, fromCli);
    const fromRunReport = await runReport(stack.sql, 'jobs-by-status', { since: '24h' }, { now: generatedAt });
    assert.deepEqual(shown, Object.fromEntries(fromRunReport.rows.map((r) => [r.status, r.jobs])));
    assert.ok(shown.failed! > 0 && shown.completed! > 0 && shown.pending! > 0);

    // The other panels are there, with their figures.
    for (const heading of ['Jobs by status', 'Throughput per hour', 'Queue wait and run time', 'Stuck and near-stale jobs', 'Webhook delivery health', 'Top failures']) {
      await page.getByRole('heading', { level: 2, name: heading }).waitFor();
    }
    assert.equal(await page.locator('.panel-stuck tbody tr').count(), 3);
    assert.equal(await page.getByRole('img', { name: 'Throughput per hour (UTC)' }).count(), 1);
    assert.equal(await page.locator('main').count(), 1);
    assert.equal(await page.locator('nav[aria-label="Dashboard"]').count(), 1);

    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-overview.png'), fullPage: true });

    // Phone width: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone screen`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-overview-phone.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('auto-refresh swaps in new figures without moving anything', async (t) => {
    if (!browser) return t.skip(skipMessage);
    // A second app on the same database whose snapshot lasts one second.
    const app = express();
    app.use('/dashboard', dashboardRouter({ config: stack.config, sql: stack.sql, boss: stack.boss, logger: stack.logger, adminToken: ADMIN_TOKEN, refreshMs: 1000 }));
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    onCleanup(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
    const { context, page } = await signedIn({ width: 1280, height: 900 }, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);

    const boxes = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('#overview .panel, #overview .tile, #overview svg, #overview-meta'), (el: any) => {
          const r = el.getBoundingClientRect();
          return [el.className || el.id, Math.round(r.x), Math.round(r.y), Math.round(r.width), Math.round(r.height)].join(' ');
        }),
      );
    await page.locator('#throughput-data summary').click();
    const before = await boxes();
    const stamp = await page.locator('#overview').getAttribute('data-generated-at');
    const completedBefore = await page.locator('.tile[data-status=completed] .tile-value').getAttribute('data-count');
    await seedDemoData(stack.sql, { jobsPerDay: 60, prefix: 'more' });
    // A snapshot generated after the new rows were committed (one started during the seeding may not show them).
    const seededAt = Date.now();
    await page.waitForFunction(
      ([s, after]) => {
        const at = document.querySelector('#overview')?.getAttribute('data-generated-at');
        return at !== s && Date.parse(at ?? '') > after;
      },
      [stamp, seededAt] as const,
      { timeout: 15_000 },
    );
    const completedAfter = await page.locator('.tile[data-status=completed] .tile-value').getAttribute('data-count');
    assert.ok(Number(completedAfter) > Number(completedBefore), 'new figures arrived');
    assert.deepEqual(await boxes(), before);
    assert.equal(await page.locator('#throughput-data').getAttribute('open'), '', 'an open table stays open');
    await context.close();
  });

  test('open a failed job, press Retry, see it pending again', async (t) => {
    if (!browser) return t.skip(skipMessage);
    const { context, page } = await signedIn();
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.waitForURL(/status=failed/);
    const statuses = await page.locator('#jobs-table tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-status')));
    assert.ok(statuses.length > 0 && statuses.every((s) => s === 'failed'));
    await page.getByRole('link', { name: demo.failedJobId }).click();
    await page.getByRole('heading', { level: 1, name: demo.failedJobId }).waitFor();
    assert.equal(await page.locator('#job-status').getAttribute('data-status'), 'failed');
    await page.getByRole('heading', { name: 'Timeline' }).waitFor();
    assert.ok((await page.locator('#job-error').innerText()).length > 0);

    await page.getByRole('button', { name: 'Retry' }).click();
    await page.waitForURL(/done=retried/);
    assert.equal(await page.locator('#job-status').getAttribute('data-status'), 'pending');
    await page.getByRole('status').filter({ hasText: 'Retried' }).waitFor();
    const job = (await getJob(stack.sql, { jobId: demo.failedJobId }))!;
    assert.equal(job.status, 'pending');
    const events = await listJobEvents(stack.sql, job.id);
    assert.deepEqual([events.at(-1)!.fromStatus, events.at(-1)!.toStatus, events.at(-1)!.detail?.reason], ['failed', 'pending', 'retried by the client']);
    assert.equal(await page.getByRole('button', { name: 'Retry' }).count(), 0);
    await context.close();
  });

  test('create a key (shown once), revoke it, and it no longer authenticates', async (t) => {
    if (!browser) return t.skip(skipMessage);
    const { context, page } = await signedIn();
    page.on('dialog', (d) => void d.accept());
    await page.getByRole('link', { name: 'API keys' }).click();
    await page.getByLabel('Name').fill('made-in-browser');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = (await page.locator('#new-key-value').innerText()).trim();
    assert.ok(await authenticateKey(stack.sql, key));
    assert.equal((await stack.request('GET', '/v1/jobs', { key })).status, 200);

    await page.getByRole('link', { name: 'API keys' }).click();
    assert.equal(await page.locator('#new-key-value').count(), 0, 'shown only once');
    assert.ok(!(await page.content()).includes(key));

    const row = page.locator('#keys-table tr', { has: page.getByRole('rowheader', { name: 'made-in-browser', exact: true }) });
    assert.equal(await row.getAttribute('data-state'), 'active');
    await row.getByRole('button', { name: 'Revoke made-in-browser' }).click();
    await page.waitForURL(/done=revoked/);
    assert.equal(await row.getAttribute('data-state'), 'revoked');
    assert.equal(await authenticateKey(stack.sql, key), null);
    assert.equal((await stack.request('GET', '/v1/jobs', { key })).status, 401);
    await context.close();
  });

  test('a wrong token sees nothing', async (t) => {
    if (!browser) return t.skip(skipMessage);
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.baseUrl}/dashboard/jobs`);
    await page.getByLabel('Admin token').fill('this-is-not-the-admin-token');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/dashboard/login')), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.equal(response.status(), 401);
    await page.getByRole('alert').filter({ hasText: 'not the admin token' }).waitFor();
    assert.deepEqual(await context.cookies(), []);
    const content = await page.content();
    for (const secret of seededSecrets()) assert.ok(!content.includes(secret));
    assert.equal(await page.locator('nav[aria-label="Dashboard"]').count(), 0);
    const direct = await page.goto(`${stack.baseUrl}/dashboard/overview/fragment`);
    assert.equal(direct!.status(), 401);
    await context.close();
  });
});

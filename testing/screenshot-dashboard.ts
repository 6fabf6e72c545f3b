// `npx tsx testing/screenshot-dashboard.ts [--out docs/dashboard-overview.png] [--page /dashboard] [--jobs 2400] [--width 1280] [--height 900] [--full-page] [--keep]`
//
// Regenerates the README's picture of the dashboard: a throw-away embedded
// PostgreSQL, a realistic day of seeded activity, the API with ADMIN_TOKEN
// set, then Debian's Chromium (playwright-core) signs in and captures the
// overview. --keep leaves it all running and prints the URL and token.
import fs from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig } from '../core/platform/config.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { startQueue } from '../core/queue/index.js';
import { openKnowledge } from '../core/modelAndIndex.js';
import { createOutboundClient, outboundOptions } from '../core/outbound/index.js';
import { createApp } from '../server/app.js';
import { seedDemoData } from '../spec/helpers/dashboardData.js';
import { tempDatabase } from './tempDatabase.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string', default: 'docs/dashboard-overview.png' },
    page: { type: 'string', default: '/dashboard' },
    jobs: { type: 'string', default: '2400' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '900' },
    'full-page': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'screenshot-admin-token-0123456789';
const log = (m: string) => process.stderr.write(`${m}\n`);

const db = await tempDatabase();
const logger = createSilentLogger();
const stop: (() => Promise<void>)[] = [];
try {
  const config = loadConfig({ ADMIN_TOKEN, LOG_LEVEL: 'error', PORT: '0' });
  const boss = await startQueue(db.url, { expireInSeconds: 660, supervise: false, poolSize: 2 }, logger);
  stop.push(() => boss.stop({ graceful: false, wait: true }));
  const seeded = await seedDemoData(db.sql, { jobsPerDay: Number(values.jobs), staleAfterSeconds: config.worker.staleAfterMs / 1000 });
  log(`seeded ${seeded.jobs} jobs`);
  const client = createOutboundClient(outboundOptions(config));
  stop.push(() => client.close());
  const app = createApp({ config, sql: db.sql, boss, logger, knowledge: openKnowledge(config, db.sql, logger), client });
  const server = await new Promise<import('node:http').Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  stop.push(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  stop.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: Number(values.width), height: Number(values.height) }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/dashboard/login`);
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  if (values.page !== '/dashboard') await page.goto(baseUrl + values.page!.replaceAll('{failedJobId}', seeded.failedJobId));
  const out = path.resolve(values.out!);
  await fs.mkdir(path.dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: values['full-page'] });
  log(`wrote ${path.relative(process.cwd(), out)}`);
  if (values.keep) {
    log(`dashboard: ${baseUrl}/dashboard  (admin token: ${ADMIN_TOKEN}); Ctrl-C to stop`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
  }
} finally {
  for (const fn of stop.reverse()) await fn().catch(() => {});
  await db.close();
}

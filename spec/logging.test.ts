// No URL query string reaches a log line. First the log format itself, over
// every shape a URL is logged in; then the real service (`npm start` as a
// child process, debug logging) running a crawl job and a webhook whose URLs
// carry tokens, and a scrape: the secrets appear nowhere in its output.
import assert from 'node:assert/strict';
import type http from 'node:http';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import winston from 'winston';
import { createApiKey } from '../core/apiKeys.js';
import { logFormat, redactUrl } from '../core/platform/logger.js';
import { createTestDatabase } from './helpers/database.js';
import { articlePage, fixtureSite, startHttpServer } from './helpers/http.js';
import { spawnScript } from './helpers/processes.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function captureLogger(): { logger: winston.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({ write: (chunk, _enc, cb) => (lines.push(String(chunk)), cb()) });
  return { logger: winston.createLogger({ level: 'debug', format: logFormat(), transports: [new winston.transports.Stream({ stream })] }), lines };
}

describe('the log format', () => {
  it('keeps query parameter names and drops their values, fragments and URL passwords', () => {
    assert.equal(redactUrl('https://a.example/p?token=S1&page=2#access_token=S2'), 'https://a.example/p?token=[redacted]&page=[redacted]#[redacted]');
    assert.equal(redactUrl('/relative/path?sig=S3'), '/relative/path?sig=[redacted]');
    assert.equal(redactUrl('https://a.example/p?S4'), 'https://a.example/p?[redacted]');
    assert.equal(redactUrl('postgres://app:S5@db:5432/gleaner?sslmode=require'), 'postgres://app:[redacted]@db:5432/gleaner?sslmode=[redacted]');
    assert.equal(redactUrl('https://a.example/plain/path'), 'https://a.example/plain/path');
  });

  it('redacts URLs in messages, URL-named fields (relative too), arrays, nested objects, errors and stacks', () => {
    const { logger, lines } = captureLogger();
    const secret = (n: number) => `SECRET${n}x`;
    logger.info(`fetching https://site.example/a?token=${secret(1)} now`);
    logger.warn('page fetch refused', {
      url: `https://site.example/b?token=${secret(2)}`,
      callbackUrl: `http://hooks.example/h?key=${secret(3)}`,
      finalUrl: `/c?session=${secret(4)}`,
      location: `/d#id_token=${secret(5)}`,
      urls: [`/e?t=${secret(6)}`, `https://site.example/f?t=${secret(7)}`],
      page: { url: `https://site.example/g?t=${secret(8)}`, nested: { deeper: { redirectUrl: `/h?t=${secret(9)}` } } },
      error: new Error(`request to https://site.example/i?t=${secret(10)} failed`),
      stack: `Error: boom\n    at fetch (https://cdn.example/x.js?v=${secret(11)}:1:2)`,
      status: 502,
    });
    logger.error(new Error(`redirect to https://site.example/j?t=${secret(12)} refused`));
    const text = lines.join('');
    for (let n = 1; n <= 12; n++) assert.ok(!text.includes(secret(n)), `${secret(n)} leaked: ${text}`);
    const warn = JSON.parse(lines[1]!);
    assert.equal(warn.url, 'https://site.example/b?token=[redacted]');
    assert.equal(warn.finalUrl, '/c?session=[redacted]');
    assert.deepEqual(warn.urls, ['/e?t=[redacted]', 'https://site.example/f?t=[redacted]']);
    assert.equal(warn.status, 502);
    assert.match(JSON.parse(lines[0]!).message, /^fetching https:\/\/site\.example\/a\?token=\[redacted\] now$/);
  });
});

describe('the service logs no URL query strings', () => {
  it('a crawl job with a callback and a scrape, all with tokens in their URLs, at debug level', async () => {
    const db = await createTestDatabase();
    const { key } = await createApiKey(db.sql, 'logging');
    const hooks: string[] = [];
    const receiver = await startHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        hooks.push(req.url ?? '');
        res.writeHead(200).end('ok');
      });
    });
    const site = await startHttpServer(
      fixtureSite({
        '/': articlePage('Start', `Links with tokens in them: <a href="/next?session=LINKSECRET">next</a> and <a href="/moved?ticket=REDIRSECRET">moved</a>.`),
        '/next': articlePage('Next', 'The second page, reached by a link that carries a session token in its query.'),
        '/moved': ((req, res) => void res.writeHead(302, { location: `/next?again=${new URL(req.url ?? '/', 'http://x').searchParams.get('ticket')}` }).end()) as http.RequestListener,
        '/scraped': articlePage('Scraped', 'A page scraped synchronously through the API with a token in its URL.'),
      }),
    );
    const service = spawnScript('cli/start.ts', [], {
      DATABASE_URL: db.url,
      PORT: '0',
      ALLOW_PRIVATE_NETWORKS: 'true',
      LOG_LEVEL: 'debug',
      WORKER_POLL_INTERVAL: '200ms',
    });
    await service.waitForLog((l) => l.message === 'ready', 120_000, "'ready'");
    const baseUrl = service.logs.find((l) => l.message === 'API listening')!.url as string;
    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(baseUrl + path, { method, headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as any };
    };

    const created = await api('POST', '/v1/extract/async', { url: `${site.url}/?token=JOBSECRET`, maxPages: 3, callbackUrl: `${receiver.url}/hook?token=HOOKSECRET` });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    let job: any;
    for (let i = 0; i < 600 && !(job?.status === 'completed' && hooks.length > 0); i++) {
      await sleep(100);
      job = (await api('GET', `/v1/jobs/${created.body.jobId}`)).body;
      assert.notEqual(job.status, 'failed', JSON.stringify(job));
    }
    assert.equal(job.status, 'completed');
    assert.deepEqual(hooks, ['/hook?token=HOOKSECRET'], 'the webhook went to the URL as given');
    assert.ok(job.result.knowledgeItems.length >= 2, 'the link with a token was crawled');

    const scraped = await api('POST', '/v1/scrape', { url: `${site.url}/scraped?token=SCRAPESECRET` });
    assert.equal(scraped.status, 200, JSON.stringify(scraped.body));
    // A refused scrape logs its URL too.
    await api('POST', '/v1/scrape', { url: `${site.url}/missing?token=MISSINGSECRET` });
    await sleep(500);

    const output = service.stdout() + service.stderr();
    for (const secret of ['JOBSECRET', 'HOOKSECRET', 'LINKSECRET', 'REDIRSECRET', 'SCRAPESECRET', 'MISSINGSECRET']) {
      const line = output.split('\n').find((l) => l.includes(secret));
      assert.equal(line, undefined, `${secret} is in the log`);
    }
    assert.ok(service.logs.some((l) => typeof l.url === 'string' && l.url.includes('?token=[redacted]')), 'URLs are logged, without their query values');
  });
});

// POST /v1/extract/async is served ahead of express (server/acceptPath.ts)
// through the same steps as the express chain. Each request here is sent
// twice: to /v1/extract/async, which that path takes, and to
// /v1/extract/async? (a query string, which it leaves to express, whose route
// ignores it); status, body, headers, log line and metrics sample must be the
// same, and only the first may skip express's handling.
import assert from 'node:assert/strict';
import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import express from 'express';
import winston from 'winston';
import { createApiKey } from '../../core/apiKeys.js';
import type { Logger } from '../../core/platform/logger.js';
import { metrics } from '../../core/platform/metrics.js';
import { createApp } from '../../server/app.js';
import { testConfig } from '../helpers/config.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Counts express's own request handling (Application.prototype.handle), which the apps below bind when created.
let expressHandled = 0;
const proto = express.application as unknown as { handle(this: unknown, ...args: unknown[]): void };
const expressHandle = proto.handle;
proto.handle = function (this: unknown, ...args: unknown[]) {
  expressHandled++;
  return expressHandle.apply(this, args);
};

/** A logger whose request lines are kept, parsed. */
function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) {
        const line = JSON.parse(l) as Record<string, unknown>;
        if (line.message === 'request') lines.push(line);
      }
      done();
    },
  });
  return winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
}

interface Api {
  url: string;
  lines: Record<string, unknown>[];
  server: Server;
}

let stack: Stack; // closed by its own cleanup (spec/helpers/cleanup.ts)
const servers: Server[] = [];

async function startApi(env: Record<string, string>): Promise<Api> {
  const lines: Record<string, unknown>[] = [];
  const logger = capturingLogger(lines);
  const app = createApp({ config: testConfig(env), sql: stack.sql, boss: stack.boss, logger, knowledge: stack.knowledge, client: stack.client });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, lines, server };
}

before(async () => {
  stack = await startStack();
});
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
  handled: number;
  line: Record<string, unknown> | undefined;
  samples: string[];
}

/** The histogram's sample counts by label set. */
async function durationCounts(): Promise<Map<string, number>> {
  const { values } = await metrics.httpDuration.get();
  return new Map(values.filter((v) => v.metricName?.endsWith('_count')).map((v) => [JSON.stringify(v.labels), v.value]));
}

async function send(api: Api, path: string, headers: Record<string, string>, body: string | Buffer | undefined): Promise<Answer> {
  const handledBefore = expressHandled;
  const linesBefore = api.lines.length;
  const countsBefore = await durationCounts();
  const url = new URL(api.url);
  const { status, resHeaders, text } = await new Promise<{ status: number; resHeaders: IncomingHttpHeaders; text: string }>((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path, method: 'POST', headers: { ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode!, resHeaders: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
  // The log line and the metrics sample are written when the response finishes, which the client may see first.
  for (let i = 0; i < 100 && api.lines.length === linesBefore; i++) await new Promise((r) => setTimeout(r, 10));
  const countsAfter = await durationCounts();
  const samples = [...countsAfter].filter(([k, n]) => n !== (countsBefore.get(k) ?? 0)).map(([k]) => k);
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status, headers: resHeaders, body: parsed, handled: expressHandled - handledBefore, line: api.lines[linesBefore], samples };
}

/** Job ids and creation times differ between the two requests; everything else must not. */
const normalized = (body: unknown) => JSON.parse(JSON.stringify(body).replace(/job_[0-9A-Za-z]{22}/g, 'job_*').replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T'));

function assertSame(fast: Answer, viaExpress: Answer, what: string): void {
  assert.equal(fast.status, viaExpress.status, `${what}: status`);
  assert.deepEqual(normalized(fast.body), normalized(viaExpress.body), `${what}: body`);
  const names = (h: IncomingHttpHeaders) => Object.keys(h).filter((k) => k !== 'date').sort();
  assert.deepEqual(names(fast.headers), names(viaExpress.headers), `${what}: header names`);
  for (const h of ['content-type', 'content-length', 'www-authenticate', 'retry-after', 'ratelimit-limit', 'idempotent-replayed', 'connection', 'keep-alive']) {
    assert.equal(fast.headers[h], viaExpress.headers[h], `${what}: ${h}`);
  }
  assert.ok(fast.line && viaExpress.line, `${what}: a log line each`);
  const logged = (a: Answer) => ({ method: a.line!.method, path: a.line!.path, status: a.line!.status, apiKeyId: a.line!.apiKeyId, jobId: typeof a.line!.jobId, level: a.line!.level });
  assert.deepEqual(logged(fast), logged(viaExpress), `${what}: log line`);
  assert.equal(fast.line!.requestId, fast.headers['x-request-id'], `${what}: the logged request id is the answer's`);
  assert.deepEqual(fast.samples, viaExpress.samples, `${what}: metrics sample`);
}

const JSON_TYPE = { 'content-type': 'application/json' };

test('every kind of submission is answered, logged and counted the same as through express, without express handling it', async () => {
  const api = await startApi({ RATE_LIMIT_PER_MINUTE: '600000', RATE_LIMIT_BURST: '100000' });
  const key = { 'x-api-key': stack.key };
  const revoked = await createApiKey(stack.sql, 'to revoke');
  await stack.sql`update api_keys set revoked_at = now() where id = ${revoked.apiKey.id}`;
  const cases: { what: string; headers: Record<string, string>; body?: string | Buffer; taken: boolean }[] = [
    { what: 'a valid submission', headers: { ...key, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'unknown fields', headers: { ...key, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a', extra: { x: 1 } }), taken: true },
    { what: 'a bearer key and a UTF-8 charset', headers: { authorization: `Bearer ${stack.key}`, 'content-type': 'Application/JSON; charset=UTF-8' }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'an x-request-id', headers: { ...key, ...JSON_TYPE, 'x-request-id': 'client.req-1' }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'a byte order mark', headers: { ...key, ...JSON_TYPE }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ url: 'https://example.com/bom' }))]), taken: true },
    { what: 'no key', headers: { ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'an unknown key', headers: { 'x-api-key': `knowledgesdk_live_${'x'.repeat(40)}`, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'a revoked key', headers: { 'x-api-key': revoked.key, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    { what: 'invalid JSON', headers: { ...key, ...JSON_TYPE }, body: '{"url":', taken: true },
    { what: 'JSON that is not an object', headers: { ...key, ...JSON_TYPE }, body: ' "https://example.com/a"', taken: true },
    { what: 'an array', headers: { ...key, ...JSON_TYPE }, body: '[1]', taken: true },
    { what: 'whitespace only', headers: { ...key, ...JSON_TYPE }, body: ' \n ', taken: true },
    { what: 'a byte order mark only', headers: { ...key, ...JSON_TYPE }, body: Buffer.from([0xef, 0xbb, 0xbf]), taken: true },
    { what: 'an invalid url', headers: { ...key, ...JSON_TYPE }, body: JSON.stringify({ url: 'not a url', maxPages: -1 }), taken: true },
    { what: 'a lone surrogate', headers: { ...key, ...JSON_TYPE }, body: '{"url":"https://example.com/\\ud800"}', taken: true },
    { what: 'invalid UTF-8', headers: { ...key, ...JSON_TYPE }, body: Buffer.concat([Buffer.from('{"url":"https://example.com/'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), taken: true },
    { what: 'a bad Idempotency-Key', headers: { ...key, ...JSON_TYPE, 'idempotency-key': 'x'.repeat(500) }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: true },
    // Left to express: what express.json has more to decide about.
    { what: 'another charset', headers: { ...key, 'content-type': 'application/json; charset=latin1' }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: false },
    { what: 'text', headers: { ...key, 'content-type': 'text/plain' }, body: JSON.stringify({ url: 'https://example.com/a' }), taken: false },
    { what: 'no body', headers: { ...key }, body: undefined, taken: false },
    { what: 'an empty JSON body', headers: { ...key, ...JSON_TYPE }, body: '', taken: false },
    { what: 'a body over the limit', headers: { ...key, ...JSON_TYPE }, body: JSON.stringify({ url: 'https://example.com/a', pad: 'x'.repeat(70 * 1024) }), taken: false },
    { what: 'gzip', headers: { ...key, ...JSON_TYPE, 'content-encoding': 'gzip' }, body: 'not gzip', taken: false },
  ];
  for (const c of cases) {
    const fast = await send(api, '/v1/extract/async', c.headers, c.body);
    const viaExpress = await send(api, '/v1/extract/async?', c.headers, c.body);
    assert.equal(fast.handled, c.taken ? 0 : 1, `${c.what}: handled by express ${fast.handled} times (${fast.status} ${JSON.stringify(fast.body)})`);
    assert.equal(viaExpress.handled, 1, `${c.what}: the query string goes through express`);
    assertSame(fast, viaExpress, c.what);
  }
  // What the fast path answers: spot checks beyond "the same".
  const ok = await send(api, '/v1/extract/async', { ...key, ...JSON_TYPE, 'x-request-id': 'client.req-2' }, JSON.stringify({ url: 'https://example.com/spot' }));
  assert.equal(ok.status, 202);
  assert.equal(ok.headers['x-request-id'], 'client.req-2');
  assert.equal(ok.line!.jobId, (ok.body as { jobId: string }).jobId);
  assert.ok(ok.samples.some((s) => s.includes('"route":"/v1/extract/async"') && s.includes('"status":"202"')), `the 202 is counted under its route: ${ok.samples.join(' ')}`);
  const bad = await send(api, '/v1/extract/async', { ...JSON_TYPE }, '{}');
  assert.equal(bad.status, 401);
  assert.ok(bad.samples.some((s) => s.includes('"route":"unmatched"')), `a refused key matched no route, as in express: ${bad.samples.join(' ')}`);
  const [stored] = await stack.sql`select input from jobs where id = ${(ok.body as { jobId: string }).jobId}`;
  assert.equal(stored!.input.url, 'https://example.com/spot');
});

test('idempotent submissions replay and conflict the same way on both paths, whichever came first', async () => {
  const api = await startApi({});
  const headers = (k: string) => ({ 'x-api-key': stack.key, ...JSON_TYPE, 'idempotency-key': k });
  const body = JSON.stringify({ url: 'https://example.com/idem' });
  const first = await send(api, '/v1/extract/async', headers('fast-first'), body);
  const replayed = await send(api, '/v1/extract/async?', headers('fast-first'), body);
  assert.equal(first.status, 202);
  assert.equal(replayed.status, 200);
  assert.equal(replayed.headers['idempotent-replayed'], 'true');
  assert.deepEqual(replayed.body, first.body);
  const viaExpressFirst = await send(api, '/v1/extract/async?', headers('express-first'), body);
  const fastReplay = await send(api, '/v1/extract/async', headers('express-first'), body);
  assert.equal(fastReplay.handled, 0);
  assertSame(fastReplay, replayed, 'a replay');
  assert.deepEqual(fastReplay.body, viaExpressFirst.body);
  const other = JSON.stringify({ url: 'https://example.com/other' });
  assertSame(await send(api, '/v1/extract/async', headers('fast-first'), other), await send(api, '/v1/extract/async?', headers('fast-first'), other), 'a conflict');
});

test('the rate limit and the in-flight cap count both paths together', async () => {
  const api = await startApi({ RATE_LIMIT_PER_MINUTE: '1', RATE_LIMIT_BURST: '4', MAX_JOBS_IN_FLIGHT_PER_KEY: '3' });
  const { key } = await createApiKey(stack.sql, 'capped');
  const headers = { 'x-api-key': key, ...JSON_TYPE };
  const body = JSON.stringify({ url: 'https://example.com/cap' });
  const answers: Answer[] = [];
  for (let i = 0; i < 6; i++) answers.push(await send(api, i % 2 === 0 ? '/v1/extract/async' : '/v1/extract/async?', headers, body));
  // Three jobs, then the key is at its cap (the fourth token), then out of tokens.
  assert.deepEqual(
    answers.map((a) => a.status),
    [202, 202, 202, 429, 429, 429],
  );
  assert.deepEqual(
    answers.map((a) => a.headers['ratelimit-remaining']),
    ['3', '2', '1', '0', '0', '0'],
  );
  assert.deepEqual(
    answers.map((a) => (a.body as { code?: string }).code ?? null),
    [null, null, null, 'too_many_jobs_in_flight', 'rate_limited', 'rate_limited'],
  );
  assertSame(answers[4]!, answers[5]!, 'a rate-limited submission');
  assert.equal(answers[4]!.handled, 0);
});

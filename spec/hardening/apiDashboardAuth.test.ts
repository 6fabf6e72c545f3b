// Dashboard sessions and sign-in: signing out ends every session (a copied
// cookie, another browser, another API process: the epoch is in the
// database); a new ADMIN_TOKEN ends sessions signed with the old one; failed
// sign-ins (bearer or form) are throttled per client address; ADMIN_TOKEN
// needs 32 characters.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { before, describe, test } from 'node:test';
import express from 'express';
import { ConfigError, loadConfig } from '../../core/platform/config.js';
import { dashboardRouter } from '../../server/dashboard/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { startStack, type Stack } from '../helpers/stack.js';

const TOKEN = 'dashboard-auth-test-token-0123456789abcdef';
const ROTATED = 'dashboard-auth-test-token-rotated-0123456789';
let stack: Stack;

before(async () => {
  stack = await startStack({ config: { ADMIN_TOKEN: TOKEN } });
});

/** Another API process's dashboard on the same database (own throttle, own token). */
async function otherDashboard(adminToken: string, authThrottle?: { burst: number; perMinute: number }): Promise<string> {
  const app = express();
  app.use('/dashboard', dashboardRouter({ config: stack.config, sql: stack.sql, boss: stack.boss, logger: stack.logger, adminToken, ...(authThrottle ? { authThrottle } : {}) }));
  const server: http.Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  onCleanup(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** A request from a chosen loopback source address (127.0.0.x are all local on Linux). */
function request(base: string, method: string, path: string, opts: { headers?: Record<string, string>; form?: Record<string, string>; from?: string } = {}): Promise<Answer> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: url.hostname, port: url.port, path: url.pathname + url.search, method, localAddress: opts.from ?? '127.0.0.1', headers: { ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...(opts.headers ?? {}) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function signIn(base: string, token = TOKEN): Promise<{ cookie: string; csrf: string }> {
  const res = await request(base, 'POST', '/dashboard/login', { form: { token, next: '/dashboard' } });
  assert.equal(res.status, 303, res.text.slice(0, 200));
  const cookie = String(res.headers['set-cookie']![0]).split(';')[0]!;
  const page = await request(base, 'GET', '/dashboard/keys', { headers: { cookie } });
  assert.equal(page.status, 200);
  return { cookie, csrf: /name="_csrf" value="([^"]+)"/.exec(page.text)![1]! };
}

describe('dashboard sessions', () => {
  test('signing out ends every session: this one, another browser, a copied cookie, in every API process', async () => {
    const other = await otherDashboard(TOKEN);
    const first = await signIn(stack.baseUrl);
    const second = await signIn(stack.baseUrl);
    assert.equal((await request(other, 'GET', '/dashboard/keys', { headers: { cookie: second.cookie } })).status, 200, 'another process accepts the session');

    const out = await request(stack.baseUrl, 'POST', '/dashboard/logout', { headers: { cookie: first.cookie }, form: { _csrf: first.csrf } });
    assert.equal(out.status, 303);
    for (const [base, cookie] of [[stack.baseUrl, first.cookie], [stack.baseUrl, second.cookie], [other, first.cookie], [other, second.cookie]] as const) {
      const res = await request(base, 'GET', '/dashboard/keys', { headers: { cookie } });
      assert.equal(res.status, 401, `${base} still accepts ${cookie.slice(0, 30)}…`);
    }
    // Signing in again works.
    const again = await signIn(stack.baseUrl);
    assert.equal((await request(other, 'GET', '/dashboard/', { headers: { cookie: again.cookie } })).status, 200);
  });

  test('a new ADMIN_TOKEN ends sessions signed with the old one', async () => {
    const session = await signIn(stack.baseUrl);
    const rotated = await otherDashboard(ROTATED);
    assert.equal((await request(rotated, 'GET', '/dashboard/keys', { headers: { cookie: session.cookie } })).status, 401);
    const fresh = await signIn(rotated, ROTATED);
    assert.equal((await request(stack.baseUrl, 'GET', '/dashboard/keys', { headers: { cookie: fresh.cookie } })).status, 401, 'and the other way round');
  });
});

describe('failed sign-ins are throttled per client address', () => {
  test('after the burst, bearer and form attempts from that address get 429 (even with the right token); other addresses are unaffected', async () => {
    const base = await otherDashboard(TOKEN, { burst: 3, perMinute: 1 });
    const wrong = { authorization: `Bearer ${'x'.repeat(40)}` };
    for (let i = 0; i < 2; i++) assert.equal((await request(base, 'GET', '/dashboard/overview.json', { headers: wrong })).status, 401);
    assert.equal((await request(base, 'POST', '/dashboard/login', { form: { token: 'not-it' } })).status, 401);

    const blocked = await request(base, 'GET', '/dashboard/overview.json', { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(blocked.status, 429);
    assert.ok(Number(blocked.headers['retry-after']) >= 1, `Retry-After: ${blocked.headers['retry-after']}`);
    assert.ok(!blocked.text.includes('"reports"'), 'no data');
    assert.equal((await request(base, 'POST', '/dashboard/login', { form: { token: TOKEN } })).status, 429, 'the form is refused too');

    const elsewhere = await request(base, 'GET', '/dashboard/overview.json', { headers: { authorization: `Bearer ${TOKEN}` }, from: '127.0.0.2' });
    assert.equal(elsewhere.status, 200, 'another address signs in');
    // Successful sign-ins cost nothing: many in a row from one address stay allowed.
    for (let i = 0; i < 5; i++) assert.equal((await request(base, 'GET', '/dashboard/overview.json', { headers: { authorization: `Bearer ${TOKEN}` }, from: '127.0.0.3' })).status, 200);
  });
});

describe('ADMIN_TOKEN length', () => {
  test('fewer than 32 characters is a configuration error; 32 is accepted', () => {
    assert.throws(() => loadConfig({ ADMIN_TOKEN: 'a'.repeat(31) }), (err: unknown) => err instanceof ConfigError && /ADMIN_TOKEN: must be at least 32 characters/.test(err.message) && !err.message.includes('a'.repeat(31)));
    assert.equal(loadConfig({ ADMIN_TOKEN: 'a'.repeat(32) }).adminToken, 'a'.repeat(32));
  });
});

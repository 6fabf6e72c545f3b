// Request text PostgreSQL cannot store: U+0000 and lone surrogates, in every
// string field of every route (body, query, nested arrays, object keys), are
// a 400 validation_error naming the field, and nothing is written.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { startStack, type Stack } from '../helpers/stack.js';
import { errorCode, errorDetails } from '../helpers/errors.js';

const ADMIN_TOKEN = 'api-input-test-admin-token-0123456789';
let stack: Stack;

before(async () => {
  stack = await startStack({ config: { ADMIN_TOKEN } });
});

const BAD_TEXT = [
  ['NUL', '\u0000', /U\+0000/],
  ['lone high surrogate', '\uD800', /surrogate/],
  ['lone low surrogate', '\uDFFF', /surrogate/],
] as const;

const url = 'https://example.com/';
/** [route, body builder, field the 400 must name] */
const CASES: [string, (bad: string) => unknown, string][] = [
  ['/v1/extract/async', (b) => ({ url: `${url}${b}` }), 'url'],
  ['/v1/extract/async', (b) => ({ url, callbackUrl: `https://hooks.example.com/${b}` }), 'callbackUrl'],
  ['/v1/extract/async', (b) => ({ url, includePatterns: ['/ok', `/a${b}b`] }), 'includePatterns.1'],
  ['/v1/extract/async', (b) => ({ url, excludePatterns: [`/x${b}`] }), 'excludePatterns.0'],
  ['/v1/extract/async', (b) => ({ url, urls: [`${url}${b}`] }), 'urls.0'],
  ['/v1/extract/async', (b) => ({ url, [`odd${b}key`]: 1 }), 'oddkey'],
  ['/v1/extract', (b) => ({ url, includePatterns: [`/a${b}b`] }), 'includePatterns.0'],
  ['/v1/scrape', (b) => ({ url: `${url}${b}` }), 'url'],
  ['/v1/search', (b) => ({ query: `hello ${b} world` }), 'query'],
  ['/v1/search', (b) => ({ query: 'q', filters: { urlPrefixes: [`https://a.example/${b}`] } }), 'filters.urlPrefixes.0'],
  ['/v1/search', (b) => ({ query: 'q', filters: { jobIds: [`job_${b}`] } }), 'filters.jobIds.0'],
  ['/v1/search', (b) => ({ query: 'q', filters: { categories: [b] } }), 'filters.categories.0'],
];

describe('bad text in request bodies', () => {
  for (const [name, bad, message] of BAD_TEXT) {
    test(`${name}: every string field of every route is a 400 naming the field`, async () => {
      for (const [route, body, field] of CASES) {
        const res = await stack.request('POST', route, { body: body(bad) });
        const what = `${route} ${field}: ${res.status} ${JSON.stringify(res.body)}`;
        assert.equal(res.status, 400, what);
        assert.equal(errorCode(res.body), 'validation_error', what);
        const expectedField = field === 'oddkey' ? `odd${bad}key` : field;
        const named = (errorDetails(res.body) as { field: string; message: string }[]).find((d) => d.field === expectedField);
        assert.ok(named, `details name ${JSON.stringify(expectedField)}: ${what}`);
        assert.match(named.message, message, what);
      }
      const [row] = await stack.sql`select count(*)::int as n from jobs`;
      assert.equal(row?.n, 0, "no job was created");
    });
  }
});

describe('bad text elsewhere', () => {
  test('query strings: GET /v1/jobs?cursor=%00 and ?status=%00 name the parameter', async () => {
    for (const [query, field] of [['cursor=a%00b', 'cursor'], ['status=%00', 'status']] as const) {
      const res = await stack.request('GET', `/v1/jobs?${query}`);
      assert.equal(res.status, 400, JSON.stringify(res.body));
      assert.ok((errorDetails(res.body) as any).some((d: { field: string }) => d.field === field), JSON.stringify(res.body));
    }
  });

  test('a deeply nested body is a 400, not a stack overflow', async () => {
    const depth = 20_000;
    const res = await stack.request('POST', '/v1/extract/async', { rawBody: `{"url":"${url}","x":${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}}`, headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 400, JSON.stringify(res.body).slice(0, 300));
  });

  test('well-formed astral text (a surrogate pair) is accepted', async () => {
    const res = await stack.request('POST', '/v1/extract/async', { body: { url: 'https://example.com/😀', includePatterns: ['/😀/*'] } });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  });

  test('dashboard: a key name or a job filter with NUL is a 400 page, not a 500', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    const create = await fetch(`${stack.baseUrl}/dashboard/keys`, { method: 'POST', headers: { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=a%00b' });
    assert.equal(create.status, 400);
    assert.match(await create.text(), /U\+0000/);
    for (const q of ['domain=a%00b', 'key=%00', 'cursor=%00']) {
      const jobs = await fetch(`${stack.baseUrl}/dashboard/jobs?${q}`, { headers: auth });
      assert.equal(jobs.status, 400, q);
    }
  });
});

// The /firecrawl routes in GET /v1/openapi.json: every route the Firecrawl
// router registers is described (and nothing it does not serve), each needs
// a key and really answers 401 without one, in Firecrawl's error shape.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createSilentLogger } from '../../core/platform/logger.js';
import { createApp } from '../../server/app.js';
import { toOpenApiPath } from '../../server/openapi.js';
import { testConfig } from '../helpers/config.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let doc: any;

before(async () => {
  stack = await startStack();
  doc = (await stack.request('GET', '/v1/openapi.json', { key: null })).body;
});

/** METHOD /firecrawl/... of every route on the router the app mounts at /firecrawl. */
function firecrawlRoutes(): string[] {
  const app = createApp({ config: testConfig(), sql: stack.sql, boss: stack.boss, knowledge: stack.knowledge, client: stack.client, logger: createSilentLogger() });
  const mounted = ((app as any).router.stack as any[]).filter((l) => Array.isArray(l.handle?.stack) && !l.slash && l.match('/firecrawl/v2/crawl'));
  assert.equal(mounted.length, 1, 'one router mounted at /firecrawl');
  const out: string[] = [];
  for (const layer of mounted[0].handle.stack) {
    if (!layer.route) continue;
    for (const [method, on] of Object.entries(layer.route.methods as Record<string, boolean>)) if (on && method !== '_all') out.push(`${method} /firecrawl${toOpenApiPath(String(layer.route.path))}`);
  }
  return out;
}

describe('the Firecrawl routes in openapi.json', () => {
  test('every registered /firecrawl route is described, and nothing else under /firecrawl', () => {
    const registered = firecrawlRoutes();
    assert.ok(registered.length >= 30, `found only ${registered.length} routes`);
    for (const r of registered) {
      const [method, path] = r.split(' ') as [string, string];
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${r} is registered but not in openapi.json`);
      assert.ok(op.summary && Object.keys(op.responses).length > 0, r);
      assert.deepEqual(op.tags, ['firecrawl']);
    }
    const set = new Set(registered);
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (!p.startsWith('/firecrawl/')) continue;
      for (const method of Object.keys(ops)) assert.ok(set.has(`${method} ${p}`), `openapi.json describes ${method.toUpperCase()} ${p}, which the app does not serve`);
    }
  });

  test('each needs a key: 401 without one, as {success: false, error}', async () => {
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!p.startsWith('/firecrawl/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        assert.deepEqual(op.security, [{ apiKeyHeader: [] }, { bearer: [] }], `${method} ${p}`);
        const res = await stack.request(method.toUpperCase(), p.replace('{id}', 'job_abc'), { key: null, ...(method === 'post' ? { body: {} } : {}) });
        assert.equal(res.status, 401, `${method} ${p} without a key`);
        assert.equal(res.body.success, false, `${method} ${p}`);
      }
    }
  });

  test('request bodies are the routes\' own schemas: the crawl options with their bounds', () => {
    const crawl = doc.paths['/firecrawl/v2/crawl'].post.requestBody.content['application/json'].schema;
    assert.deepEqual(crawl.required, ['url']);
    assert.deepEqual(crawl.properties.sitemap.enum, ['include', 'skip', 'only']);
    for (const field of ['maxDiscoveryDepth', 'allowSubdomains', 'allowExternalLinks', 'crawlEntireDomain', 'ignoreQueryParameters', 'delay', 'maxConcurrency', 'includePaths', 'excludePaths']) assert.ok(crawl.properties[field], field);
    assert.ok(doc.paths['/firecrawl/v1/crawl/active'].get && doc.paths['/firecrawl/v2/crawl/active'].get);
  });
});

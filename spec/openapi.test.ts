import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { createSilentLogger } from '../core/platform/logger.js';
import { createApp } from '../server/app.js';
import { buildOpenApi, toOpenApiPath } from '../server/openapi.js';
import { extractRequestSchema, maxPagesLimit } from '../server/schemas.js';
import { testConfig } from './helpers/config.js';
import { errorDetails } from './helpers/errors.js';
import { startStack, type Stack } from './helpers/stack.js';

let stack: Stack;
let doc: any;

before(async () => {
  stack = await startStack();
  const res = await fetch(`${stack.baseUrl}/v1/openapi.json`);
  assert.equal(res.status, 200);
  doc = await res.json();
});

interface RouteInfo {
  method: string;
  path: string;
}

/**
 * Every route registered on the express app: route layers at the top level
 * and inside routers mounted at the root (app.use(router)). A router mounted
 * under a path is not walked (its layers do not carry the prefix); one that
 * would catch /v1 requests fails the walk so this test is extended, not fooled.
 */
function registeredRoutes(layers: any[], out: RouteInfo[] = []): RouteInfo[] {
  for (const layer of layers) {
    if (layer.route) {
      const paths = Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path];
      for (const [method, on] of Object.entries(layer.route.methods as Record<string, boolean>)) {
        if (on && method !== '_all') for (const p of paths) out.push({ method, path: String(p) });
      }
    } else if (Array.isArray(layer.handle?.stack)) {
      if (layer.slash) registeredRoutes(layer.handle.stack, out);
      else assert.equal(layer.match('/v1/some/route'), false, 'a router is mounted under a prefix that catches /v1: teach registeredRoutes about prefixes');
    }
  }
  return out;
}

function appRoutes(): RouteInfo[] {
  const app = createApp({ config: testConfig({ ADMIN_TOKEN: 'openapi-test-admin-token-0123456789' }), sql: stack.sql, boss: stack.boss, knowledge: stack.knowledge, client: stack.client, logger: createSilentLogger() });
  return registeredRoutes((app as any).router.stack);
}

describe('GET /v1/openapi.json', () => {
  test('is public, OpenAPI 3.1, JSON', async () => {
    const res = await stack.request('GET', '/v1/openapi.json', { key: null });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.body.openapi, '3.1.0');
    assert.equal(res.body.info.title, 'Gleaner API');
  });

  test('describes every route registered under /v1, and nothing that is not registered', () => {
    const routes = appRoutes().filter((r) => r.path.startsWith('/v1/') || r.path === '/v1');
    assert.ok(routes.length >= 10, `found only ${routes.length} /v1 routes: is the walk broken?`);
    for (const r of routes) {
      const op = doc.paths[toOpenApiPath(r.path)]?.[r.method];
      assert.ok(op, `${r.method.toUpperCase()} ${r.path} is registered but not in openapi.json`);
      assert.ok(op.summary && op.responses && Object.keys(op.responses).length > 0, `${r.method} ${r.path} lacks a summary or responses`);
    }
    const registered = new Set(routes.map((r) => `${r.method} ${toOpenApiPath(r.path)}`));
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, unknown>>)) {
      if (!p.startsWith('/v1/')) continue;
      for (const method of Object.keys(ops)) assert.ok(registered.has(`${method} ${p}`), `openapi.json describes ${method.toUpperCase()} ${p}, which the app does not serve`);
    }
  });

  test('the other public routes are described too', () => {
    for (const r of appRoutes().filter((x) => ['/healthz', '/readyz', '/metrics'].includes(x.path))) {
      assert.ok(doc.paths[r.path]?.[r.method], `${r.method} ${r.path}`);
    }
  });

  test('every operation that needs a key says so, and really answers 401 without one', async () => {
    for (const [p, ops] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      if (!p.startsWith('/v1/') || p === '/v1/openapi.json') continue;
      for (const [method, op] of Object.entries(ops)) {
        assert.deepEqual(op.security, [{ apiKeyHeader: [] }, { bearer: [] }], `${method} ${p}`);
        const res = await stack.request(method.toUpperCase(), p.replace('{jobId}', 'job_abc'), { key: null });
        assert.equal(res.status, 401, `${method} ${p} without a key`);
      }
    }
    assert.deepEqual(doc.paths['/v1/openapi.json'].get.security, []);
  });

  test('every $ref resolves to a component', () => {
    const refs: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) {
        if (k === '$ref') refs.push(String(x));
        else walk(x);
      }
    };
    walk(doc);
    assert.ok(refs.length > 0);
    for (const ref of refs) {
      const m = /^#\/components\/schemas\/(.+)$/.exec(ref);
      assert.ok(m && doc.components.schemas[m[1]!], `unresolved ${ref}`);
    }
  });

  test('path parameters come from the jobId schema', () => {
    const param = doc.paths['/v1/jobs/{jobId}'].get.parameters.find((p: any) => p.name === 'jobId');
    assert.equal(param.in, 'path');
    assert.equal(param.required, true);
    assert.equal(param.schema.pattern, '^job_[0-9A-Za-z]{1,64}$');
  });

  test('GET /v1/jobs query parameters come from listJobsQuerySchema', () => {
    const params = Object.fromEntries(doc.paths['/v1/jobs'].get.parameters.map((p: any) => [p.name, p]));
    assert.deepEqual(Object.keys(params).sort(), ['cursor', 'limit', 'status']);
    assert.deepEqual(params.status.schema.enum, ['pending', 'processing', 'completed', 'failed', 'cancelled']);
    assert.equal(params.limit.schema.maximum, 100);
    assert.equal(params.limit.schema.default, 20);
  });
});

// A small JSON Schema check (the keywords the generated body schema uses), to
// compare the document's verdict with zod's on the same bodies.
function validates(schema: any, value: unknown): boolean {
  if (schema.type === 'object') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
    const obj = value as Record<string, unknown>;
    for (const r of schema.required ?? []) if (!(r in obj)) return false;
    for (const [k, v] of Object.entries(obj)) {
      const sub = schema.properties?.[k];
      if (!sub) {
        if (schema.additionalProperties === false) return false;
        continue;
      }
      if (!validates(sub, v)) return false;
    }
    return true;
  }
  if (schema.type === 'array') {
    if (!Array.isArray(value)) return false;
    if (schema.minItems !== undefined && value.length < schema.minItems) return false;
    if (schema.maxItems !== undefined && value.length > schema.maxItems) return false;
    return value.every((v) => validates(schema.items, v));
  }
  if (schema.type === 'string') {
    if (typeof value !== 'string') return false;
    if (schema.minLength !== undefined && value.length < schema.minLength) return false;
    if (schema.maxLength !== undefined && value.length > schema.maxLength) return false;
    return schema.pattern === undefined || new RegExp(schema.pattern, 'u').test(value);
  }
  if (schema.type === 'integer') return Number.isInteger(value) && (schema.minimum === undefined || (value as number) >= schema.minimum) && (schema.maximum === undefined || (value as number) <= schema.maximum);
  if (schema.type === 'number') return typeof value === 'number' && (schema.minimum === undefined || value >= schema.minimum) && (schema.maximum === undefined || value <= schema.maximum);
  if (schema.type === 'boolean') return typeof value === 'boolean';
  throw new Error(`validates(): unsupported schema ${JSON.stringify(schema)}`);
}

describe('POST /v1/extract/async request body', () => {
  const bodySchema = () => doc.paths['/v1/extract/async'].post.requestBody.content['application/json'].schema;

  test('is the validation schema: url required, the same fields, other fields allowed (and ignored)', () => {
    const s = bodySchema();
    assert.equal(doc.paths['/v1/extract/async'].post.requestBody.required, true);
    assert.equal(s.type, 'object');
    assert.deepEqual(s.required, ['url']);
    assert.notEqual(s.additionalProperties, false, 'unknown fields are ignored, not refused');
    const zodShape = extractRequestSchema({ allowPrivateNetworks: false }).shape;
    assert.deepEqual(Object.keys(s.properties).sort(), Object.keys(zodShape).sort());
    assert.equal(s.properties.maxPages.type, 'integer');
    assert.equal(s.properties.maxPages.maximum, maxPagesLimit(stack.config.crawl));
    assert.equal(s.properties.urls.minItems, 1);
  });

  test('the document and the validation agree on sample bodies', () => {
    const schema = extractRequestSchema({ allowPrivateNetworks: false, maxPages: maxPagesLimit(stack.config.crawl) });
    const url = 'https://example.com/a';
    const bodies: unknown[] = [
      {},
      { url },
      { url, maxPages: 1 },
      { url, maxPages: 20 },
      { url, maxPages: 21 },
      { url, maxPages: maxPagesLimit(stack.config.crawl) + 1 },
      { url, maxPages: 0 },
      { url, maxPages: 2.5 },
      { url, maxPages: '3' },
      { url, singlePage: true },
      { url, singlePage: 'yes' },
      { url, includePatterns: ['/docs/*'] },
      { url, includePatterns: [''] },
      { url, excludePatterns: Array.from({ length: 21 }, (_, i) => `/p${i}`) },
      { url, urls: [] },
      { url, urls: [url, 'https://example.org/'] },
      { url, callbackUrl: 'https://hooks.example.com/x' },
      { url, extra: 1 },
      { url: 42 },
      { url: `https://example.com/${'a'.repeat(2100)}` },
      { maxPages: 3 },
      [url],
      'url',
    ];
    for (const body of bodies) {
      assert.equal(validates(bodySchema(), body), schema.safeParse(body).success, `disagree on ${JSON.stringify(body).slice(0, 80)}`);
    }
  });

  test('and the API answers the same way: a body without url is a 400 naming url', async () => {
    assert.ok(bodySchema().required.includes('url'));
    const res = await stack.request('POST', '/v1/extract/async', { body: { maxPages: 2 } });
    assert.equal(res.status, 400);
    assert.deepEqual((errorDetails(res.body) as any).map((d: { field: string }) => d.field), ['url']);
  });
});

describe('GET /docs', () => {
  test('is public HTML that links the document and lists every route', async () => {
    const res = await fetch(`${stack.baseUrl}/docs`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    const page = await res.text();
    assert.match(page, /<a href="\/v1\/openapi.json">/);
    assert.match(page, /<html lang="en">/);
    for (const [p, ops] of Object.entries(buildOpenApi({ allowPrivateNetworks: false }).paths as Record<string, Record<string, unknown>>)) {
      const express = p.replace(/\{(\w+)\}/g, ':$1');
      for (const method of Object.keys(ops)) assert.ok(page.includes(`<td class="m">${method.toUpperCase()}</td><th scope="row"><code>${express}</code>`), `${method} ${p} missing from /docs`);
    }
  });
});

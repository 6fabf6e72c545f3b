// GET /v1/openapi.json (OpenAPI 3.1) and GET /docs (a short human page), both
// public. Each router describes its own routes beside it (server/routes/
// *.openapi.ts, server/firecrawl/openapi.ts): request schemas are the very zod
// schemas the routes validate with, and response shapes the zod schemas their
// views are typed from. This module puts the routes together and turns the
// schemas into JSON Schema with zod 4's z.toJSONSchema.
import { Router } from 'express';
import { z } from 'zod';
import { html, raw } from './dashboard/html.js';
import { firecrawlRouteSpecs } from './firecrawl/openapi.js';
import type { RouteSpec, RouteSpecOptions } from './routeSpec.js';
import { crawlPagesRouteSpecs } from './routes/crawlPages.openapi.js';
import { extractRouteSpecs } from './routes/extract.openapi.js';
import { jobsRouteSpecs } from './routes/jobs.openapi.js';
import { knowledgesdkRouteSpecs } from './routes/knowledgesdk.openapi.js';
import { scrapeRouteSpecs } from './routes/scrape.openapi.js';
import { searchRouteSpecs } from './routes/search.openapi.js';
import { webhooksRouteSpecs } from './routes/webhooks.openapi.js';
import { jobIdSchema } from './schemas.js';

const health = z.object({ status: z.string(), reason: z.string().optional() }).meta({ id: 'Health' });

/** The service's own routes: this description, health and metrics. */
const serviceRouteSpecs: RouteSpec[] = [
  {
    method: 'get',
    path: '/v1/openapi.json',
    tag: 'service',
    auth: false,
    summary: 'This description (OpenAPI 3.1)',
    responses: { '200': { description: 'the OpenAPI document', contentType: 'application/json' } },
  },
  {
    method: 'get',
    path: '/healthz',
    tag: 'service',
    auth: false,
    summary: 'The process is up',
    responses: { '200': { description: 'up', schema: health } },
  },
  {
    method: 'get',
    path: '/readyz',
    tag: 'service',
    auth: false,
    summary: 'The database is reachable and migrations are applied',
    responses: { '200': { description: 'ready', schema: health }, '503': { description: 'not ready', schema: health } },
  },
  {
    method: 'get',
    path: '/metrics',
    tag: 'service',
    auth: false,
    summary: 'Prometheus metrics (bearer METRICS_TOKEN when set)',
    responses: { '200': { description: 'text exposition format', contentType: 'text/plain' }, '401': { description: 'METRICS_TOKEN is set and was not presented' } },
  },
];

/** Every route the app serves, in the order /docs lists them. */
export function routeSpecs(opts: RouteSpecOptions): RouteSpec[] {
  return [
    ...extractRouteSpecs(opts),
    ...scrapeRouteSpecs(opts),
    ...knowledgesdkRouteSpecs(opts),
    ...searchRouteSpecs,
    ...jobsRouteSpecs(opts),
    ...crawlPagesRouteSpecs,
    ...webhooksRouteSpecs(opts),
    ...serviceRouteSpecs,
    ...firecrawlRouteSpecs(opts),
  ];
}

// ---------------------------------------------------------------------------
// Building the document

type JsonSchema = Record<string, unknown>;

/** express `/v1/jobs/:jobId` → OpenAPI `/v1/jobs/{jobId}` */
export const toOpenApiPath = (p: string) => p.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');

const pathParamSchemas: Record<string, { schema: z.ZodType; description: string }> = {
  jobId: { schema: jobIdSchema, description: 'a job id from POST /v1/extract/async (job_…)' },
};

/**
 * Refer to components instead of local $defs and drop the ±2^53 bounds zod
 * gives every integer; for responses, also drop additionalProperties: false
 * (new fields may be added to responses without a new version).
 */
function tidy(value: unknown, io: 'input' | 'output', key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => tidy(v, io));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  const isMap = key === 'properties' || key === '$defs';
  for (const [k, v] of Object.entries(value)) {
    if (isMap) out[k] = tidy(v, io);
    else if (k === '$ref' && typeof v === 'string') out[k] = v.replace(/^#\/\$defs\//, '#/components/schemas/');
    else if ((k === 'minimum' || k === 'maximum') && Math.abs(Number(v)) === Number.MAX_SAFE_INTEGER) continue;
    else if (io === 'output' && k === 'additionalProperties' && v === false) continue;
    else out[k] = tidy(v, io, k);
  }
  return out;
}

export function buildOpenApi(opts: { allowPrivateNetworks: boolean; maxPages?: number; version?: string }): Record<string, unknown> {
  const components: Record<string, JsonSchema> = {};

  // Named shapes (.meta({id})) become components/schemas and are referenced.
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const out = tidy(z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'any' }), io) as JsonSchema;
    const defs = out.$defs as Record<string, JsonSchema> | undefined;
    if (defs) for (const [id, def] of Object.entries(defs)) components[id] ??= def;
    delete out.$defs;
    delete out.$schema;
    return out;
  };

  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routeSpecs(opts)) {
    const parameters: unknown[] = [];
    for (const name of [...r.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!)) {
      const p = pathParamSchemas[name];
      parameters.push({ name, in: 'path', required: true, description: p?.description, schema: p ? convert(p.schema, 'input') : { type: 'string' } });
    }
    if (r.query) {
      const q = convert(r.query, 'input');
      const required = new Set((q.required as string[] | undefined) ?? []);
      for (const [name, schema] of Object.entries((q.properties as Record<string, JsonSchema>) ?? {})) {
        parameters.push({ name, in: 'query', required: required.has(name), schema });
      }
    }
    for (const [name, h] of Object.entries(r.headers ?? {})) {
      parameters.push({ name, in: 'header', required: false, description: h.description, schema: convert(h.schema, 'input') });
    }
    const responses: Record<string, unknown> = {};
    for (const [status, spec] of Object.entries(r.responses)) {
      responses[status] = {
        description: spec.description,
        ...(spec.headers ? { headers: Object.fromEntries(Object.entries(spec.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) } : {}),
        ...(spec.schema ? { content: { [spec.contentType ?? 'application/json']: { schema: convert(spec.schema, 'output') } } } : spec.contentType ? { content: { [spec.contentType]: {} } } : {}),
      };
    }
    const operation: Record<string, unknown> = {
      operationId: `${r.method}${toOpenApiPath(r.path).replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      summary: r.summary,
      ...(r.description ? { description: r.description } : {}),
      tags: [r.tag],
      ...(parameters.length ? { parameters } : {}),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: convert(r.body, 'input') } } } } : {}),
      responses,
      security: r.auth ? [{ apiKeyHeader: [] }, { bearer: [] }] : [],
    };
    (paths[toOpenApiPath(r.path)] ??= {})[r.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Gleaner API',
      version: opts.version ?? '0.1.0',
      description: 'Turns web pages into searchable knowledge as background jobs. Submit a URL, poll the job (or receive a signed webhook), read the extracted Markdown and text.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: [
      { name: 'jobs', description: 'Submit, read, cancel and retry extraction jobs' },
      { name: 'webhooks', description: 'Signed callbacks (Standard Webhooks) and their delivery log' },
      { name: 'knowledgesdk', description: 'KnowledgeSDK’s routes, in the shapes its official Node client reads' },
      { name: 'firecrawl', description: 'Firecrawl’s API (v1 and v2) under /firecrawl, in the shapes @mendable/firecrawl-js reads; errors are {success: false, error}' },
      { name: 'service', description: 'Health, metrics and this description' },
    ],
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: {
        apiKeyHeader: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'an API key (knowledgesdk_live_…, or the same key as sk_ks_…)' },
        bearer: { type: 'http', scheme: 'bearer', description: 'the same API key as Authorization: Bearer <key>' },
      },
    },
  };
}

// ---------------------------------------------------------------------------
// Routes

function docsPage(specs: RouteSpec[]) {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gleaner API</title>
<style>${raw(`body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1b1f24}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.92em}table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
thead th{font-size:.85rem;color:#57606a}.m{font-weight:700;font-family:ui-monospace,Menlo,monospace}.wrap{overflow-x:auto}a{color:#0b5cad}`)}</style>
</head><body>
<header><h1>Gleaner API</h1></header>
<main>
<p>The machine-readable description is <a href="/v1/openapi.json"><code>/v1/openapi.json</code></a> (OpenAPI 3.1, generated from the schemas the server validates requests with). Load it into any OpenAPI tool to browse it or generate a client.</p>
<p>Routes marked “key” need an API key, in <code>x-api-key</code> or as <code>Authorization: Bearer &lt;key&gt;</code>. Errors are JSON: <code>{"statusCode", "error", "message", "code", "details"}</code>.</p>
<h2>Routes</h2>
<div class="wrap"><table>
<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What it does</th><th scope="col">Auth</th></tr></thead>
<tbody>${specs.map((r) => html`<tr><td class="m">${r.method.toUpperCase()}</td><th scope="row"><code>${r.path}</code></th><td>${r.summary}</td><td>${r.auth ? 'key' : 'none'}</td></tr>`)}</tbody>
</table></div>
</main></body></html>`;
}

export function openapiRouter(opts: { allowPrivateNetworks: boolean; maxPages?: number }): Router {
  const router = Router();
  let document: string | undefined;
  const specs = routeSpecs(opts);
  const page = docsPage(specs).text;

  router.get('/v1/openapi.json', (_req, res) => {
    document ??= JSON.stringify(buildOpenApi(opts), null, 2);
    res.setHeader('cache-control', 'public, max-age=300');
    res.setHeader('access-control-allow-origin', '*');
    res.type('application/json').send(document);
  });

  router.get('/docs', (_req, res) => {
    res.setHeader('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'");
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'public, max-age=300');
    res.type('html').send(page);
  });
  return router;
}

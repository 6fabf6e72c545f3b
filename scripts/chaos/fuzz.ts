// Property-based fuzzing of a running API with fast-check: generated methods,
// paths, queries, headers and bodies (plausible requests with one field
// wrong, arbitrary JSON, malformed text, invalid UTF-8, oversized bodies,
// wrong content types). What must hold for every request: no 5xx; every 4xx
// is JSON {error: {code, message}}; a body over the limit is 413; a body that
// is not JSON is 415; a /v1 request without a valid key is 401.
// Used by spec/fuzz.test.ts (in-process API) and the fuzz-api chaos scenario
// (the real server process).
import http from 'node:http';
import fc from 'fast-check';

export interface FuzzTarget {
  baseUrl: string;
  /** A valid API key. */
  key: string;
  /** The API's API_BODY_LIMIT_BYTES. */
  bodyLimitBytes: number;
  /** Ids of jobs the key owns, so job routes get real ids too. */
  jobIds: string[];
}

export interface FuzzOutcome {
  requests: number;
  /** Requests node's client refused to send (invalid characters in a path or header). */
  unsendable: number;
  statuses: Map<number, number>;
  violations: string[];
  violationCount: number;
  oversized: number;
  wrongType: number;
  ms: number;
}

interface FuzzRequest {
  method: string;
  path: string;
  auth: { kind: 'valid' | 'bearer' | 'none' | 'wrong' | 'garbage'; value: string };
  contentType: string | null;
  contentEncoding: string | null;
  idempotencyKey: string | null;
  requestId: string | null;
  body: { kind: 'none' | 'json' | 'text' | 'bytes' | 'oversized'; data: Buffer };
}

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']);

function arbitraries(target: FuzzTarget) {
  const jobId = fc.oneof(fc.constantFrom(...(target.jobIds.length ? target.jobIds : ['job_none'])), fc.stringMatching(/^job_[0-9A-Za-z]{1,70}$/), fc.string({ maxLength: 40 }));
  const segment = fc.oneof(
    jobId.map(encodeURIComponent),
    fc.webSegment(),
    fc.constantFrom('%', '%E0%A4%A', '%00', '..', '%2e%2e', '%2F', '.', '', 'job_', '%ff%fe', '~', '*', ';x=1', 'job_abc%20def'),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
  );
  const knownRoute = fc.oneof(
    fc.constantFrom('/v1/extract/async', '/v1/jobs', '/v1/webhooks/secret', '/v1/webhooks/secret/rotate', '/healthz', '/readyz', '/metrics', '/', '/v1', '/v1/', '/V1/JOBS', '/v2/extract/async', '/v1/extract/async/'),
    fc.tuple(segment, fc.constantFrom('', '/events', '/cancel', '/retry', '/deliveries', '/redeliver', '/unknown')).map(([id, tail]) => `/v1/jobs/${id}${tail}`),
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
    fc.array(segment, { maxLength: 6 }).map((s) => `/v1/${s.join('/')}`),
  );
  const query = fc.option(
    fc.oneof(
      fc.constantFrom('status=completed', 'status=bogus', 'status=', 'limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1e3', 'limit=20&limit=30', 'status=pending&status=failed', 'cursor=', 'cursor=%00', 'cursor=eyJ4IjoxfQ', 'x=1', '__proto__=1', 'constructor[prototype]=1'),
      fc.tuple(fc.webSegment(), fc.string({ maxLength: 600 })).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
      fc.webQueryParameters(),
    ),
    { freq: 2 },
  );
  const path = fc.tuple(knownRoute, query).map(([p, q]) => (q === null ? p : `${p}?${q}`));

  const wrongKey = fc.stringMatching(/^knowledgesdk_live_[0-9A-Za-z]{40}$/);
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constant({ kind: 'valid' as const, value: target.key }) },
    { weight: 3, arbitrary: fc.constantFrom('Bearer ', 'bearer ', 'BEARER  ').map((p) => ({ kind: 'bearer' as const, value: `${p}${target.key}` })) },
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const, value: '' }) },
    { weight: 2, arbitrary: wrongKey.map((value) => ({ kind: 'wrong' as const, value })) },
    {
      weight: 2,
      arbitrary: fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('Bearer', 'Basic dXNlcjpwYXNz', 'Bearer  ', `${target.key} `, target.key.slice(0, -1), `${target.key}x`)).map((value) => ({ kind: 'garbage' as const, value })),
    },
  );

  const url = fc.oneof(
    fc.constantFrom('https://example.com/', 'http://example.org/a?b=c', 'https://example.com/' + 'a'.repeat(3000), 'ftp://example.com/', 'javascript:alert(1)', 'http://127.0.0.1/', 'http://[::1]/', 'http://user:pw@example.com/', 'http://', '', 'https://exa mple.com/', 'http://0x7f.1/', 'file:///etc/passwd', 'https://例え.jp/'),
    fc.webUrl(),
    fc.string({ maxLength: 100 }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const extractBody = fc.record(
    {
      url,
      callbackUrl: fc.oneof(url, fc.constant(undefined)),
      maxPages: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double(), fc.string({ maxLength: 5 }), fc.constant(null)),
      singlePage: fc.oneof(fc.boolean(), fc.constantFrom('true', 0, 1, null)),
      includePatterns: fc.oneof(fc.array(fc.string({ maxLength: 250 }), { maxLength: 25 }), fc.string()),
      excludePatterns: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
      urls: fc.oneof(fc.array(url, { maxLength: 25 }), fc.constant([])),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: [] },
  );
  const body = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const, data: Buffer.alloc(0) }) },
    { weight: 8, arbitrary: extractBody.map((b) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(b)) })) },
    {
      weight: 3,
      arbitrary: fc
        .record({ url: fc.webSegment().map((s) => `https://example.com/${s}`), callbackUrl: fc.option(fc.constant('https://example.org/hook'), { nil: undefined }), singlePage: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['url'] })
        .map((b) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(b)) })),
    },
    { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(v) ?? 'null') })) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), fc.constantFrom('{', '{"url":', '[1,2', '{"url":"https://example.com/",}', 'null', '"str"', '1e999999', '{"a":' + '['.repeat(5000), '\u0000', 'true', '{"__proto__":{"x":1}}', '{"url":"https://example.com/","url":"http://127.0.0.1/"}'))
        .map((s) => ({ kind: 'text' as const, data: Buffer.from(s) })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 300 }).map((b) => ({ kind: 'bytes' as const, data: Buffer.from(b) })) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: target.bodyLimitBytes + 1, max: target.bodyLimitBytes * 3 }).map((n) => ({
        kind: 'oversized' as const,
        // Exactly n bytes: the JSON wrapper around the padding is 39 bytes.
        data: Buffer.from(JSON.stringify({ url: 'https://example.com/', pad: 'x'.repeat(n - 39) })),
      })),
    },
  );

  return fc.record<FuzzRequest>({
    method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 4, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE') }),
    path: fc.oneof({ weight: 3, arbitrary: fc.constant('/v1/extract/async') }, { weight: 5, arbitrary: path }),
    auth,
    contentType: fc.oneof(
      { weight: 8, arbitrary: fc.constant('application/json') },
      { weight: 1, arbitrary: fc.constant(null) },
      {
        weight: 3,
        arbitrary: fc.constantFrom('application/json; charset=utf-8', 'application/json;charset=UTF-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=latin1', 'application/json; charset=utf-16', 'application/vnd.api+json', '*/*', 'garbage', 'text/html; charset=bogus', 'application/xml'),
      },
    ),
    contentEncoding: fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus', 'gzip, gzip') }),
    idempotencyKey: fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom('same-key', '')), { freq: 4 }),
    requestId: fc.option(fc.string({ maxLength: 120 }), { freq: 4 }),
    body: body,
  });
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(baseUrl: string, r: FuzzRequest): Promise<{ status: number; contentType: string; text: string } | 'unsendable'> {
  const headers: Record<string, string> = {};
  if (r.auth.kind === 'valid' || r.auth.kind === 'wrong') headers['x-api-key'] = r.auth.value;
  else if (r.auth.kind === 'bearer' || r.auth.kind === 'garbage') headers.authorization = r.auth.value;
  if (r.contentType !== null) headers['content-type'] = r.contentType;
  if (r.contentEncoding !== null) headers['content-encoding'] = r.contentEncoding;
  if (r.idempotencyKey !== null) headers['idempotency-key'] = r.idempotencyKey;
  if (r.requestId !== null) headers['x-request-id'] = r.requestId;
  if (r.body.kind !== 'none') headers['content-length'] = String(r.body.data.length);
  return new Promise((resolve, reject) => {
    let req: http.ClientRequest;
    try {
      // The path as generated, not through WHATWG URL parsing (which would resolve %2e%2e and friends client-side).
      const base = new URL(baseUrl);
      req = http.request({ hostname: base.hostname, port: base.port, path: r.path, method: r.method, headers, agent, timeout: 15_000 });
    } catch {
      return resolve('unsendable');
    }
    req.on('timeout', () => req.destroy(new Error('no response within 15 s')));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.end(r.body.kind === 'none' ? undefined : r.body.data);
  });
}

/** What the API must answer to `r`, or null when anything non-5xx will do. */
function expectedStatus(r: FuzzRequest): number | null {
  const pathname = r.path.split('?')[0]!;
  if (!/^\/v1(\/|$)/i.test(pathname)) return null;
  const keyOk = r.auth.kind === 'valid' || (r.auth.kind === 'bearer' && /^bearer\s+/i.test(r.auth.value));
  if (!keyOk) return r.auth.kind === 'garbage' ? null : 401; // garbage may be the key with spaces, which passes
  if (r.body.data.length === 0 || r.contentEncoding !== null) return null;
  if (r.contentType === null || !/^application\/json/i.test(r.contentType) || /vnd|\+json/.test(r.contentType)) return 415;
  if (!JSON_TYPES.has(r.contentType)) return null; // odd charsets: 415, checked by the 4xx shape only
  if (r.body.kind === 'oversized') return 413;
  return null;
}

const describe = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 120)} auth=${r.auth.kind} type=${r.contentType} enc=${r.contentEncoding} idempotency-key=${JSON.stringify(r.idempotencyKey)} x-request-id=${JSON.stringify(r.requestId)} body=${r.body.kind}(${r.body.data.length} B):${r.body.data.subarray(0, 60).toString('utf8')}`;

export async function fuzzApi(target: FuzzTarget, opts: { numRuns: number; seed?: number }): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { requests: 0, unsendable: 0, statuses: new Map(), violations: [], violationCount: 0, oversized: 0, wrongType: 0, ms: 0 };
  const started = Date.now();
  const violation = (text: string) => {
    outcome.violationCount++;
    if (outcome.violations.length < 10) outcome.violations.push(text);
  };
  await fc.assert(
    fc.asyncProperty(arbitraries(target), async (r) => {
      let res: Awaited<ReturnType<typeof send>>;
      try {
        res = await send(target.baseUrl, r);
      } catch (err) {
        violation(`${describe(r)} → no response: ${(err as Error).message}`);
        return;
      }
      if (res === 'unsendable') {
        outcome.unsendable++;
        return;
      }
      outcome.requests++;
      outcome.statuses.set(res.status, (outcome.statuses.get(res.status) ?? 0) + 1);
      const expected = expectedStatus(r);
      if (expected === 413) outcome.oversized++;
      if (expected === 415) outcome.wrongType++;
      if (res.status >= 500) return violation(`${describe(r)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (expected !== null && res.status !== expected) return violation(`${describe(r)} → ${res.status}, expected ${expected}: ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && r.method !== 'HEAD') {
        let body: any;
        try {
          body = JSON.parse(res.text);
        } catch {
          return violation(`${describe(r)} → ${res.status} not JSON (${res.contentType}): ${res.text.slice(0, 200)}`);
        }
        const e = body?.error;
        if (!/application\/json/.test(res.contentType) || typeof e?.code !== 'string' || !e.code || typeof e?.message !== 'string' || !e.message) {
          return violation(`${describe(r)} → ${res.status} without {error:{code,message}}: ${res.text.slice(0, 200)}`);
        }
      }
    }),
    { numRuns: opts.numRuns, ...(opts.seed === undefined ? {} : { seed: opts.seed }), endOnFailure: true },
  );
  outcome.ms = Date.now() - started;
  return outcome;
}

export const statusSummary = (o: FuzzOutcome) =>
  [...o.statuses]
    .sort((a, b) => a[0] - b[0])
    .map(([s, n]) => `${n}×${s}`)
    .join(', ');

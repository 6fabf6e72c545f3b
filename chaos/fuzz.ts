// Property-based fuzzing of a running API with fast-check: generated methods,
// paths, queries, headers and bodies for every route (extract, sync extract,
// scrape, search, jobs, webhooks, metrics), with full-Unicode text (astral
// characters, U+0000, unpaired surrogates), plausible requests with exactly
// one field wrong, arbitrary JSON, malformed text, invalid UTF-8, oversized
// bodies, wrong content types. What must hold for every request: no 5xx;
// every 4xx is JSON {statusCode, error, message, code, details}; every
// validation_error lists details [{field, message}] whose fields exist in the
// request or the route's schema; a request with one field wrong is a 400 naming
// that field; a valid request with an unknown field added is not a 400 (unknown
// fields are ignored, unless their name is text PostgreSQL cannot store); a body
// over the limit is 413; a body that is not JSON is 415; a /v1 request without
// a valid key is 401.
// Used by spec/fuzz.test.ts (in-process API) and the fuzz-api chaos scenario
// (the real server process). Generated URLs use the reserved .invalid TLD (or
// loopback), so a valid /v1/scrape request never reaches the internet.
import http from 'node:http';
import querystring from 'node:querystring';
import fc from 'fast-check';

export interface FuzzTarget {
  baseUrl: string;
  /** A valid API key. */
  key: string;
  /** The API's API_BODY_LIMIT_BYTES. */
  bodyLimitBytes: number;
  /** Ids of jobs the key owns, so job routes get real ids too. */
  jobIds: string[];
  /** Ids of account webhooks (/v1/webhooks) the key owns, so their routes get real ids too. */
  webhookIds?: string[];
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
  /** Requests with exactly one field wrong (each must be a 400 naming it), by route. */
  oneFieldWrong: Map<string, number>;
  /** Requests per route (method and path without query), for coverage. */
  routes: Map<string, number>;
  /** Valid requests sent with an unknown field added (which must be ignored). */
  unknownFields: number;
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
  /** Set for a valid request with one field made wrong: the field the 400 must name. */
  wrongField: string | null;
  /** Set for a valid request with an unknown field added: that field, which must be ignored (no 400). */
  ignoredField?: string | null;
}

const hasBadText = (text: string) => text.includes('\u0000') || /[\uD800-\uDFFF]/u.test(text);

// Full-Unicode text: any code point (astral included), an unpaired surrogate
// now and then, and a few characters that trip up storage and display.
const anyUnit = fc.oneof(
  { weight: 12, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('\u0000', '\uFEFF', '\u202E', '\u200B', '\uFFFD', '\uFFFF', '\r\n', '%00', '\\') },
);
const anyText = (maxLength: number) => fc.string({ unit: anyUnit, maxLength });
/** encodeURIComponent, which throws on an unpaired surrogate: UTF-8 cannot carry one, so it goes as U+FFFD. */
const encode = (text: string) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/gu, '\uFFFD'));
/** Text PostgreSQL cannot store: contains U+0000 or an unpaired surrogate (fenced by 'x' so it cannot pair up). */
const badText = fc.tuple(anyText(20), fc.constantFrom('\u0000', 'x\uD800x', 'x\uDBFFx', 'x\uDC00x', 'x\uDFFFx'), anyText(20)).map(([a, b, c]) => a + b + c);

/** Every field a route's schema knows, at any depth (an index stands for any array element). */
const KNOWN_FIELDS = new Set(['url', 'callbackUrl', 'maxPages', 'singlePage', 'includePatterns', 'excludePatterns', 'urls', 'query', 'limit', 'filters', 'categories', 'urlPrefixes', 'jobIds', 'status', 'cursor', 'events', 'displayName', 'webhookId']);
/** Where a problem is named when it is not one field: the whole body or query, a header, a path parameter. */
const LOCATIONS = new Set(['body', 'query', 'Idempotency-Key', 'jobId']);

type Json = unknown;
const set = (base: Record<string, Json>, path: (string | number)[], value: Json): Record<string, Json> => {
  const copy = structuredClone(base) as Record<string, any>;
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  node[path.at(-1)!] = value;
  return copy;
};

/** A valid request of each body-taking route, and what can be made wrong in it. */
function oneFieldWrong(target: FuzzTarget) {
  const badUrl = fc.oneof(badText.map((t) => `https://example.invalid/${t}`), badText, fc.constantFrom(123, null, [], {}, true, '', 'ftp://example.invalid/', 'javascript:alert(1)', 'https://exa mple.invalid/', `https://example.invalid/${'a'.repeat(2100)}`));
  const badPattern = fc.oneof(badText, fc.constantFrom('', 'a'.repeat(201), 5, null));
  const extractBase = { url: 'https://site.invalid/docs', callbackUrl: 'https://hooks.invalid/h', maxPages: 5, singlePage: false, includePatterns: ['/docs/*'], excludePatterns: ['/docs/old/**'], urls: ['https://site.invalid/a'] };
  const extractCases = [
    { field: 'url', path: ['url'], bad: badUrl },
    { field: 'callbackUrl', path: ['callbackUrl'], bad: badUrl },
    { field: 'maxPages', path: ['maxPages'], bad: fc.constantFrom(0, 100_001, -1, 1.5, '3', true, null) }, // 100,001: over any server's limit
    { field: 'singlePage', path: ['singlePage'], bad: fc.constantFrom('true', 1, 0, null, 'yes') },
    { field: 'includePatterns.0', path: ['includePatterns', 0], bad: badPattern },
    { field: 'includePatterns', path: ['includePatterns'], bad: fc.constantFrom('/docs/*', 7, null, Array.from({ length: 21 }, (_, i) => `/p${i}`)) },
    { field: 'excludePatterns.0', path: ['excludePatterns', 0], bad: badPattern },
    { field: 'urls.0', path: ['urls', 0], bad: badUrl },
    { field: 'urls', path: ['urls'], bad: fc.constantFrom([], 'https://site.invalid/a', null) },
  ];
  const unknownKey = fc.oneof(anyText(12), badText).filter((k) => k.length > 0 && k !== '__proto__' && !KNOWN_FIELDS.has(k));
  const searchBase = { query: 'pricing plans', limit: 5, filters: { categories: ['pricing'], urlPrefixes: ['https://site.invalid/'], jobIds: ['job_abc123'] } };
  const searchCases = [
    { field: 'query', path: ['query'], bad: fc.oneof(badText, fc.constantFrom('', '   ', 5, null, 'q'.repeat(1001))) },
    { field: 'limit', path: ['limit'], bad: fc.constantFrom(0, 51, 2.5, '10', null) },
    { field: 'filters', path: ['filters'], bad: fc.constantFrom('pricing', 3, []) },
    { field: 'filters.categories.0', path: ['filters', 'categories', 0], bad: fc.oneof(badText, fc.constantFrom('nope', '', 4)) },
    { field: 'filters.urlPrefixes.0', path: ['filters', 'urlPrefixes', 0], bad: fc.oneof(badText, fc.constantFrom('', 9)) },
    { field: 'filters.jobIds.0', path: ['filters', 'jobIds', 0], bad: fc.oneof(badText, fc.constantFrom('nope', 'job_', '')) },
  ];
  const scrapeCases = [{ field: 'url', path: ['url'], bad: badUrl }];
  // Account webhooks: a subscription, and the message a redelivery names (the job's or the webhook's; the id is the key's own).
  const webhookBase = { url: 'https://hooks.invalid/h', events: ['EXTRACTION_COMPLETED', 'PAGE_UPDATED'], displayName: 'fuzz hook' };
  const webhookCases = [
    { field: 'url', path: ['url'], bad: badUrl },
    { field: 'events', path: ['events'], bad: fc.constantFrom([], 'EXTRACTION_COMPLETED', null, 7, Array.from({ length: 11 }, () => 'PAGE_SCRAPED')) },
    { field: 'events.0', path: ['events', 0], bad: fc.oneof(badText, fc.constantFrom('NOPE', 'extraction_completed', '', 5, null, [])) },
    { field: 'displayName', path: ['displayName'], bad: fc.oneof(badText, fc.constantFrom(7, null, true, 'd'.repeat(201))) },
  ];
  const redeliverCases = [{ field: 'webhookId', path: ['webhookId'], bad: fc.oneof(badText, fc.constantFrom('', 'msg_', 'msg_a-b', 'wh_abc', `msg_${'a'.repeat(65)}`, 5, null)) }];
  const redeliverBase = { webhookId: 'msg_0000000000000000000000' };
  const bodyCase = (route: string, base: Record<string, Json>, cases: { field: string; path: (string | number)[]; bad: fc.Arbitrary<Json> }[]) =>
    fc.oneof(
      { weight: cases.length, arbitrary: fc.constantFrom(...cases).chain((c) => c.bad.map((bad) => ({ route, body: set(base, c.path, bad), field: c.field }))) },
      // An unknown field is ignored; one whose name PostgreSQL cannot store is still a 400 naming it.
      { weight: 1, arbitrary: fc.tuple(unknownKey, fc.jsonValue({ maxDepth: 1 })).map(([k, v]) => ({ route, body: { ...base, [k]: v }, field: hasBadText(k) ? k : null, ignored: hasBadText(k) ? null : k })) },
    );
  const bodies = fc.oneof(
    bodyCase('/v1/extract/async', extractBase, extractCases),
    bodyCase('/v1/extract', extractBase, extractCases),
    bodyCase('/v1/scrape', { url: 'https://site.invalid/page' }, scrapeCases),
    bodyCase('/v1/search', searchBase, searchCases),
    bodyCase('/v1/webhooks', webhookBase, webhookCases),
    ...(target.webhookIds ?? []).slice(0, 1).map((id) => bodyCase(`/v1/webhooks/${id}/redeliver`, redeliverBase, redeliverCases)),
    ...target.jobIds.slice(0, 1).map((id) => bodyCase(`/v1/jobs/${id}/redeliver`, redeliverBase, redeliverCases)),
  ).map(({ route, body, field, ...rest }) => ({ method: 'POST', path: route, body: { kind: 'json' as const, data: Buffer.from(JSON.stringify(body)) }, field, ignored: 'ignored' in rest ? (rest.ignored as string | null) : null, idempotencyKey: null as string | null }));
  const queries = fc
    .oneof(
      fc.constantFrom(['status=bogus', 'status'], ['status=', 'status'], ['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=abc', 'limit'], ['cursor=a%00b', 'cursor']),
      badText.map((t) => [`cursor=${encode(t)}`, 'cursor']),
      unknownKey.filter((k) => !/[\uD800-\uDFFF]/u.test(k)).map((k) => [`limit=5&${encode(k)}=1`, k, 'unknown']),
    )
    .map(([q, field, unknown]) => {
      const ignored = unknown !== undefined && !hasBadText(field!);
      return { method: 'GET', path: `/v1/jobs?${q}`, body: { kind: 'none' as const, data: Buffer.alloc(0) }, field: ignored ? null : field!, ignored: ignored ? field! : null, idempotencyKey: null as string | null };
    });
  const idempotency = fc
    .constantFrom('', 'k'.repeat(256))
    .map((key) => ({ method: 'POST', path: '/v1/extract/async', body: { kind: 'json' as const, data: Buffer.from(JSON.stringify(extractBase)) }, field: 'Idempotency-Key' as string | null, ignored: null as string | null, idempotencyKey: key as string | null }));
  return fc.oneof({ weight: 8, arbitrary: bodies }, { weight: 2, arbitrary: queries }, { weight: 1, arbitrary: idempotency });
}

const JSON_TYPES = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8']);

function arbitraries(target: FuzzTarget) {
  const jobId = fc.oneof(fc.constantFrom(...(target.jobIds.length ? target.jobIds : ['job_none'])), fc.stringMatching(/^job_[0-9A-Za-z]{1,70}$/), fc.string({ maxLength: 40 }), anyText(40));
  const segment = fc.oneof(
    jobId.map(encode),
    fc.webSegment(),
    fc.constantFrom('%', '%E0%A4%A', '%00', '..', '%2e%2e', '%2F', '.', '', 'job_', '%ff%fe', '~', '*', ';x=1', 'job_abc%20def'),
    fc.string({ unit: 'grapheme', maxLength: 30 }).map(encodeURIComponent),
    // encodeURIComponent refuses unpaired surrogates: percent-encode the UTF-16 units' bytes as they are
    anyText(30).map((t) => Array.from(Buffer.from(t, 'utf16le'), (b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  );
  const knownRoute = fc.oneof(
    fc.constantFrom('/v1/extract/async', '/v1/extract', '/v1/scrape', '/v1/search', '/v1/jobs', '/v1/webhooks/secret', '/v1/webhooks/secret/rotate', '/v1/openapi.json', '/healthz', '/readyz', '/metrics', '/', '/v1', '/v1/', '/V1/JOBS', '/v2/extract/async', '/v1/extract/async/', '/v1/scrape/', '/v1/search?x=1'),
    fc.tuple(segment, fc.constantFrom('', '/events', '/cancel', '/retry', '/deliveries', '/redeliver', '/unknown')).map(([id, tail]) => `/v1/jobs/${id}${tail}`),
    fc.tuple(fc.oneof(fc.constantFrom(...(target.webhookIds?.length ? target.webhookIds : ['wh_none'])), segment), fc.constantFrom('', '/test', '/deliveries', '/redeliver')).map(([id, tail]) => `/v1/webhooks/${id}${tail}`),
    fc.webPath().map((p) => (p.startsWith('/') ? p : `/${p}`)),
    fc.array(segment, { maxLength: 6 }).map((s) => `/v1/${s.join('/')}`),
  );
  const query = fc.option(
    fc.oneof(
      fc.constantFrom('status=completed', 'status=bogus', 'status=', 'limit=0', 'limit=101', 'limit=-1', 'limit=abc', 'limit=1e3', 'limit=20&limit=30', 'status=pending&status=failed', 'cursor=', 'cursor=%00', 'cursor=eyJ4IjoxfQ', 'x=1', '__proto__=1', 'constructor[prototype]=1'),
      fc.tuple(fc.webSegment(), fc.string({ maxLength: 600 })).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`),
      fc.tuple(fc.constantFrom('status', 'limit', 'cursor', 'x'), anyText(60)).map(([k, v]) => `${k}=${encode(v)}`),
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
      arbitrary: fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 60 }), fc.constantFrom('Bearer', 'Basic dXNlcjpwYXNz', 'Bearer  ', `${target.key} `, target.key.slice(0, -1), `${target.key}x`)).map((value) => ({ kind: 'garbage' as const, value })),
    },
  );

  // Hosts under .invalid never resolve (RFC 6761) and loopback port 9 refuses: a valid scrape fails fast and offline.
  const url = fc.oneof(
    fc.constantFrom('https://example.invalid/', 'http://example.invalid/a?b=c', 'https://example.invalid/' + 'a'.repeat(3000), 'ftp://example.invalid/', 'javascript:alert(1)', 'http://127.0.0.1:9/', 'http://[::1]:9/', 'http://user:pw@example.invalid/', 'http://', '', 'https://exa mple.invalid/', 'http://0x7f.1:9/', 'file:///etc/passwd', 'https://例え.invalid/', 'https://example.invalid/😀/ß'),
    fc.tuple(fc.domain(), fc.webPath()).map(([d, p]) => `https://${d}.invalid${p.startsWith('/') ? p : `/${p}`}`),
    fc.string({ maxLength: 100 }),
    anyText(100),
    anyText(40).map((t) => `https://example.invalid/${t}`),
    fc.jsonValue({ maxDepth: 2 }),
  );
  const extractBody = fc.record(
    {
      url,
      callbackUrl: fc.oneof(url, fc.constant(undefined)),
      maxPages: fc.oneof(fc.integer({ min: -5, max: 30 }), fc.double(), fc.string({ maxLength: 5 }), fc.constant(null)),
      singlePage: fc.oneof(fc.boolean(), fc.constantFrom('true', 0, 1, null)),
      includePatterns: fc.oneof(fc.array(fc.string({ maxLength: 250 }), { maxLength: 25 }), fc.array(anyText(30), { maxLength: 4 }), fc.string()),
      excludePatterns: fc.array(fc.oneof(fc.string({ maxLength: 10 }), anyText(10)), { maxLength: 3 }),
      urls: fc.oneof(fc.array(url, { maxLength: 25 }), fc.constant([])),
      extra: fc.jsonValue({ maxDepth: 2 }),
      query: fc.oneof(anyText(50), fc.string({ maxLength: 1100 }), fc.constant(7)),
      limit: fc.oneof(fc.integer({ min: -5, max: 60 }), fc.constant('5')),
      filters: fc.oneof(fc.record({ categories: fc.array(fc.oneof(fc.constantFrom('pricing', 'docs', 'nope'), anyText(10)), { maxLength: 3 }), urlPrefixes: fc.array(anyText(30), { maxLength: 3 }), jobIds: fc.array(fc.oneof(fc.constant('job_abc'), anyText(10)), { maxLength: 3 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 1 })),
    },
    { requiredKeys: [] },
  );
  const searchBody = fc.record({ query: fc.oneof(anyText(80), fc.constantFrom('pricing', 'enterprise plan', '😀 ß')), limit: fc.option(fc.integer({ min: 1, max: 50 }), { nil: undefined }) }, { requiredKeys: ['query'] });
  const body = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ kind: 'none' as const, data: Buffer.alloc(0) }) },
    { weight: 8, arbitrary: extractBody.map((b) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(b)) })) },
    {
      weight: 3,
      arbitrary: fc
        .record({ url: fc.webSegment().map((s) => `https://example.invalid/${s}`), callbackUrl: fc.option(fc.constant('https://hooks.invalid/hook'), { nil: undefined }), singlePage: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['url'] })
        .map((b) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(b)) })),
    },
    { weight: 2, arbitrary: searchBody.map((b) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(b)) })) },
    { weight: 4, arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3, stringUnit: anyUnit })).map((v) => ({ kind: 'json' as const, data: Buffer.from(JSON.stringify(v) ?? 'null') })) },
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
        data: Buffer.from(JSON.stringify({ url: 'https://example.com/', pad: 'x'.repeat(n - 39) })), // never parsed: over the limit
      })),
    },
  );

  const random = fc.record<FuzzRequest>({
    method: fc.oneof({ weight: 6, arbitrary: fc.constant('POST') }, { weight: 4, arbitrary: fc.constant('GET') }, { weight: 2, arbitrary: fc.constantFrom('PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS', 'TRACE') }),
    path: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('/v1/extract/async', '/v1/extract', '/v1/scrape', '/v1/search') }, { weight: 5, arbitrary: path }),
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
    wrongField: fc.constant(null),
  });
  const targeted = fc.tuple(oneFieldWrong(target), fc.constantFrom('application/json', 'application/json; charset=utf-8'), fc.constantFrom<FuzzRequest['auth']>({ kind: 'valid', value: target.key }, { kind: 'bearer', value: `Bearer ${target.key}` })).map(
    ([c, contentType, auth]): FuzzRequest => ({ method: c.method, path: c.path, auth, contentType: c.body.kind === 'none' ? null : contentType, contentEncoding: null, idempotencyKey: c.idempotencyKey, requestId: null, body: c.body, wrongField: c.field, ignoredField: c.ignored }),
  );
  return fc.oneof({ weight: 3, arbitrary: random }, { weight: 1, arbitrary: targeted });
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

/** The request's parsed query and body, where a named field can be looked up. */
function requestValues(r: FuzzRequest): unknown[] {
  const values: unknown[] = [r.path.includes('?') ? querystring.parse(r.path.slice(r.path.indexOf('?') + 1)) : {}];
  try {
    values.push(JSON.parse(r.body.data.toString('utf8')));
  } catch {}
  return values;
}

/** Whether `field` (a.b.0) is present in value; a name may itself contain dots, so every split is tried. */
function present(value: unknown, field: string): boolean {
  const parts = field.split('.');
  const walk = (node: unknown, i: number): boolean => {
    if (i === parts.length) return true;
    if (node === null || typeof node !== 'object') return false;
    for (let j = i + 1; j <= parts.length; j++) {
      const key = parts.slice(i, j).join('.');
      if (Object.prototype.hasOwnProperty.call(node, key) && walk((node as Record<string, unknown>)[key], j)) return true;
    }
    return false;
  };
  return walk(value, 0);
}

/** Why a validation_error's details do not name fields, or null when they do. */
function unnamedFields(r: FuzzRequest, details: unknown): string | null {
  if (!Array.isArray(details) || details.length === 0) return 'validation_error without details';
  const values = requestValues(r);
  for (const d of details as { field?: unknown; message?: unknown }[]) {
    // (a field may be named "" when the body has a key "")
    if (typeof d?.field !== 'string' || typeof d.message !== 'string' || !d.message) return `a detail without field and message: ${JSON.stringify(d)}`;
    const known = LOCATIONS.has(d.field) || d.field.split('.').every((part) => KNOWN_FIELDS.has(part) || /^\d+$/.test(part)) || values.some((v) => present(v, d.field as string));
    if (!known) return `details name ${JSON.stringify(d.field)}, which is neither in the request nor a field of the route`;
  }
  return null;
}

/** POST /v1/scrape of a valid URL that cannot be fetched (no such host here): 502/504 naming the upstream problem, as documented. */
function upstreamFailure(r: FuzzRequest, res: { status: number; text: string }): boolean {
  if (r.method !== 'POST' || !/^\/v1\/scrape\/?$/i.test(r.path.split('?')[0]!) || (res.status !== 502 && res.status !== 504)) return false;
  try {
    const code = (JSON.parse(res.text) as { code?: string }).code;
    return code === (res.status === 502 ? 'upstream_error' : 'upstream_timeout');
  } catch {
    return false;
  }
}

/** What the API must answer to `r`, or null when anything non-5xx (but a scrape's upstream failure) will do. */
function expectedStatus(r: FuzzRequest): number | null {
  const pathname = r.path.split('?')[0]!;
  if (!/^\/v1(\/|$)/i.test(pathname) || /^\/v1\/openapi\.json$/i.test(pathname)) return null; // the API description is public
  const keyOk = r.auth.kind === 'valid' || (r.auth.kind === 'bearer' && /^bearer\s+/i.test(r.auth.value));
  if (!keyOk) return r.auth.kind === 'garbage' ? null : 401; // garbage may be the key with spaces, which passes
  if (r.body.data.length === 0 || r.contentEncoding !== null) return null;
  if (r.contentType === null || !/^application\/json/i.test(r.contentType) || /vnd|\+json/.test(r.contentType)) return 415;
  if (!JSON_TYPES.has(r.contentType)) return null; // odd charsets: 415, checked by the 4xx shape only
  if (r.body.kind === 'oversized') return 413;
  return null;
}

const describe = (r: FuzzRequest) =>
  `${r.method} ${r.path.slice(0, 120)}${r.wrongField === null ? '' : ` wrong=${JSON.stringify(r.wrongField)}`} auth=${r.auth.kind} type=${r.contentType} enc=${r.contentEncoding} idempotency-key=${JSON.stringify(r.idempotencyKey)} x-request-id=${JSON.stringify(r.requestId)} body=${r.body.kind}(${r.body.data.length} B):${r.body.data.subarray(0, 60).toString('utf8')}`;

export async function fuzzApi(target: FuzzTarget, opts: { numRuns: number; seed?: number }): Promise<FuzzOutcome> {
  const outcome: FuzzOutcome = { requests: 0, unsendable: 0, statuses: new Map(), violations: [], violationCount: 0, oversized: 0, wrongType: 0, oneFieldWrong: new Map(), routes: new Map(), unknownFields: 0, ms: 0 };
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
      const route = `${r.method} ${r.path.split('?')[0]}`;
      outcome.routes.set(route, (outcome.routes.get(route) ?? 0) + 1);
      if (r.wrongField !== null) outcome.oneFieldWrong.set(route, (outcome.oneFieldWrong.get(route) ?? 0) + 1);
      if (r.ignoredField != null) outcome.unknownFields++;
      const expected = expectedStatus(r);
      if (expected === 413) outcome.oversized++;
      if (expected === 415) outcome.wrongType++;
      if (res.status >= 500 && !upstreamFailure(r, res)) return violation(`${describe(r)} → ${res.status} ${res.text.slice(0, 200)}`);
      if (expected !== null && res.status !== expected) return violation(`${describe(r)} → ${res.status}, expected ${expected}: ${res.text.slice(0, 200)}`);
      if (res.status >= 400 && r.method !== 'HEAD') {
        let body: any;
        try {
          body = JSON.parse(res.text);
        } catch {
          return violation(`${describe(r)} → ${res.status} not JSON (${res.contentType}): ${res.text.slice(0, 200)}`);
        }
        const e = body;
        if (!/application\/json/.test(res.contentType) || e?.statusCode !== res.status || typeof e?.error !== 'string' || !e.error || typeof e?.code !== 'string' || !e.code || typeof e?.message !== 'string' || !e.message || !('details' in e)) {
          return violation(`${describe(r)} → ${res.status} without {statusCode, error, message, code, details}: ${res.text.slice(0, 200)}`);
        }
        if (e.code === 'validation_error') {
          const problem = unnamedFields(r, e.details);
          if (problem) return violation(`${describe(r)} → ${res.status} ${problem}: ${res.text.slice(0, 300)}`);
        }
      }
      if (r.wrongField !== null && expected === null) {
        const e = res.status === 400 ? (JSON.parse(res.text) as { code: string; details?: { field: string }[] }) : null;
        if (e?.code !== 'validation_error' || !e.details?.some((d) => d.field === r.wrongField)) {
          return violation(`${describe(r)} → ${res.status}, expected a 400 naming ${JSON.stringify(r.wrongField)}: ${res.text.slice(0, 300)}`);
        }
      }
      if (r.ignoredField != null && res.status === 400) return violation(`${describe(r)} → 400 for an unknown field ${JSON.stringify(r.ignoredField)}, which must be ignored: ${res.text.slice(0, 300)}`);
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

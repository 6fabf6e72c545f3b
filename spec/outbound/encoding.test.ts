// Chained Content-Encoding from a real server: at most two codings are
// decoded; a header listing more (thousands fit in 16 KiB) is refused with
// too_many_encodings before any decoder is made, and a job does not retry it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import { createOutboundClient } from '../../core/outbound/index.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { classifyError } from '../../worker/pipeline/errors.js';
import { baseOptions, expectOutboundError, startHttpServer } from './helpers.js';
import type { TestServer } from './helpers.js';

const page = Buffer.from('<html><body>' + 'layered '.repeat(200) + '</body></html>');
const gzip = (b: Buffer) => zlib.gzipSync(b);

// Applied in header order: "gzip, br" means gzip first, then br.
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/one': (_q, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzip(page)),
  '/two': (_q, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, br' }).end(zlib.brotliCompressSync(gzip(page))),
  '/three': (_q, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip, gzip, gzip' }).end(gzip(gzip(gzip(page)))),
  // 2,500 codings: 15 KB of header, under undici's 16 KiB limit.
  '/thousands': (_q, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': Array(2500).fill('gzip').join(',') }).end(gzip(page)),
  // Repeated header lines count the same as one list.
  '/repeated': (_q, res) => res.writeHead(200, [['content-type', 'text/html'], ...Array.from({ length: 300 }, () => ['content-encoding', 'gzip'])].flat()).end(gzip(page)),
  '/identity-padding': (_q, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': `${Array(500).fill('identity').join(', ')}, gzip` }).end(gzip(page)),
};

describe('chained Content-Encoding', () => {
  let server: TestServer;
  let client: OutboundClient;
  before(async () => {
    server = await startHttpServer((req, res) => (routes[req.url ?? ''] ?? ((_q, r) => r.writeHead(404).end()))(req, res));
    client = createOutboundClient(baseOptions);
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  it('one or two codings are decoded', async () => {
    for (const path of ['/one', '/two', '/identity-padding']) {
      const res = await client.fetch(`${server.origin}${path}`);
      assert.deepEqual(Buffer.from(res.body), page, path);
    }
  });

  it('more than two are refused with too_many_encodings, which a job does not retry', async () => {
    for (const [path, count] of [['/three', 3], ['/thousands', 2500], ['/repeated', 300]] as const) {
      const err = await expectOutboundError(client.fetch(`${server.origin}${path}`), 'too_many_encodings');
      assert.equal(err.message, `response declares ${count} content-encodings; at most 2 are decoded`);
      const { error, retryable } = classifyError(err);
      assert.equal(error.code, 'too_many_encodings');
      assert.equal(retryable, false);
    }
    // The client is still usable afterwards.
    assert.deepEqual(Buffer.from((await client.fetch(`${server.origin}/one`)).body), page);
  });
});

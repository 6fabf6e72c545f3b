// Size, time, redirect and content rules, against real local servers
// (allowPrivateNetworks=true so 127.0.0.1 is reachable).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import zlib from 'node:zlib';
import { createOutboundClient } from '../../core/outbound/index.js';
import type { OutboundClient } from '../../core/outbound/index.js';
import { baseOptions, expectOutboundError, startHttpServer, startTcpServer } from './helpers.js';
import type { TestServer } from './helpers.js';

const MAX = 100_000;
const TOTAL = 800;

// ~10 KB of gzip that inflates to 10 MiB; 20 concatenated members = 200 MiB.
const bombMember = zlib.gzipSync(Buffer.alloc(10 * 1024 * 1024), { level: 9 });
const gzipBomb = Buffer.concat(new Array<Buffer>(20).fill(bombMember));
const page = Buffer.from('<html><body>' + 'héllo wörld '.repeat(500) + '</body></html>');

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
const routes: Record<string, Handler> = {
  '/ok': (_req, res) => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page),
  '/echo': (req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(req.headers)),
  '/no-type': (_req, res) => res.end('plain bytes'), // node:http sets no content-type by default
  '/png': (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(10)),
  '/404': (_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('not here'),
  '/503': (_req, res) => res.writeHead(503).end(),
  '/big-declared': (_req, res) => {
    res.writeHead(200, { 'content-length': String(50 * 1024 * 1024), 'content-type': 'text/html' });
    res.write(Buffer.alloc(1024)); // then stall: the client must not wait for the rest
  },
  '/big-chunked': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    const chunk = Buffer.alloc(16 * 1024, 97);
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump(); // endless, fast
  },
  '/trickle': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('a')), 50); // never idle, never ends
    res.on('close', () => clearInterval(t));
  },
  '/stall-body': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.write('partial'); // then silence
  },
  '/hang': () => {}, // never answers
  '/gzip-bomb': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' });
    res.end(gzipBomb);
  },
  '/gzip': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(zlib.gzipSync(page)),
  '/deflate': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'deflate' }).end(zlib.deflateSync(page)),
  '/deflate-raw': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'deflate' }).end(zlib.deflateRawSync(page)),
  '/br': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'br' }).end(zlib.brotliCompressSync(page)),
  '/bad-gzip': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end('definitely not gzip'),
  '/zstd': (_req, res) => res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'zstd' }).end('xx'),
  '/loop-a': (_req, res) => res.writeHead(302, { location: '/loop-b' }).end(),
  '/loop-b': (_req, res) => res.writeHead(301, { location: '/loop-a' }).end(),
  '/to-ftp': (_req, res) => res.writeHead(302, { location: 'ftp://example.com/file' }).end(),
  '/to-file': (_req, res) => res.writeHead(307, { location: 'file:///etc/passwd' }).end(),
  '/dir/relative': (_req, res) => res.writeHead(303, { location: '../ok?from=relative#frag' }).end(),
  '/to-other-origin': (req, res) => res.writeHead(302, { location: `http://localhost:${req.socket.localPort}/echo` }).end(),
  '/to-same-origin': (_req, res) => res.writeHead(307, { location: '/echo' }).end(),
  '/redirect-no-location': (_req, res) => res.writeHead(302).end(),
  '/post-target': (req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method !== 'POST') return res.writeHead(405).end();
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`got ${body} as ${req.headers['content-type']}`);
    });
  },
  '/post-redirect': (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(302, { location: '/post-target' }).end('moved'));
  },
  '/post-huge': (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 98);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
  },
};

function handler(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0] ?? '/';
  const hop = /^\/hop\/(\d+)$/.exec(path);
  if (hop) {
    res.writeHead(302, { location: `/hop/${Number(hop[1]) + 1}` }).end();
    return;
  }
  const route = routes[path];
  if (route) route(req, res);
  else res.writeHead(500).end('no route');
}

describe('outbound client limits', () => {
  let server: TestServer;
  let client: OutboundClient;
  before(async () => {
    server = await startHttpServer(handler);
    client = createOutboundClient({ ...baseOptions, maxBodyBytes: MAX, totalTimeoutMs: TOTAL, maxRedirects: 3 });
  });
  after(async () => {
    await client.close();
    await server.close();
  });
  const url = (path: string) => `${server.origin}${path}`;
  const timed = async <T>(fn: () => Promise<T>) => {
    const t0 = performance.now();
    const result = await fn();
    return { result, ms: performance.now() - t0 };
  };

  it('fetches a page with status, headers, content type and timing', async () => {
    const r = await client.fetch(url('/ok'), { accept: ['text/html', 'application/xhtml+xml'] });
    assert.equal(r.status, 200);
    assert.equal(r.url, url('/ok'));
    assert.equal(r.contentType, 'text/html');
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.deepEqual(Buffer.from(r.body), page);
    assert.deepEqual(r.redirects, []);
    assert.ok(r.durationMs >= 0);
  });

  it('sends user-agent, accept and accept-encoding; caller headers merge case-insensitively', async () => {
    const r = await client.fetch(url('/echo'), { accept: ['text/html', 'application/json'], headers: { 'Accept-Language': 'de', 'Accept-Encoding': 'zstd' } });
    const seen = JSON.parse(Buffer.from(r.body).toString()) as Record<string, string>;
    assert.equal(seen['user-agent'], 'GleanerTest/1.0');
    assert.equal(seen['accept-encoding'], 'gzip, deflate, br');
    assert.equal(seen['accept'], 'text/html, application/json');
    assert.equal(seen['accept-language'], 'de');
  });

  for (const path of ['/gzip', '/deflate', '/deflate-raw', '/br']) {
    it(`decodes ${path.slice(1)} bodies`, async () => {
      const r = await client.fetch(url(path));
      assert.deepEqual(Buffer.from(r.body), page);
    });
  }

  it('refuses an oversize Content-Length before reading the body', async () => {
    // The server stalls after 1 KB: a client that waited for the body would end in the total timeout, not too_large.
    const err = await expectOutboundError(client.fetch(url('/big-declared')), 'too_large');
    assert.match(err.message, new RegExp(`exceeded ${MAX} bytes`));
  });

  it('stops an endless chunked body as soon as the cap is passed', async () => {
    // Endless: without the cap this would end in the total timeout instead.
    const err = await expectOutboundError(client.fetch(url('/big-chunked')), 'too_large');
    assert.equal(err.message, `response body exceeded ${MAX} bytes`);
  });

  it('cuts off a gzip bomb on decompressed bytes with bounded memory', async () => {
    const before = process.memoryUsage();
    const err = await expectOutboundError(client.fetch(url('/gzip-bomb')), 'too_large');
    const grown = process.memoryUsage().rss - before.rss;
    assert.match(err.message, new RegExp(`exceeded ${MAX} bytes`));
    assert.ok(grown < 64 * 1024 * 1024, `rss grew by ${grown} bytes`);
  });

  it('reports corrupt and unsupported encodings as decompression_failed', async () => {
    await expectOutboundError(client.fetch(url('/bad-gzip')), 'decompression_failed');
    const err = await expectOutboundError(client.fetch(url('/zstd')), 'decompression_failed');
    assert.match(err.message, /zstd/);
  });

  it('ends a never-ending (but never idle) stream at the total timeout', async () => {
    const { result: err, ms } = await timed(() => expectOutboundError(client.fetch(url('/trickle')), 'timeout'));
    assert.match(err.message, new RegExp(`total timeout of ${TOTAL} ms`));
    // Not before the limit; which limit ended it is in the message (no upper time bound: it flakes under load).
    assert.ok(ms >= TOTAL - 20, `took ${ms} ms`);
  });

  // undici's headers/body timers have ~1 s granularity ("fast timers"), so
  // these use a generous total cap and only check that the right limit fired
  // (by its message), and not before its time.
  it('ends an idle body at the body timeout, and a silent server at the headers timeout', async () => {
    const lax = createOutboundClient({ ...baseOptions, bodyTimeoutMs: 300, headersTimeoutMs: 300, totalTimeoutMs: 5000 });
    try {
      const { result: body, ms: bodyMs } = await timed(() => expectOutboundError(lax.fetch(url('/stall-body')), 'timeout'));
      assert.match(body.message, /idle for more than 300 ms/);
      assert.ok(bodyMs >= 290, `body timeout took ${bodyMs} ms`);
      const { result: head, ms: headMs } = await timed(() => expectOutboundError(lax.fetch(url('/hang')), 'timeout'));
      assert.match(head.message, /no response headers within 300 ms/);
      assert.ok(headMs >= 290, `headers timeout took ${headMs} ms`);
    } finally {
      await lax.close();
    }
  });

  it('ends slowloris headers (one byte every 50 ms, forever)', async () => {
    const slow = await startTcpServer((socket) => {
      const head = 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Padding: ' + 'a'.repeat(100_000);
      let i = 0;
      socket.once('data', () => {
        const t = setInterval(() => (socket.destroyed ? clearInterval(t) : socket.write(head[i++ % head.length] ?? 'a')), 50);
        socket.on('close', () => clearInterval(t));
      });
    });
    const lax = createOutboundClient({ ...baseOptions, headersTimeoutMs: 300, totalTimeoutMs: 5000 });
    try {
      const total = await expectOutboundError(client.fetch(slow.origin + '/'), 'timeout');
      assert.match(total.message, new RegExp(`total timeout of ${TOTAL} ms`));
      // The headers timeout alone also ends it: trickling bytes do not reset it.
      const err = await expectOutboundError(lax.fetch(slow.origin + '/'), 'timeout');
      assert.match(err.message, /no response headers within 300 ms/);
    } finally {
      await lax.close();
      await slow.close();
    }
  });

  it('follows a relative Location (303) and reports the chain', async () => {
    const r = await client.fetch(url('/dir/relative'));
    assert.equal(r.status, 200);
    assert.equal(r.url, url('/ok?from=relative'));
    assert.deepEqual(r.redirects, [url('/dir/relative')]);
  });

  it('drops credentials headers when a redirect leaves the origin', async () => {
    const headers = { authorization: 'Bearer s3cret', cookie: 'a=b', 'x-trace': '1' };
    const same = JSON.parse(Buffer.from((await client.fetch(url('/to-same-origin'), { headers })).body).toString()) as Record<string, string>;
    assert.equal(same['authorization'], 'Bearer s3cret');
    const other = await client.fetch(url('/to-other-origin'), { headers });
    const seen = JSON.parse(Buffer.from(other.body).toString()) as Record<string, string>;
    assert.equal(other.url, `http://localhost:${server.port}/echo`);
    assert.equal(seen['authorization'], undefined);
    assert.equal(seen['cookie'], undefined);
    assert.equal(seen['x-trace'], '1');
  });

  it('detects redirect loops', async () => {
    const err = await expectOutboundError(client.fetch(url('/loop-a')), 'redirect_loop');
    assert.match(err.message, /loop-a was already visited/);
  });

  it('allows exactly maxRedirects hops and refuses one more', async () => {
    const err = await expectOutboundError(client.fetch(url('/hop/0')), 'too_many_redirects');
    assert.match(err.message, /more than 3 redirects/);
    const three = createOutboundClient({ ...baseOptions, maxRedirects: 3 });
    try {
      // /hop/0 -> 1 -> 2 -> 3 is three redirects, and /hop/3 redirects again: still too many.
      await expectOutboundError(three.fetch(url('/hop/0')), 'too_many_redirects');
      const zero = createOutboundClient({ ...baseOptions, maxRedirects: 0 });
      await expectOutboundError(zero.fetch(url('/dir/relative')), 'too_many_redirects');
      await zero.close();
      const one = createOutboundClient({ ...baseOptions, maxRedirects: 1 });
      assert.equal((await one.fetch(url('/dir/relative'))).status, 200);
      await one.close();
    } finally {
      await three.close();
    }
  });

  it('refuses redirects to non-http schemes', async () => {
    const ftp = await expectOutboundError(client.fetch(url('/to-ftp')), 'unsupported_protocol');
    assert.match(ftp.message, /unsupported protocol ftp/);
    await expectOutboundError(client.fetch(url('/to-file')), 'unsupported_protocol');
  });

  it('refuses non-http URLs and credentials up front', async () => {
    await expectOutboundError(client.fetch('gopher://127.0.0.1/'), 'unsupported_protocol');
    await expectOutboundError(client.fetch('not a url'), 'invalid_url');
    await expectOutboundError(client.fetch(`http://u:p@127.0.0.1:${server.port}/ok`), 'invalid_url');
  });

  it('turns non-2xx into http_status with the status kept', async () => {
    const e404 = await expectOutboundError(client.fetch(url('/404')), 'http_status');
    assert.equal(e404.status, 404);
    assert.match(e404.message, /HTTP 404/);
    assert.equal((await expectOutboundError(client.fetch(url('/503')), 'http_status')).status, 503);
    assert.equal((await expectOutboundError(client.fetch(url('/redirect-no-location')), 'http_status')).status, 302);
  });

  it('refuses content types outside `accept`, naming the type', async () => {
    const err = await expectOutboundError(client.fetch(url('/png'), { accept: ['text/html', 'text/*'] }), 'unsupported_content_type');
    assert.match(err.message, /image\/png/);
    assert.equal((await client.fetch(url('/png'))).status, 200); // no accept list: anything goes
  });

  it('allows a missing content type (caller sniffs)', async () => {
    const r = await client.fetch(url('/no-type'), { accept: ['text/html'] });
    assert.equal(r.contentType, null);
    assert.equal(Buffer.from(r.body).toString(), 'plain bytes');
  });

  it('aborts via the caller signal, also when already aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    // /hang never answers: without the signal this would end in the total timeout, not as aborted.
    await expectOutboundError(client.fetch(url('/hang'), { signal: ac.signal }), 'aborted');
    await expectOutboundError(client.fetch(url('/ok'), { signal: AbortSignal.abort() }), 'aborted');
    const mid = new AbortController();
    setTimeout(() => mid.abort(), 100);
    await expectOutboundError(client.fetch(url('/trickle'), { signal: mid.signal }), 'aborted');
  });

  it('reports a closed port as connect_failed', async () => {
    const gone = await startHttpServer(() => {});
    await gone.close();
    await expectOutboundError(client.fetch(gone.origin + '/'), 'connect_failed');
  });

  describe('post()', () => {
    const init = { headers: { 'Content-Type': 'application/json' }, timeoutMs: 1000, maxResponseBytes: 100 };

    it('sends the body and returns the response', async () => {
      const r = await client.post(url('/post-target'), '{"a":1}', init);
      assert.equal(r.status, 200);
      assert.equal(r.body, 'got {"a":1} as application/json');
      assert.equal(r.headers['content-type'], 'text/plain');
      assert.ok(r.durationMs >= 0);
    });

    it('returns a 3xx as-is without following it', async () => {
      const r = await client.post(url('/post-redirect'), '{}', init);
      assert.equal(r.status, 302);
      assert.equal(r.headers['location'], '/post-target');
      assert.equal(r.body, 'moved');
    });

    it('caps the response body and stops reading', async () => {
      // The body never ends: a client that kept reading would end in its 1 s timeout instead of answering.
      const r = await client.post(url('/post-huge'), '{}', init);
      assert.equal(r.status, 500);
      assert.equal(r.body, 'b'.repeat(100));
    });

    it('times out and aborts', async () => {
      const err = await expectOutboundError(client.post(url('/hang'), '{}', { ...init, timeoutMs: 200 }), 'timeout');
      assert.match(err.message, /200 ms/);
      await expectOutboundError(client.post(url('/hang'), '{}', { ...init, signal: AbortSignal.abort() }), 'aborted');
    });
  });
});

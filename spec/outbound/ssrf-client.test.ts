// The address policy as enforced by the real client against real sockets.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { createOutboundClient } from '../../core/outbound/index.js';
import { createGuardedConnector } from '../../core/outbound/connector.js';
import type { OutboundClient, ResolveFn } from '../../core/outbound/index.js';
import { baseOptions, expectOutboundError, startHttpServer } from './helpers.js';
import type { TestServer } from './helpers.js';

const hosts: Record<string, LookupAddress[]> = {
  'good.test': [{ address: '127.0.0.1', family: 4 }],
  'evil.test': [{ address: '127.0.0.2', family: 4 }],
  'internal.test': [{ address: '10.0.0.1', family: 4 }],
  'metadata.test': [{ address: '169.254.169.254', family: 4 }],
  'rebind.test': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
  'v6local.test': [{ address: '::1', family: 6 }],
};
const resolve: ResolveFn = async (host) => {
  const hit = hosts[host];
  if (hit === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return hit;
};

describe('outbound client with the default policy (allowPrivateNetworks=false)', () => {
  let server: TestServer;
  let client: OutboundClient;
  let injected: OutboundClient;
  before(async () => {
    server = await startHttpServer((_req, res) => res.end('secret'));
    client = createOutboundClient({ ...baseOptions, allowPrivateNetworks: false });
    injected = createOutboundClient({ ...baseOptions, allowPrivateNetworks: false, lookup: resolve });
  });
  after(async () => {
    await client.close();
    await injected.close();
    await server.close();
  });

  const targets = (port: number) => [
    `http://127.0.0.1:${port}/`,
    `http://127.1:${port}/`,
    `http://2130706433:${port}/`,
    `http://0177.0.0.1:${port}/`,
    `http://0x7f000001:${port}/`,
    `http://0x7f.0.0.1:${port}/`,
    `http://[::1]:${port}/`,
    `http://[::ffff:127.0.0.1]:${port}/`,
    `http://[::ffff:7f00:1]:${port}/`,
    `http://10.0.0.1:${port}/`,
    `http://172.16.0.1:${port}/`,
    `http://192.168.1.1:${port}/`,
    `http://169.254.169.254/latest/meta-data/`,
    `http://[fd00::1]:${port}/`,
    `http://[fe80::1]:${port}/`,
    `http://100.64.0.1:${port}/`,
    `http://0.0.0.0:${port}/`,
    `http://localhost:${port}/`, // system resolver via /etc/hosts
    `https://127.0.0.1:${port}/`,
  ];

  it('fetch() refuses every loopback/private spelling without connecting', async () => {
    for (const url of targets(server.port)) {
      const err = await expectOutboundError(client.fetch(url), 'blocked_address');
      assert.match(err.message, /private, loopback or reserved/, url);
    }
    assert.equal(server.connections, 0);
  });

  it('post() refuses them too', async () => {
    for (const url of targets(server.port)) {
      await expectOutboundError(
        client.post(url, '{}', { headers: { 'content-type': 'application/json' }, timeoutMs: 1000, maxResponseBytes: 100 }),
        'blocked_address',
      );
    }
    assert.equal(server.connections, 0);
  });

  it('refuses DNS names that resolve to a blocked address (any of them)', async () => {
    for (const host of ['good.test', 'internal.test', 'metadata.test', 'rebind.test', 'v6local.test']) {
      const err = await expectOutboundError(injected.fetch(`http://${host}:${server.port}/`), 'blocked_address');
      assert.match(err.detail ?? '', new RegExp(`host ${host.replace('.', '\\.')} resolves to`));
      await expectOutboundError(
        injected.post(`http://${host}:${server.port}/hook`, 'x', { headers: {}, timeoutMs: 1000, maxResponseBytes: 10 }),
        'blocked_address',
      );
    }
    assert.equal(server.connections, 0);
  });

  it('reports resolver failures as dns_failed', async () => {
    const err = await expectOutboundError(injected.fetch('http://nonexistent.test/'), 'dns_failed');
    assert.match(err.message, /ENOTFOUND/);
  });
});

describe('redirects are re-checked at connect time', () => {
  let target: TestServer; // on 127.0.0.2, reachable if the policy failed
  let origin: TestServer; // on 127.0.0.1, allowed
  let client: OutboundClient;
  let hits: string[];
  before(async () => {
    hits = [];
    target = await startHttpServer((_req, res) => res.end('internal secret'), '127.0.0.2');
    origin = await startHttpServer((req, res) => {
      hits.push(`${req.headers.host}${req.url}`);
      const to: Record<string, string> = {
        '/to-ip': `http://127.0.0.2:${target.port}/`,
        '/to-name': `http://evil.test:${target.port}/`,
        '/to-good': `http://good.test:${origin.port}/landed`,
      };
      const location = to[req.url ?? ''];
      if (location) {
        res.writeHead(302, { location }).end();
      } else {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`host=${req.headers.host}`);
      }
    });
    // Only 127.0.0.1 is allowed: stands in for "a public host".
    client = createOutboundClient({
      ...baseOptions,
      allowPrivateNetworks: false,
      isAddressAllowed: (ip) => ip === '127.0.0.1',
      lookup: resolve,
    });
  });
  after(async () => {
    await client.close();
    await origin.close();
    await target.close();
  });

  it('sanity: the allowed host is fetched, via a hostname too (Host header kept)', async () => {
    const r = await client.fetch(`http://good.test:${origin.port}/to-good`);
    assert.equal(r.status, 200);
    assert.equal(Buffer.from(r.body).toString(), `host=good.test:${origin.port}`);
    assert.deepEqual(r.redirects, [`http://good.test:${origin.port}/to-good`]);
    assert.equal(r.url, `http://good.test:${origin.port}/landed`);
  });

  it('a redirect to a blocked literal IP is refused', async () => {
    const err = await expectOutboundError(client.fetch(`${origin.origin}/to-ip`), 'blocked_address');
    assert.equal(err.url, `http://127.0.0.2:${target.port}/`);
    assert.equal(target.connections, 0);
  });

  it('a redirect to a name resolving to a blocked address is refused', async () => {
    const err = await expectOutboundError(client.fetch(`${origin.origin}/to-name`), 'blocked_address');
    assert.match(err.detail ?? '', /evil\.test resolves to 127\.0\.0\.2/);
    assert.equal(target.connections, 0);
  });

  it('post() to the blocked host is refused, and 127.0.0.2 really was reachable', async () => {
    await expectOutboundError(
      client.post(`http://127.0.0.2:${target.port}/`, 'x', { headers: {}, timeoutMs: 1000, maxResponseBytes: 10 }),
      'blocked_address',
    );
    assert.equal(target.connections, 0);
    const open = createOutboundClient({ ...baseOptions, allowPrivateNetworks: true });
    try {
      const r = await open.fetch(`http://127.0.0.2:${target.port}/`);
      assert.equal(Buffer.from(r.body).toString(), 'internal secret');
    } finally {
      await open.close();
    }
  });
});

describe('guarded connector', () => {
  it('re-checks the peer address after connecting (defence in depth)', async () => {
    const server = await startHttpServer((_req, res) => res.end());
    try {
      let calls = 0;
      // Allowed at lookup time, refused when the socket's peer is verified:
      // stands in for any path where the resolved and connected address differ.
      const connect = createGuardedConnector({ connectTimeoutMs: 500, isAllowed: () => calls++ === 0, resolve });
      const err = await new Promise<Error | null>((done) =>
        connect({ hostname: 'good.test', protocol: 'http:', port: String(server.port) }, (e, socket) => {
          socket?.destroy();
          done(e);
        }),
      );
      assert.equal(err?.name, 'BlockedAddressError');
      assert.equal(calls, 2);
    } finally {
      await server.close();
    }
  });
});

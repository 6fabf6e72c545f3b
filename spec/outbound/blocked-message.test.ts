// A refused destination is not a DNS oracle: the OutboundError's message (the
// one every client-facing path shows) never names the address a host resolved
// to; that stays in `detail`, which only the log reads and which serialising
// the error leaves out.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { BLOCKED_ADDRESS_MESSAGE, createOutboundClient } from '../../core/outbound/index.js';
import type { OutboundClient, ResolveFn } from '../../core/outbound/index.js';
import { logDetail } from '../../core/outbound/clientMessage.js';
import { baseOptions, expectOutboundError, startHttpServer } from './helpers.js';
import type { TestServer } from './helpers.js';

const hosts: Record<string, LookupAddress[]> = {
  'db.corp.test': [{ address: '10.20.30.40', family: 4 }],
  'here.test': [{ address: '127.0.0.1', family: 4 }],
  'v6.corp.test': [{ address: 'fd12:3456::7', family: 6 }],
};
const resolve: ResolveFn = async (host) => {
  const hit = hosts[host];
  if (hit === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
  return hit;
};

describe('blocked-address errors', () => {
  let server: TestServer;
  let client: OutboundClient;
  before(async () => {
    server = await startHttpServer((_req, res) => res.end('internal'));
    client = createOutboundClient({ ...baseOptions, allowPrivateNetworks: false, lookup: resolve });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  const cases = () => [
    { url: `http://db.corp.test:${server.port}/`, address: '10.20.30.40' },
    { url: `http://here.test:${server.port}/`, address: '127.0.0.1' },
    { url: `http://v6.corp.test:${server.port}/`, address: 'fd12:3456::7' },
    // A literal address is the client's own text: only the message is checked for it.
    { url: `http://127.0.0.1:${server.port}/`, address: '127.0.0.1', literal: true },
  ];

  it('say only that the destination is not allowed, for fetch and post', async () => {
    for (const { url, address, literal } of cases()) {
      for (const attempt of [() => client.fetch(url), () => client.post(url, '{}', { headers: {}, timeoutMs: 1000, maxResponseBytes: 100 })]) {
        const err = await expectOutboundError(attempt(), 'blocked_address');
        assert.equal(err.message, BLOCKED_ADDRESS_MESSAGE, url);
        assert.ok(!err.message.includes(address), `${url}: the message names ${address}`);
        if (literal === true) continue;
        const serialised = JSON.stringify(err);
        assert.ok(!serialised.includes(address), `${url}: serialised error names ${address}: ${serialised}`);
        assert.equal(String(err).includes(address), false);
      }
    }
    assert.equal(server.connections, 0);
  });

  it('keep the resolved address in `detail`, for the log', async () => {
    for (const { url, address } of cases()) {
      const err = await expectOutboundError(client.fetch(url), 'blocked_address');
      assert.match(err.detail ?? '', new RegExp(`${address.replace(/[.:]/g, '\\$&')}.*private, loopback or reserved`));
      assert.equal(logDetail(err), err.detail);
    }
  });
});

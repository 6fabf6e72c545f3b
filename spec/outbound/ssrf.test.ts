import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkUrlSyntax, isBlockedAddress, parseHostAsIp } from '../../core/outbound/ssrf.js';
import { guardedLookup } from '../../core/outbound/connector.js';
import type { ResolveFn } from '../../core/outbound/connector.js';
import type { LookupAddress } from 'node:dns';

describe('isBlockedAddress', () => {
  const blocked = [
    '127.0.0.1', '127.255.255.254', '::1', '0.0.0.0', '0.1.2.3', '::',
    '10.0.0.1', '10.255.255.255', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '169.254.0.1', 'fe80::1', 'fe80::1%eth0', 'febf::1',
    'fc00::1', 'fd00::1', 'fdff:ffff::1', '100.64.0.1', '100.127.255.255',
    '224.0.0.1', '239.255.255.250', '240.0.0.1', '255.255.255.255',
    '198.18.0.1', '198.19.255.255', '192.0.0.8', 'ff02::1', 'fec0::1',
    // IPv4 embedded in IPv6
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::127.0.0.1', '::7f00:1',
    '::ffff:0:7f00:1', '64:ff9b::7f00:1', '64:ff9b::10.1.2.3', '64:ff9b:1::1',
    '2002:7f00:1::1', '2002:c0a8:101::1', '2002:a9fe:a9fe::',
    '2001:0:7f00:1::', // Teredo with private server address
    '[::1]', '[::ffff:127.0.0.1]',
    'not-an-ip', '', '1.2.3', '2130706433',
  ];
  const allowed = [
    '8.8.8.8', '1.1.1.1', '93.184.216.34', '100.63.255.255', '100.128.0.0', '172.15.255.255', '172.32.0.0',
    '192.167.255.255', '192.169.0.0', '169.253.255.255', '198.17.255.255', '198.20.0.0', '223.255.255.255', '11.0.0.1',
    '2606:4700::1111', '2001:4860:4860::8888', '2a00:1450:4001::200e', '::ffff:8.8.8.8', '64:ff9b::808:808',
    '2002:808:808::1', '[2606:4700::1111]',
  ];
  for (const ip of blocked) it(`blocks ${ip || '(empty)'}`, () => assert.equal(isBlockedAddress(ip), true));
  for (const ip of allowed) it(`allows ${ip}`, () => assert.equal(isBlockedAddress(ip), false));
});

describe('parseHostAsIp', () => {
  const cases: Array<[string, string | null]> = [
    ['127.0.0.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.0.0.1', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F.1', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['１２７.0.0.1', '127.0.0.1'],
    ['8.8.8.8', '8.8.8.8'],
    ['[::1]', '::1'],
    ['::1', '::1'],
    ['[::ffff:127.0.0.1]', '::ffff:7f00:1'],
    ['[2606:4700:0:0:0:0:0:1111]', '2606:4700::1111'],
    ['[fe80::1%eth0]', 'fe80::1'],
    ['example.com', null],
    ['localhost', null],
    ['127.0.0.1.nip.io', null],
    ['256.0.0.1', null],
    ['4294967296', null],
    ['09.0.0.1', null],
    ['1.2.3.4.5', null],
    ['[example.com]', null],
    ['', null],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(parseHostAsIp(input), expected));
  }

  it('agrees with WHATWG URL host parsing for IPv4 spellings', () => {
    for (const host of ['127.1', '2130706433', '0177.0.0.1', '0x7f.0.0.1', '1.2.3', '0x1.0x2.0x3.0x4', '0.0', '10.65535', '192.168.257']) {
      assert.equal(parseHostAsIp(host), new URL(`http://${host}/`).hostname, host);
    }
  });
});

describe('checkUrlSyntax', () => {
  const deny = { allowPrivateNetworks: false };
  const allow = { allowPrivateNetworks: true };
  const refused: Array<[string, string]> = [
    ['not a url', 'invalid_url'],
    ['/relative/path', 'invalid_url'],
    ['http://', 'invalid_url'],
    ['ftp://example.com/x', 'unsupported_protocol'],
    ['file:///etc/passwd', 'unsupported_protocol'],
    ['javascript:alert(1)', 'unsupported_protocol'],
    ['gopher://127.0.0.1:6379/_', 'unsupported_protocol'],
    ['http://user:pass@example.com/', 'credentials_in_url'],
    ['http://user@example.com/', 'credentials_in_url'],
    ['http://127.0.0.1/', 'blocked_address'],
    ['http://127.1/', 'blocked_address'],
    ['http://2130706433/', 'blocked_address'],
    ['http://0177.0.0.1/', 'blocked_address'],
    ['http://0x7f000001/', 'blocked_address'],
    ['http://[::1]/', 'blocked_address'],
    ['http://[::ffff:127.0.0.1]/', 'blocked_address'],
    ['http://10.0.0.1/', 'blocked_address'],
    ['http://172.16.0.1/', 'blocked_address'],
    ['http://192.168.1.1/', 'blocked_address'],
    ['http://169.254.169.254/latest/meta-data/', 'blocked_address'],
    ['http://[fd00::1]/', 'blocked_address'],
    ['http://100.64.0.1/', 'blocked_address'],
    ['http://0.0.0.0/', 'blocked_address'],
    ['http://0/', 'blocked_address'],
    ['http://localhost/', 'blocked_address'],
    ['http://LOCALHOST./', 'blocked_address'],
    ['http://api.localhost:8080/', 'blocked_address'],
  ];
  for (const [url, code] of refused) {
    it(`refuses ${url} (${code})`, () => {
      const r = checkUrlSyntax(url, deny);
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.code, code);
        assert.ok(r.message.length > 0);
      }
    });
  }
  for (const url of ['https://example.com/a?b=c#d', 'http://8.8.8.8/', 'http://[2606:4700::1111]/', 'HTTPS://Example.COM', 'http://localhost.example.com/', 'http://127.0.0.1.nip.io/']) {
    it(`accepts ${url}`, () => {
      const r = checkUrlSyntax(url, deny);
      assert.equal(r.ok, true);
      if (r.ok) assert.ok(r.url instanceof URL);
    });
  }
  it('allows private/localhost targets when allowPrivateNetworks is set, but keeps other rules', () => {
    for (const url of ['http://127.0.0.1:8080/', 'http://localhost/', 'http://[::1]/', 'http://10.0.0.1/']) {
      assert.equal(checkUrlSyntax(url, allow).ok, true, url);
    }
    const creds = checkUrlSyntax('http://a:b@localhost/', allow);
    assert.equal(creds.ok ? 'ok' : creds.code, 'credentials_in_url');
    const proto = checkUrlSyntax('file:///etc/passwd', allow);
    assert.equal(proto.ok ? 'ok' : proto.code, 'unsupported_protocol');
  });
});

describe('guardedLookup (connect-time DNS hook)', () => {
  const table: Record<string, LookupAddress[]> = {
    'public.test': [{ address: '93.184.216.34', family: 4 }, { address: '2606:2800:220:1::1', family: 6 }],
    'private.test': [{ address: '10.0.0.7', family: 4 }],
    'mixed.test': [{ address: '93.184.216.34', family: 4 }, { address: '127.0.0.1', family: 4 }],
    'v6local.test': [{ address: '::1', family: 6 }],
    'empty.test': [],
  };
  const resolve: ResolveFn = async (host) => {
    const hit = table[host];
    if (hit === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return hit;
  };
  const lookup = guardedLookup(resolve, (ip) => !isBlockedAddress(ip));
  const call = (host: string, options: { all?: boolean; family?: number }) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((done) => {
      lookup(host, options, (err, address, family) => done({ err, address, family }));
    });

  it('returns all addresses when asked (autoSelectFamily)', async () => {
    const r = await call('public.test', { all: true });
    assert.equal(r.err, null);
    assert.deepEqual(r.address, table['public.test']);
  });
  it('returns one address, honouring family', async () => {
    assert.deepEqual(await call('public.test', {}), { err: null, address: '93.184.216.34', family: 4 });
    assert.deepEqual(await call('public.test', { family: 6 }), { err: null, address: '2606:2800:220:1::1', family: 6 });
  });
  for (const host of ['private.test', 'mixed.test', 'v6local.test']) {
    it(`refuses ${host} (any blocked address poisons the answer)`, async () => {
      for (const all of [true, false]) {
        const r = await call(host, { all });
        assert.ok(r.err, 'expected an error');
        assert.equal(r.err.name, 'BlockedAddressError');
        assert.match(r.err.message, new RegExp(host.replace('.', '\\.')));
      }
    });
  }
  it('passes resolver failures through and treats empty answers as ENOTFOUND', async () => {
    assert.equal((await call('nope.test', { all: true })).err?.code, 'ENOTFOUND');
    assert.equal((await call('empty.test', {})).err?.code, 'ENOTFOUND');
  });
});

// undici connector that enforces the address policy at connect time, on the
// addresses actually used for the socket. Checking here (not before the
// request) means a DNS answer that changes between validation and connect
// (rebinding) cannot slip through, and every redirect hop gets the same check.
import { promises as dns } from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { buildConnector } from 'undici';
import { BlockedAddressError } from './errors.js';

/** Resolves a hostname to all its addresses. Injectable for tests. */
export type ResolveFn = (hostname: string) => Promise<LookupAddress[]>;

export type AddressPolicy = (ip: string) => boolean; // true = allowed

const systemResolve: ResolveFn = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

/**
 * A net/tls `lookup` that resolves all addresses and refuses the host if ANY
 * of them is blocked (refusing only some would let the OS or happy-eyeballs
 * pick a blocked one, and a mixed answer is a rebinding red flag anyway).
 */
export function guardedLookup(resolve: ResolveFn, isAllowed: AddressPolicy): LookupFunction {
  return (hostname: string, options: LookupOptions, callback) => {
    resolve(hostname).then(
      (addresses) => {
        const blocked = addresses.find((a) => !isAllowed(a.address));
        if (blocked) {
          callback(new BlockedAddressError(hostname, blocked.address), '', 0);
          return;
        }
        const wanted = options.family === 4 || options.family === 6 ? addresses.filter((a) => a.family === options.family) : addresses;
        const first = wanted[0];
        if (!first) {
          const err = Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND', hostname });
          callback(err, '', 0);
          return;
        }
        // Node's autoSelectFamily (default on in Node 20) asks for all addresses.
        if (options.all) (callback as (err: null, addresses: LookupAddress[]) => void)(null, wanted);
        else callback(null, first.address, first.family);
      },
      (err: unknown) => callback(err as NodeJS.ErrnoException, '', 0),
    );
  };
}

export interface GuardedConnectorOptions {
  connectTimeoutMs: number;
  isAllowed: AddressPolicy;
  resolve?: ResolveFn;
}

export function createGuardedConnector(opts: GuardedConnectorOptions): buildConnector.connector {
  const base = buildConnector({
    timeout: opts.connectTimeoutMs,
    lookup: guardedLookup(opts.resolve ?? systemResolve, opts.isAllowed),
  });
  return (options, callback) => {
    // undici passes IPv6 literals without brackets. Node skips `lookup` for
    // literal IPs, so those are checked here directly.
    const host = options.hostname;
    if (isIP(host) !== 0 && !opts.isAllowed(host)) {
      const err = new BlockedAddressError(host, host);
      queueMicrotask(() => callback(err, null));
      return;
    }
    base(options, (err, socket) => {
      if (err !== null) {
        callback(err, null);
        return;
      }
      // Defence in depth: verify the peer we actually reached. (undefined
      // only if the socket already closed; undici then fails it anyway.)
      const remote = socket.remoteAddress;
      if (remote !== undefined && !opts.isAllowed(remote)) {
        socket.destroy();
        callback(new BlockedAddressError(host, remote), null);
        return;
      }
      callback(null, socket);
    });
  };
}

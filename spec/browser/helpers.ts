// Browser tests run against Debian's Chromium; without it they skip with a
// message, except under GLEANER_REQUIRE_BROWSER=1 (CI), where they fail.
import { promises as dns } from 'node:dns';
import type { TestContext } from 'node:test';
import { createBrowserService, configuredBrowserSource, type BrowserService } from '../../core/browser/index.js';
import { createLogger } from '../../core/platform/logger.js';
import { outboundOptions } from '../../core/outbound/index.js';
import type { OutboundOptions, ResolveFn } from '../../core/outbound/index.js';
import { onCleanup } from '../helpers/cleanup.js';
import { testConfig } from '../helpers/config.js';

const source = configuredBrowserSource();
export const BROWSER_FOUND = source.kind !== 'none';
const skipMessage = `no browser: ${source.kind === 'none' ? source.reason : ''}; browser tests skipped`;

/** Call first in each browser test: false means the test was skipped. */
export function needBrowser(t: TestContext): boolean {
  if (BROWSER_FOUND) return true;
  // .ci/run sets GLEANER_REQUIRE_BROWSER=1: in CI a missing browser fails the run instead of skipping these tests.
  if (process.env.GLEANER_REQUIRE_BROWSER === '1') throw new Error(`${skipMessage}, but GLEANER_REQUIRE_BROWSER=1 requires them`);
  t.skip(skipMessage);
  return false;
}

/** A name → address table in front of the system resolver (e.g. a public-looking name that resolves to loopback). */
export function resolverWith(names: Record<string, string>): ResolveFn {
  return async (hostname) => {
    const ip = names[hostname.toLowerCase()];
    if (ip !== undefined) return [{ address: ip, family: ip.includes(':') ? 6 : 4 }];
    return dns.lookup(hostname, { all: true, verbatim: true });
  };
}

/** A browser service as the worker builds it, from testConfig, with outbound overrides (address policy, resolver). */
export function testBrowserService(env: Record<string, string> = {}, outbound: Partial<OutboundOptions> = {}): BrowserService {
  const config = testConfig({ BROWSER_PAGE_TIMEOUT: '30s', BROWSER_NETWORK_IDLE: '500ms', ...env });
  const service = createBrowserService({ browser: config.browser, outbound: { ...outboundOptions(config), ...outbound }, logger: createLogger('error', { service: 'test-browser' }) });
  onCleanup(() => service.close());
  return service;
}

/** A service closed when the test ends, so each test's browser is its own. */
export function browserForTest(t: TestContext, env: Record<string, string> = {}, outbound: Partial<OutboundOptions> = {}): BrowserService {
  const service = testBrowserService(env, outbound);
  t.after(() => service.close());
  return service;
}

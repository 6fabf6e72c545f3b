import { loadConfig, type Config } from '../../core/config.js';

/** The service's config as tests use it: loopback allowed, short timeouts and delays. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  return loadConfig({
    ALLOW_PRIVATE_NETWORKS: 'true',
    PORT: '0',
    LOG_LEVEL: 'error',
    RETRY_BASE_DELAY: '100ms',
    RETRY_MAX_DELAY: '1s',
    WORKER_POLL_INTERVAL: '200ms',
    FETCH_TOTAL_TIMEOUT: '3s',
    FETCH_HEADERS_TIMEOUT: '2s',
    FETCH_BODY_TIMEOUT: '2s',
    RATE_LIMIT_PER_MINUTE: '600000',
    RATE_LIMIT_BURST: '100000',
    ...overrides,
  });
}

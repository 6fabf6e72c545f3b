import path from 'node:path';
import { loadConfig, type Config } from '../../core/platform/config.js';

/** Where spec/run.ts writes the stand-in embedding model (see testing/make-test-model.ts). */
export const DEFAULT_TEST_MODEL_DIR = path.resolve(import.meta.dirname, '../../.test-data/model');

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
    // spec/run.ts passes the stand-in model's folder; a file run on its own uses the default one.
    EMBEDDING_MODEL_DIR: process.env.GLEANER_TEST_MODEL_DIR || DEFAULT_TEST_MODEL_DIR,
    // The crawl path can be chosen for a whole run (CRAWL_PAGE_TASKS=false npm test runs the one-worker crawl).
    ...(process.env.CRAWL_PAGE_TASKS ? { CRAWL_PAGE_TASKS: process.env.CRAWL_PAGE_TASKS } : {}),
    ...overrides,
  });
}

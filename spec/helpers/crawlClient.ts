// The outbound client crawler tests fetch their local sites with: private
// addresses allowed (the sites listen on 127.0.0.1), timeouts of seconds, and
// closed when the test file ends. `extra` adds or overrides options (a lookup
// hook for made-up host names).
import { createOutboundClient, type OutboundClient, type OutboundOptions } from '../../core/outbound/index.js';
import { onCleanup } from './cleanup.js';

export function crawlTestClient(extra: Partial<OutboundOptions> = {}): OutboundClient {
  const client = createOutboundClient({
    allowPrivateNetworks: true,
    userAgent: 'GleanerTest/1.0',
    connectTimeoutMs: 2000,
    headersTimeoutMs: 2000,
    bodyTimeoutMs: 2000,
    totalTimeoutMs: 3000,
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    ...extra,
  });
  onCleanup(() => client.close());
  return client;
}

// Entry point so callers can import 'core/outbound.js'; the code lives in core/outbound/.
export * from './outbound/index.js';

import type { Config } from './config.js';
import type { OutboundOptions } from './outbound/index.js';

/** The one mapping from configuration to the outbound client's options. */
export const outboundOptions = (config: Config): OutboundOptions => ({ allowPrivateNetworks: config.allowPrivateNetworks, ...config.fetch });

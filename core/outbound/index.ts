// Public surface of the outbound HTTP client.
import type { Config } from '../platform/config.js';
import type { OutboundOptions } from './client.js';

export { createOutboundClient } from './client.js';
export type { FetchedResponse, FetchInit, OutboundClient, OutboundOptions, PostInit, PostResult } from './client.js';
export type { ResolveFn } from './connector.js';
export { BLOCKED_ADDRESS_MESSAGE, OutboundError } from './errors.js';
export type { OutboundErrorCode } from './errors.js';

/** The one mapping from configuration to the outbound client's options. */
export const outboundOptions = (config: Config): OutboundOptions => ({ allowPrivateNetworks: config.allowPrivateNetworks, ...config.fetch });

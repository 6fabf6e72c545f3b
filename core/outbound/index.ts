// Public surface of the outbound HTTP client.
export { createOutboundClient } from './client.js';
export type { FetchedResponse, FetchInit, OutboundClient, OutboundOptions, PostInit, PostResult } from './client.js';
export type { ResolveFn } from './connector.js';
export { BLOCKED_ADDRESS_MESSAGE, OutboundError } from './errors.js';
export type { OutboundErrorCode } from './errors.js';

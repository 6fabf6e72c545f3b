// Entry point so callers can import 'core/outbound.js'; the code lives in core/outbound/.
export * from './outbound/index.js';

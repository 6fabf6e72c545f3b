// What a client may read about a failure. A refused destination must not name
// the address its host resolved to: answered to clients (scrape errors, job
// errors, webhook delivery records), that would let any key map internal DNS
// ("which names resolve to which private addresses"). The full message is for
// the log only.
import { BLOCKED_ADDRESS_MESSAGE, OutboundError } from './index.js';

/** The error's message as a client may see it (a refused destination: always the generic reason, however the error was built). */
export function clientMessage(err: unknown): string {
  if (err instanceof OutboundError && err.code === 'blocked_address') return BLOCKED_ADDRESS_MESSAGE;
  return err instanceof Error ? err.message : String(err);
}

/** The full message when it differs from the client's, for the log. */
export function logDetail(err: unknown): string | undefined {
  if (err instanceof OutboundError && err.detail !== undefined) return err.detail;
  const full = err instanceof Error ? err.message : String(err);
  return full === clientMessage(err) ? undefined : full;
}

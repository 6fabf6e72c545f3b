// How long a host that answered 429 or 503 is left alone by every worker
// (hosts.ts slowHost): its Retry-After (RFC 9110 §10.2.3: delay-seconds or an
// HTTP-date), bounded, or a default when it sent none we can read.
import { OutboundError } from '../outbound/errors.js';

/** At least this: "0" or a date already past still says "too fast", and a pause shorter than a second changes nothing. */
export const RETRY_AFTER_MIN_MS = 1_000;
/**
 * At most this: a host cannot park a crawl of it (and every other job's pages
 * of it) for hours or days; after 10 min it is asked again, and a page that
 * keeps being refused fails once its attempts (JOB_MAX_ATTEMPTS) are spent.
 */
export const RETRY_AFTER_MAX_MS = 600_000;
/** A 429/503 without a Retry-After we can read. */
export const BUSY_HOST_PAUSE_MS = 10_000;
/** RFC 9110 §5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms recipients must still read (all GMT). */
const HTTP_DATE = [/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/, /^[A-Za-z]{6,9}, \d{2}-[A-Za-z]{3}-\d{2} \d{2}:\d{2}:\d{2} GMT$/];
const ASCTIME = /^[A-Za-z]{3} [A-Za-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/** An HTTP-date in ms since the epoch, or NaN. */
function httpDate(value: string): number {
  if (HTTP_DATE.some((re) => re.test(value))) return Date.parse(value);
  // asctime has no zone, and Date.parse would read it as local time.
  if (ASCTIME.test(value)) return Date.parse(`${value} GMT`);
  return NaN;
}

/** The pause a Retry-After value asks for, bounded to [RETRY_AFTER_MIN_MS, RETRY_AFTER_MAX_MS]; BUSY_HOST_PAUSE_MS when absent or unreadable. */
export function retryAfterPauseMs(header: string | undefined, nowMs = Date.now()): number {
  const value = header?.trim() ?? '';
  let ms: number;
  if (/^\d{1,9}$/.test(value)) ms = Number(value) * 1000;
  else if (/^\d+$/.test(value)) ms = RETRY_AFTER_MAX_MS;
  else if (Number.isFinite(httpDate(value))) ms = httpDate(value) - nowMs;
  else return BUSY_HOST_PAUSE_MS;
  return Math.min(RETRY_AFTER_MAX_MS, Math.max(RETRY_AFTER_MIN_MS, ms));
}

/** For a fetch that failed 429 or 503: how long every worker leaves the host alone; else null. */
export function busyHostPauseMs(err: unknown, nowMs = Date.now()): number | null {
  if (!(err instanceof OutboundError) || err.code !== 'http_status' || (err.status !== 429 && err.status !== 503)) return null;
  return retryAfterPauseMs(err.retryAfter, nowMs);
}

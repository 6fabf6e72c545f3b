// Telling a statement the database refused for its data from one that may
// never have reached it, or may have committed before the answer was lost.
import postgres from 'postgres';

/**
 * SQLSTATE classes 22 (data exception) and 23 (integrity constraint
 * violation): the server refused the values, so nothing was written and the
 * same statement would fail again. Anything else (a dropped connection, a
 * timeout, a shutdown) may have committed: not safe to write item by item again.
 */
export function isDataError(err: unknown): boolean {
  return err instanceof postgres.PostgresError && /^2[23]/.test(err.code);
}

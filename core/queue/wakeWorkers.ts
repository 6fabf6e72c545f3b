// Waking workers the moment work is committed.
import type { Sql } from '../platform/db.js';

interface WakeState {
  inFlight: boolean;
  again: boolean;
}
const wakeStates = new WeakMap<Sql, Map<string, WakeState>>();

/**
 * NOTIFY `channel` after the caller's commit. A transaction that notifies
 * holds a database-wide lock from just before its commit until the commit is
 * flushed, so transactions that NOTIFY commit one at a time: single-row
 * inserts with a NOTIFY managed 1,282/s at 32 clients against 8,201/s
 * without. The wake-up is therefore a statement of its own, committed
 * asynchronously (a wake-up lost in a crash costs at most a poll interval),
 * and coalesced: at most one in flight per channel, and one more after it
 * when anything asked meanwhile, so every commit is followed by a NOTIFY
 * sent after it.
 */
export function wakeWorkers(sql: Sql, channel: string): void {
  let byChannel = wakeStates.get(sql);
  if (!byChannel) wakeStates.set(sql, (byChannel = new Map()));
  let state = byChannel.get(channel);
  if (!state) byChannel.set(channel, (state = { inFlight: false, again: false }));
  if (state.inFlight) {
    state.again = true;
    return;
  }
  const s = state;
  const send = (): void => {
    s.inFlight = true;
    s.again = false;
    sql`select set_config('synchronous_commit', 'off', true), pg_notify(${channel}, '')`
      .then(
        () => {},
        () => {}, // the workers' poll catches what a lost wake-up announced
      )
      .finally(() => {
        s.inFlight = false;
        if (s.again) send();
      });
  };
  send();
}

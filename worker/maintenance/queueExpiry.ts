// Webhook deliveries have no heartbeat: an entry taken by a sender that died
// is handed out again once its attempt's time is up (the entry's expiry,
// WEBHOOK_TIMEOUT + 10 s). pg-boss's own maintenance does this every 30 s;
// running its expiry here as well shortens the wait, and doing it once per
// interval across all workers (pass.ts) rather than in each keeps its cost
// (a pass over pg-boss's live entries) independent of the number of workers.
import type { Boss } from '../../core/queue/index.js';
import type { PeriodicTask } from './pass.js';

/** A third of the default webhook entry expiry (10 s + 10 s). */
export const QUEUE_EXPIRY_INTERVAL_MS = 7000;

export async function expireQueueEntries(boss: Boss): Promise<void> {
  await boss.expire();
}

export function queueExpiryTask(boss: Boss, intervalMs = QUEUE_EXPIRY_INTERVAL_MS): PeriodicTask {
  return { name: 'queue-expiry', intervalMs, run: async () => void (await expireQueueEntries(boss)) };
}

// Loads and durations of the measurements, full and --quick.
export const PRODUCERS = 32;
export const lifecycleJobs = (quick: boolean) => (quick ? 5_000 : 20_000);
/** Peers too slow to drain everything are stopped here and rated on what they finished. */
export const lifecycleCapMs = (quick: boolean) => (quick ? 8_000 : 25_000);
export const pickupJobs = (quick: boolean) => (quick ? 100 : 500);
export const PICKUP_PER_SECOND = 20;
/** Jobs sent first and not counted (JIT, connection warm-up). */
export const PICKUP_WARMUP = 20;
export const acceptSeconds = (quick: boolean) => (quick ? 3 : 10);
export const ACCEPT_CONNECTIONS = 32;
export const ACCEPT_KEYS = 8;
export const RUNS = 3;

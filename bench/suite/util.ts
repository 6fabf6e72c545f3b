// Small helpers shared by the measurements.
import { percentile } from '../../testing/tempDatabase.js';

export { percentile };
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Call `fn(i)` for i in [0, total) with at most `concurrency` calls in flight, like that many clients in a loop. */
export async function concurrently(total: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const client = async () => {
    while (next < total) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, client));
}

/** Poll `check` every `everyMs` until it holds; false when `timeoutMs` ran out first. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) return false;
    await sleep(everyMs);
  }
  return true;
}

/** Send `count` items at a steady `perSecond`, each on its own schedule (a slow send does not delay the next). */
export async function steadyRate(count: number, perSecond: number, send: (i: number) => Promise<void>): Promise<void> {
  const interval = 1000 / perSecond;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const due = started + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inFlight.push(send(i));
  }
  await Promise.all(inFlight);
}

/** Latencies (ms) → p50 and p99. */
export function latencySummary(ms: number[]): { p50: number; p99: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s.at(-1) ?? NaN };
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Pickup latencies (handler start − commit returned, ms) of the counted jobs, as a run result. */
export function pickupResult(label: string, committed: Map<string, number>, started: Map<string, number>, warmup: number) {
  const counted = [...committed].slice(warmup);
  const missing = counted.filter(([id]) => !started.has(id)).length;
  if (missing) throw new Error(`${label}: ${missing} of ${counted.length} jobs never started`);
  // The handler can start before the submitter's await resumes (the notification won the race): that is 0.
  const { p50, p99, max } = latencySummary(counted.map(([id, t]) => Math.max(0, started.get(id)! - t)));
  return { values: { pickup_p50: p50, pickup_p99: p99 }, notes: [`${label} pickup max ${round(max, 2)} ms`] };
}

/**
 * CPU per job over a stretch of a run: this process's (user + system, from
 * process.cpuUsage) and the database server's (BenchServer.cpuMs), in µs per
 * job. Unlike jobs/s, barely moved by other load on the machine.
 */
export function cpuPerJob(server: { cpuMs(): number }): (jobs: number) => string {
  const own = process.cpuUsage();
  const db = server.cpuMs();
  return (jobs) => {
    const used = process.cpuUsage(own);
    const ownUs = (used.user + used.system) / jobs;
    const dbUs = ((server.cpuMs() - db) * 1000) / jobs;
    return `CPU per job: this process ${Math.round(ownUs)} µs, database ${Math.round(dbUs)} µs`;
  };
}

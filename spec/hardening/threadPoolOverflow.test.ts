// The thread pool's overflow (core/threads.ts): when every thread has run its task overflowAfterMs, a task of an
// owner with nothing running gets one more thread. The wake-up is a timer, and a timer may fire a fraction of a
// millisecond before performance.now() says the time is up; the pool used to compare clocks there, find the task
// not yet slow, and never grow, so the other owner waited for the slow task's end (seen in CI as a flaky
// POST /v1/scrape fairness test). A short overflowAfterMs, tried many times, meets that early firing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ThreadPool } from '../../core/threads.js';

type Task = { name: string; ms: number; release?: SharedArrayBuffer };

describe('ThreadPool overflow', () => {
  test('another owner gets an extra thread every time a task outlasts overflowAfterMs', async () => {
    const pool = new ThreadPool<Task, string>({ callerUrl: import.meta.url, entry: '../fixtures/threads/blockingThread', label: 'test', size: 1, overflowAfterMs: 3, maxOverflow: 1 });
    try {
      await pool.run({ name: 'warm', ms: 0 }, 'a'); // the first thread is booted before the rounds
      const late: number[] = [];
      for (let round = 0; round < 10 && late.length === 0; round++) {
        // The slow task holds its thread until the other owner's task is answered, or 20 s: the other task's
        // extra thread boots in under a second, so only a pool that never grew waits that long.
        const release = new SharedArrayBuffer(4);
        const order: string[] = [];
        const slow = pool.run({ name: 'slow', ms: 20_000, release }, 'a').then((n) => order.push(n));
        await new Promise((r) => setTimeout(r, 1));
        const other = pool.run({ name: 'other', ms: 0 }, 'b').then((n) => order.push(n));
        await Promise.race([other, slow]);
        Atomics.store(new Int32Array(release), 0, 1);
        Atomics.notify(new Int32Array(release), 0);
        await Promise.all([slow, other]);
        if (order[0] !== 'other') late.push(round);
      }
      assert.deepEqual(late, [], 'a round in which the other owner waited for the slow task');
    } finally {
      await pool.close();
    }
  });
});

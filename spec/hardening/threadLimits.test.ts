// Every thread the service starts (core/threads.ts) has its young generation capped at THREAD_YOUNG_GENERATION_MB,
// beside whatever heap limit its caller sets: V8's default (48 MB a thread) cost the pipeline bench's npm start
// about 100 MB of its peak (docs/benchmarks.md).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { ResourceLimits } from 'node:worker_threads';
import { describe, test } from 'node:test';
import { startThread, ThreadPool, THREAD_YOUNG_GENERATION_MB } from '../../core/threads.js';

const ENTRY = '../fixtures/threads/limitsThread';

describe('thread engine limits', () => {
  test('a thread started alone runs with the capped young generation', async () => {
    const thread = startThread(import.meta.url, ENTRY);
    try {
      const [message] = (await once(thread, 'message')) as [{ limits: ResourceLimits }];
      assert.equal(message.limits.maxYoungGenerationSizeMb, THREAD_YOUNG_GENERATION_MB);
    } finally {
      await thread.terminate();
    }
  });

  test("a pool thread gets the cap beside the pool's heap limit", async () => {
    const pool = new ThreadPool<null, ResourceLimits>({ callerUrl: import.meta.url, entry: ENTRY, label: 'test', size: 1, heapMb: 96 });
    try {
      const limits = await pool.run(null, 'a');
      assert.equal(limits.maxYoungGenerationSizeMb, THREAD_YOUNG_GENERATION_MB);
      assert.equal(limits.maxOldGenerationSizeMb, 96);
    } finally {
      await pool.close();
    }
  });

  test("a caller's own young generation wins", async () => {
    const thread = startThread(import.meta.url, ENTRY, { resourceLimits: { maxYoungGenerationSizeMb: 24 } });
    try {
      const [message] = (await once(thread, 'message')) as [{ limits: ResourceLimits }];
      assert.equal(message.limits.maxYoungGenerationSizeMb, 24);
    } finally {
      await thread.terminate();
    }
  });
});

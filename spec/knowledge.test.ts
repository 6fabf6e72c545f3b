// The process's model and index (core/modelAndIndex.ts): loaded once, shared, and
// loaded again when the model's thread has died.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coreOf } from '../core/embeddings/load.js';
import { openKnowledge } from '../core/modelAndIndex.js';
import { createSilentLogger } from '../core/platform/logger.js';
import { onCleanup } from './helpers/cleanup.js';
import { testConfig } from './helpers/config.js';
import { createTestDatabase } from './helpers/database.js';

test('one model per process, loaded again after its thread dies', async () => {
  const db = await createTestDatabase();
  const knowledge = openKnowledge(testConfig(), db.sql, createSilentLogger());
  onCleanup(() => knowledge.close());

  const first = await knowledge.embedder();
  assert.equal(await knowledge.embedder(), first, 'the same handle while it works');
  assert.equal((await knowledge.index()).kind, 'postgres');
  const [before] = await first.embed(['a sentence to embed']);

  await coreOf(first)?.thread.worker.terminate();
  assert.equal(first.usable, false);
  await assert.rejects(first.embed(['x']), /stopped unexpectedly/);

  const second = await knowledge.embedder();
  assert.notEqual(second, first);
  assert.equal(second.usable, true);
  const [after] = await second.embed(['a sentence to embed']);
  assert.deepEqual(Array.from(after as Float32Array), Array.from(before as Float32Array), 'a fresh thread on the same model');
});

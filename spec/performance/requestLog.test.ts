// The request log line is written without winston's stream machinery
// (logHot), and must still be exactly the line logger.log would write:
// same fields, same redaction of secrets and query strings, sorted keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, logHot } from '../../core/platform/logger.js';

test('logHot writes the line logger.log writes, and the lines of one event-loop turn in one write', async () => {
  const logger = createLogger('info', { service: 'gleaner-test' });
  const fields = { requestId: 'r-1', method: 'POST', path: '/v1/x?token=abc&plain', status: 202, ms: 1.5, apiKeyId: 'key_a', jobId: undefined, note: 'knowledgesdk_live_abcdefghijklmnop', key: 'hidden' };
  const writes: string[] = [];
  const write = process.stdout.write;
  // Log lines are captured; anything else (node:test's own messages to its parent) passes through.
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: never[]) =>
    typeof chunk === 'string' && chunk.startsWith('{') ? (writes.push(chunk), true) : write.call(process.stdout, chunk, ...rest)) as typeof process.stdout.write;
  try {
    logger.log('info', 'request', fields);
    logHot(logger, 'info', 'request', fields);
    logHot(logger, 'info', 'request', { ...fields, status: 201 });
    logHot(logger, 'debug', 'request', fields); // below the level: not written
    await new Promise((r) => setImmediate(r));
  } finally {
    process.stdout.write = write;
  }
  assert.equal(writes.length, 2, `one write from winston, one for both hot lines: ${JSON.stringify(writes)}`);
  const parse = (line: string) => {
    const { timestamp, ...rest } = JSON.parse(line) as Record<string, unknown>;
    assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT/);
    return rest;
  };
  const hot = writes[1]!.split('\n').filter(Boolean);
  assert.equal(hot.length, 2);
  assert.deepEqual(parse(hot[0]!), parse(writes[0]!));
  assert.deepEqual(Object.keys(JSON.parse(hot[0]!)), Object.keys(JSON.parse(writes[0]!)), 'same key order');
  assert.equal(parse(hot[0]!).path, '/v1/x?token=[redacted]&[redacted]');
  assert.equal(parse(hot[0]!).key, '[redacted]');
  assert.ok(!writes.join('').includes('abcdefghijklmnop'));
  assert.equal(parse(hot[1]!).status, 201);
});

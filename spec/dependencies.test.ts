// Fixes we apply to dependencies at install time must really be in place.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

test('postgres.js is patched against writes to a closed socket (patches/postgres+3.4.9.patch, applied by patch-package)', () => {
  const entry = fileURLToPath(import.meta.resolve('postgres'));
  const connection = fs.readFileSync(entry.replace(/index\.js$/, 'connection.js'), 'utf8');
  assert.match(connection, /function nextWrite\(fn\) \{\n\s+if \(!socket\) return/);
  assert.equal(connection.match(/chunk = nextWriteTimer = null \/\/ gleaner/g)?.length, 2, 'terminate() and closed() reset the write timer');
});

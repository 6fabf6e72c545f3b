// postinstall: guard postgres.js 3.4.x's deferred socket write (porsager/postgres
// #1066, #1154, #1208; fix proposed in PR #1168/#1176, unreleased in 3.4.9).
// A write deferred with setImmediate can fire after the connection closed and
// dereference a null socket: an uncatchable TypeError that kills the process
// during a database outage (seen in our chaos run). Teardown also clears the
// timer without resetting it, so a reconnected socket never flushes again.
// Each edit is an exact replacement; if the text is not found (another
// version), nothing is changed and a warning says so.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const EDITS = [
  [
    'function nextWrite(fn) {\n    const x = socket.write(chunk, fn)',
    'function nextWrite(fn) {\n    if (!socket) return (chunk = nextWriteTimer = null, false) // gleaner: connection already closed\n    const x = socket.write(chunk, fn)',
  ],
  [
    '    clearImmediate(nextWriteTimer)\n    if (socket) {',
    '    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null // gleaner: let a later connection flush again\n    if (socket) {',
  ],
  [
    '    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer)\n',
    '    remaining = 0\n    incomings = null\n    clearImmediate(nextWriteTimer)\n    chunk = nextWriteTimer = null // gleaner: let a later connection flush again\n',
  ],
];

let root;
try {
  // The package does not export its package.json: go up from its entry point.
  root = path.dirname(createRequire(import.meta.url).resolve('postgres'));
  const isPackageRoot = (dir) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).name === 'postgres';
    } catch {
      return false;
    }
  };
  while (!isPackageRoot(root)) {
    if (root === path.dirname(root)) process.exit(0);
    root = path.dirname(root);
  }
} catch {
  process.exit(0); // not installed (yet): nothing to patch
}
for (const file of ['src/connection.js', 'cjs/src/connection.js']) {
  const target = path.join(root, file);
  if (!fs.existsSync(target)) continue;
  let text = fs.readFileSync(target, 'utf8');
  if (text.includes('// gleaner:')) continue; // already patched
  const missing = EDITS.filter(([from]) => !text.includes(from));
  if (missing.length) {
    console.warn(`patch-postgres: ${file} does not match the expected postgres.js source; left unpatched`);
    continue;
  }
  for (const [from, to] of EDITS) text = text.replace(from, to);
  fs.writeFileSync(target, text);
}

// The postgres.js fix is applied by patch-package in postinstall; a process
// must refuse to start on a driver without it, not merely warn.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { assertPostgresDriverPatched, postgresDriverProblem } from '../../core/platform/db.js';

const installed = fileURLToPath(import.meta.resolve('postgres')).replace(/index\.js$/, 'connection.js');
const root = path.resolve(import.meta.dirname, '../..');

test('the installed driver is patched, and postinstall applies the patch with patch-package', () => {
  assert.equal(postgresDriverProblem(), null);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.match(pkg.scripts.postinstall, /^patch-package\b/);
  assert.ok(pkg.dependencies['patch-package'], 'a dependency, so production installs (--omit=dev) apply it too');
  const patch = fs.readFileSync(path.join(root, `patches/postgres+${pkg.dependencies.postgres}.patch`), 'utf8');
  assert.match(patch, /\+\s+if \(!socket\) return .*\/\/ gleaner:/);
});

test('an unpatched driver stops start-up with a message saying what to run', () => {
  // The pristine upstream file: the patch only adds lines carrying the marker.
  const pristine = fs.readFileSync(installed, 'utf8').split('\n').filter((l) => !l.includes('// gleaner:')).join('\n');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gleaner-driver-'));
  const file = path.join(dir, 'connection.js');
  fs.writeFileSync(file, pristine);
  try {
    assert.match(postgresDriverProblem(file) ?? '', /not patched/);
    assert.throws(() => assertPostgresDriverPatched(file), /not patched: a database outage could crash the process\. Run `npx patch-package`/);
    assert.throws(() => assertPostgresDriverPatched(path.join(dir, 'missing.js')), /could not be checked/);
    assert.doesNotThrow(() => assertPostgresDriverPatched(installed));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

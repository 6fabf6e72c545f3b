// The test runner as spec/run.ts starts it (spec/helpers/testRunner.ts) reports
// every result of a file, and a file that loses results or stops early fails
// the run. Before spec/reportGuard.ts, --test-force-exit ended a file's process
// with the tail of its report still queued on the pipe: the run showed fewer
// tests and stayed green (spec/outbound/ssrf.test.ts, 19 tests short in CI).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { testRunnerArgs } from '../helpers/testRunner.js';

const root = path.resolve(import.meta.dirname, '../..');
// Hundreds of results in one burst, in suites like spec/outbound/ssrf.test.ts's:
// the report overflows the pipe (64 KB) while the runner is still reading.
const BURST = 400;
const burst = `for (let j = 0; j < ${BURST / 50}; j++) describe(\`suite \${j}\`, () => { for (let i = 0; i < 50; i++) it(\`case \${i} of suite \${j}\`, () => {}); });\n`;
const fixtures = {
  'burst.test.mjs': `import { describe, it } from 'node:test';\n${burst}`,
  'failLast.test.mjs': `import { describe, it } from 'node:test';\n${burst}describe('last', () => { it('fails after the burst', () => { throw new Error('deliberate failure after the burst'); }); });\n`,
  'exits.test.mjs': `import { test } from 'node:test';\ntest('first', () => {});\ntest('exits', () => { process.exit(0); });\ntest('never runs', () => {});\n`,
};

type Run = { code: number | null; output: string; tests: number; fail: number };

let dir: string;
async function runFile(name: keyof typeof fixtures): Promise<Run> {
  // The runner skips its files when it finds itself inside a test file's process.
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, ['--test-reporter=tap', ...testRunnerArgs([path.join(dir, name)], 2)], { cwd: root, env });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const count = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, 'm').exec(output)?.[1] ?? NaN);
  return { code, output, tests: count('tests'), fail: count('fail') };
}

describe('the test runner as spec/run.ts starts it', () => {
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'gleaner-runner-'));
    for (const [name, text] of Object.entries(fixtures)) await fs.writeFile(path.join(dir, name), text);
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('reports every test of a file that finishes hundreds of tests in one burst, run after run', async () => {
    for (let i = 0; i < 6; i++) {
      const run = await runFile('burst.test.mjs');
      assert.equal(run.tests, BURST, `run ${i + 1}: tests reported\n${run.output.slice(-600)}`);
      assert.equal(run.code, 0, `run ${i + 1}: exit code`);
    }
  });

  it('names a test that fails after such a burst, and exits non-zero', async () => {
    for (let i = 0; i < 2; i++) {
      const run = await runFile('failLast.test.mjs');
      assert.equal(run.tests, BURST + 1, `run ${i + 1}: tests reported\n${run.output.slice(-600)}`);
      assert.equal(run.fail, 1, `run ${i + 1}: failures reported`);
      assert.match(run.output, /not ok \d+ - fails after the burst/);
      assert.match(run.output, /deliberate failure after the burst/);
      assert.notEqual(run.code, 0, `run ${i + 1}: exit code`);
    }
  });

  it('fails a file whose process exits before its tests have finished', async () => {
    const run = await runFile('exits.test.mjs');
    assert.match(run.output, /exited \(code 0\) before all its tests had finished/);
    assert.notEqual(run.code, 0, `exit code\n${run.output.slice(-600)}`);
  });
});

// Loaded by spec/run.ts (--import) into each test file's process, so that every
// result a file produces reaches the runner, and a file whose report is cut
// short fails instead of passing with fewer tests.
//
// Each file runs in a child that streams its results to the runner over a pipe.
// With --test-force-exit the child calls process.exit() once its results are
// queued, and on Linux that pipe is non-blocking: whatever did not fit in it
// (the parent reads while it parses other files) was dropped. The run showed
// fewer tests and stayed green (spec/outbound/ssrf.test.ts: 140 tests, ~124 KB
// of results in a burst, reported 121-139 of them in 11 runs of 21; nodejs/node#64833).
// A failure among the dropped results still turned the run red (the child's
// exit code), but named only the file, not the test.
import fs from 'node:fs';
import { after } from 'node:test';

type BlockingHandle = { setBlocking?: (blocking: boolean) => number };

if (process.env.NODE_TEST_CONTEXT === 'child-v8' && /\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  // Blocking writes: each result is in the pipe before the next test runs, so
  // the exit cannot drop any.
  (process.stdout as unknown as { _handle?: BlockingHandle })._handle?.setBlocking?.(true);

  // The root's after hook runs once every test of the file has finished; a
  // process that exits before it (a test calling process.exit) skipped tests.
  let finished = false;
  after(() => {
    finished = true;
  });
  process.on('exit', (code) => {
    const unwritten = process.stdout.writableLength;
    const file = process.argv[1];
    if (!finished) {
      fs.writeSync(2, `reportGuard: ${file} exited (code ${code}) before all its tests had finished; the rest were never run\n`);
      process.exitCode = 1;
    }
    if (unwritten > 0) {
      fs.writeSync(2, `reportGuard: ${file} exited with ${unwritten} bytes of its test report unwritten; some results are missing\n`);
      process.exitCode = 1;
    }
    // GLEANER_TEST_OPEN_HANDLES=1 names what each file leaves open (what would
    // keep it alive without --test-force-exit).
    if (process.env.GLEANER_TEST_OPEN_HANDLES) {
      const open = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap');
      // Less the pipes of stdout and stderr, which every file has.
      for (const _ of [1, 2]) if (open.includes('PipeWrap')) open.splice(open.indexOf('PipeWrap'), 1);
      fs.writeSync(2, `reportGuard: ${file} open at exit: ${open.join(', ') || 'nothing'}\n`);
    }
  });
}

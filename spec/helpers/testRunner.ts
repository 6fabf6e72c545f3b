// How spec/run.ts starts node's test runner, shared with the test that checks
// every result of a file reaches it (spec/hardening/testRunner.test.ts).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const guard = pathToFileURL(path.resolve(import.meta.dirname, '../reportGuard.ts')).href;

/** node's arguments to run `files`: --test-force-exit ends each file's process once its tests are done (some leave handles open); spec/reportGuard.ts makes that exit lose no result and fails a file whose report is cut short or that exits before its tests end. */
export function testRunnerArgs(files: string[], concurrency: number): string[] {
  return ['--import', 'tsx', '--import', guard, '--test', '--test-force-exit', `--test-concurrency=${concurrency}`, ...files];
}

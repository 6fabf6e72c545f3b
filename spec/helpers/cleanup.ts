import { after } from 'node:test';

// Helpers are often called from a before() hook, where node:test would attach
// an after() to that hook and run it at once; register one file-level hook here
// instead (this module is imported at a test file's top level).
const cleanups: (() => Promise<void> | void)[] = [];

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** Run `fn` when the test file ends, last registered first. */
export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

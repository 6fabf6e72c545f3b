// Starts a worker thread on a module beside the caller. Run from source (tsx)
// the caller and its entry are .ts files; compiled, both are .js and the entry
// loads as it is.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `new Worker` on `./<name>` beside `callerUrl` (pass import.meta.url), with the caller's extension. */
export function startThread(callerUrl: string, name: string, options: WorkerOptions = {}): Worker {
  const ext = path.extname(fileURLToPath(callerUrl));
  const entry = new URL(`./${name}${ext}`, callerUrl);
  if (ext !== '.ts') return new Worker(entry, options);
  // Node 20 does not run --import preloads in worker threads, so tsx (which `tsx script.ts` and
  // `node --import tsx --test` put in execArgv) is missing there and a .ts entry fails with
  // ERR_UNKNOWN_FILE_EXTENSION. The thread registers tsx itself when, and only when, it needs to;
  // the retry's query makes a new URL because the loader caches the failed import of the plain one.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `const entry = ${JSON.stringify(entry.href)};
import(entry).catch(async (err) => {
  if (err?.code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw err;
  (await import(${JSON.stringify(tsx)})).register();
  await import(entry + '?tsx');
});`;
  return new Worker(boot, { ...options, eval: true });
}

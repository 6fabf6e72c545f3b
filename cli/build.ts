// `npm run build` (run by `npm start`, `npm run server` and `npm run worker`
// before they start): the service's TypeScript as plain JavaScript in dist/,
// beside a copy of sql/. Run from source every thread (the main one, the
// embedding thread, each extraction thread) loads tsx's loader and its own
// hooks thread, 25–35 MB each (docs/benchmarks.md); compiled, none does.
// esbuild only strips the types (one output file per module, imports kept):
// `npm run typecheck` is what checks them.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** The folders the service runs from; bench, chaos, testing and spec stay on tsx. */
export const SOURCE_DIRS = ['core', 'server', 'worker', 'cli'];

/** Every module of SOURCE_DIRS under `root`, relative to it. */
function sourceFiles(root: string): string[] {
  return SOURCE_DIRS.flatMap((dir) =>
    fs
      .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
      .map((f) => path.join(dir, f)),
  );
}

/** Writes `outDir` afresh (no module of an earlier build left behind) from the project at `root`. */
export async function buildService(root: string, outDir: string): Promise<void> {
  fs.rmSync(outDir, { recursive: true, force: true });
  await build({
    absWorkingDir: root,
    entryPoints: sourceFiles(root),
    outdir: outDir,
    outbase: '.',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
  });
  // The migrations and reports are read from ../sql beside the compiled modules, as beside the sources.
  fs.cpSync(path.join(root, 'sql'), path.join(outDir, 'sql'), { recursive: true });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const root = path.resolve(import.meta.dirname, '..');
  await buildService(root, path.resolve(root, process.argv[2] ?? 'dist'));
}

// `npm run build` (run by `npm start`, `npm run server` and `npm run worker`
// before they start): the service's TypeScript as plain JavaScript under
// dist/, beside a copy of sql/. Run from source every thread (the main one,
// the embedding thread, each extraction thread) loads tsx's loader and its
// own hooks thread, 23–35 MB each (docs/benchmarks.md); compiled, none does.
// esbuild only strips the types (one output file per module, imports kept):
// `npm run typecheck` is what checks them.
//
// Several processes may run from one checkout, and each starts threads from
// its build's files long after it started. So a build is never rewritten:
// dist/builds/<digest of the sources> is written once (into a temporary
// directory renamed into place, so two processes starting together cannot mix
// their files) and dist/current, a link switched atomically, names the newest.
// Node resolves the link when it loads the entry module, so a process keeps
// loading from its own build after a newer one becomes current.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, version as esbuildVersion } from 'esbuild';

/** The folders the service runs from; bench, chaos, testing and spec stay on tsx. */
const SOURCE_DIRS = ['core', 'server', 'worker', 'cli'];
/** Older builds kept beside the current one, for processes started from them. */
const KEPT_BUILDS = 10;

/** Every file under `dir` of `root` (relative to root) that `keep` accepts, in a stable order. */
function filesUnder(root: string, dir: string, keep: (file: string) => boolean): string[] {
  return fs
    .readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter(keep)
    .map((f) => path.join(dir, f))
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
    .sort();
}

const sourceFiles = (root: string) => SOURCE_DIRS.flatMap((dir) => filesUnder(root, dir, (f) => f.endsWith('.ts') && !f.endsWith('.d.ts')));

/** The service's modules `sources` (sourceFiles) compiled into `outDir` (new or empty) from the project at `root`. */
async function compileService(root: string, sources: string[], outDir: string): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: sources,
    outdir: outDir,
    outbase: '.',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Beside each module for a debugger or `node --enable-source-maps`, which the npm scripts leave off:
    // it keeps every module's map in memory in every thread (idle RSS +10 MB in the pipeline bench).
    sourcemap: true,
    logLevel: 'warning',
  });
  // The migrations and reports are read from ../sql beside the compiled modules, as beside the sources.
  fs.cpSync(path.join(root, 'sql'), path.join(outDir, 'sql'), { recursive: true });
}

/** What a build is made of: the service's modules `sources`, sql/ and esbuild's version. */
function sourceDigest(root: string, sources: string[]): string {
  const hash = createHash('sha256').update(`esbuild ${esbuildVersion}\n`);
  for (const file of [...sources, ...filesUnder(root, 'sql', () => true)]) {
    hash.update(`${file}\n`).update(fs.readFileSync(path.join(root, file))).update('\n');
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * `<distDir>/current` linked to the build of the sources at `root`, compiled
 * when there is none yet; returns the build's directory. Builds beyond the
 * KEPT_BUILDS newest others are removed.
 */
export async function buildCurrent(root: string, distDir = path.join(root, 'dist')): Promise<string> {
  const builds = path.join(distDir, 'builds');
  fs.mkdirSync(builds, { recursive: true });
  const sources = sourceFiles(root);
  const digest = sourceDigest(root, sources);
  const target = path.join(builds, digest);
  if (!fs.existsSync(target)) {
    const temporary = fs.mkdtempSync(path.join(builds, '.partial-'));
    fs.chmodSync(temporary, 0o755); // mkdtemp's 0700 would keep other users (a service account) out
    try {
      await compileService(root, sources, temporary);
      fs.renameSync(temporary, target);
    } catch (err) {
      fs.rmSync(temporary, { recursive: true, force: true });
      // Another process renamed the same build into place first: use it.
      if (!(fs.existsSync(target) && ['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? ''))) throw err;
    }
  }
  const link = path.join(distDir, `.current-${process.pid}`);
  fs.rmSync(link, { force: true });
  fs.symlinkSync(path.join('builds', digest), link);
  fs.renameSync(link, path.join(distDir, 'current'));
  fs.utimesSync(target, new Date(), new Date());
  removeOldBuilds(builds, digest);
  return target;
}

/** An unfinished build this old was left by a build that died. */
const ABANDONED_AFTER_MS = 3_600_000;

function removeOldBuilds(builds: string, current: string): void {
  const entries = fs.readdirSync(builds).map((name) => ({ name, at: fs.statSync(path.join(builds, name)).mtimeMs }));
  for (const { name, at } of entries) {
    if (name.startsWith('.partial-') && Date.now() - at > ABANDONED_AFTER_MS) fs.rmSync(path.join(builds, name), { recursive: true, force: true });
  }
  const others = entries
    .filter(({ name }) => name !== current && !name.startsWith('.'))
    .sort((a, b) => b.at - a.at);
  for (const { name } of others.slice(KEPT_BUILDS)) fs.rmSync(path.join(builds, name), { recursive: true, force: true });
}

const invokedAs = process.argv[1];
if (invokedAs !== undefined && fs.existsSync(invokedAs) && fs.realpathSync(invokedAs) === fs.realpathSync(fileURLToPath(import.meta.url))) {
  await buildCurrent(path.resolve(import.meta.dirname, '..'));
}

// cli/build.ts, what npm start runs first: a build of the sources is written once under builds/<digest> and
// dist/current links to it, so processes started from one checkout never see their build rewritten under them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { buildCurrent } from '../cli/build.js';
import { newDistDir, projectRoot } from '../testing/serviceProcess.js';
import { onCleanup } from './helpers/cleanup.js';

function tempDist(): string {
  const dir = newDistDir();
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('npm run build', () => {
  test('builds once for the same sources, with the migrations beside the modules, and links current to it', async () => {
    const dist = tempDist();
    const first = await buildCurrent(projectRoot, dist);
    assert.equal(fs.realpathSync(path.join(dist, 'current')), first);
    assert.ok(fs.statSync(path.join(first, 'cli', 'start.js')).isFile());
    assert.ok(fs.readdirSync(path.join(first, 'sql', 'migrations')).some((f) => f.startsWith('001')));
    const inode = fs.statSync(path.join(first, 'core', 'threads.js')).ino;

    const again = await buildCurrent(projectRoot, dist);
    assert.equal(again, first);
    assert.equal(fs.statSync(path.join(first, 'core', 'threads.js')).ino, inode, 'the build was not rewritten');
    assert.deepEqual(fs.readdirSync(path.join(dist, 'builds')), [path.basename(first)]);
  });

  test('two builds at once leave one complete build and no partial one', async () => {
    const dist = tempDist();
    const [a, b] = await Promise.all([buildCurrent(projectRoot, dist), buildCurrent(projectRoot, dist)]);
    assert.equal(a, b);
    assert.deepEqual(fs.readdirSync(path.join(dist, 'builds')), [path.basename(a)]);
    assert.ok(fs.statSync(path.join(a, 'worker', 'main.js')).isFile());
  });

  test('older builds stay for the processes started from them, up to the ten newest', async () => {
    const dist = tempDist();
    const builds = path.join(dist, 'builds');
    fs.mkdirSync(builds, { recursive: true });
    for (let i = 0; i < 12; i++) {
      const dir = path.join(builds, `older-${String(i).padStart(2, '0')}`);
      fs.mkdirSync(dir);
      const at = new Date(Date.now() - (12 - i) * 60_000); // older-11 is the newest
      fs.utimesSync(dir, at, at);
    }
    const current = await buildCurrent(projectRoot, dist);
    const left = fs.readdirSync(builds).sort();
    assert.deepEqual(left, [...Array.from({ length: 10 }, (_, i) => `older-${String(i + 2).padStart(2, '0')}`), path.basename(current)].sort());
  });
});

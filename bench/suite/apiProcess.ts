// The API (server/main.ts) as a child process, so the load generator does not
// share its event loop. Its log (LOG_LEVEL=info: one line per request, as in
// production) goes to a file rather than through a pipe this process parses.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { childEnv, projectRoot } from '../../testing/serviceProcess.js';
import { sleep } from './util.js';

/** A port nothing listens on right now, for a child process to bind. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export interface ApiProcess {
  baseUrl: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startApiProcess(env: Record<string, string>, logDir: string, opts: { cpuProfDir?: string } = {}): Promise<ApiProcess> {
  const port = await freePort();
  const out = fs.openSync(path.join(logDir, `api-${port}.log`), 'w');
  const child = spawn(process.execPath, [...(opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : []), '--import', 'tsx', 'server/main.ts'], {
    cwd: projectRoot,
    env: childEnv({ LOG_LEVEL: 'info', ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the API exited at start-up; see ${logDir}/api-${port}.log`);
    const ok = await fetch(`${baseUrl}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error('the API did not answer /healthz within 60 s');
    await sleep(100);
  }
  return {
    baseUrl,
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

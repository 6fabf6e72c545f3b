// Real child processes for the entry points (cli/start.ts, worker/main.ts,
// cli/keys.ts): spawn with a clean environment, read their JSON log lines,
// stop them with a signal, and kill whatever is left when the test file ends.
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnService, type Exit, type ServiceProcess } from '../../testing/serviceProcess.js';
import { onCleanup } from './cleanup.js';

export { buildServiceCopy, childEnv, projectRoot, type Exit, type LogLine, type ServiceProcess } from '../../testing/serviceProcess.js';

/** Spawn `node [--import tsx] <script> ...args` in the project root (spawnService); SIGKILLed when the test file ends if still alive. */
export function spawnScript(script: string, args: string[], env: Record<string, string>): ServiceProcess {
  const proc = spawnService(script, env, { args });
  onCleanup(async () => {
    if (proc.alive) {
      proc.kill('SIGKILL');
      await proc.exited;
    }
  });
  return proc;
}

/** Run a short-lived script to the end; killed after timeoutMs. */
export async function runScript(script: string, args: string[], env: Record<string, string>, timeoutMs = 30_000): Promise<Exit & { stdout: string; stderr: string }> {
  const proc = spawnScript(script, args, env);
  const killer = setTimeout(() => proc.child.kill('SIGKILL'), timeoutMs);
  const exit = await proc.exited;
  clearTimeout(killer);
  return { ...exit, stdout: proc.stdout(), stderr: proc.stderr() };
}

/** Whether a process exists and is not a zombie waiting to be reaped. */
export const pidAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
};

/** Pid of the postmaster recorded in `<pgData>/postmaster.pid`, if the file exists. */
export async function postmasterPidFromFile(pgData: string): Promise<number | undefined> {
  const text = await fs.readFile(path.join(pgData, 'postmaster.pid'), 'utf8').catch(() => undefined);
  const pid = text ? Number(text.split('\n')[0]) : NaN;
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Pids of PostgreSQL servers (postmasters) whose command line names `-D <pgData>`. */
export async function postmastersFor(pgData: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const argv = cmdline.split('\0');
    const i = argv.indexOf('-D');
    if (i >= 0 && path.resolve(argv[i + 1] ?? '') === path.resolve(pgData) && /postgres$/.test(argv[0] ?? '')) pids.push(Number(entry));
  }
  return pids;
}

/** Stop a PostgreSQL server left running on `pgData` (a test that failed half-way): fast shutdown, then kill. */
export async function stopLeftoverPostgres(pgData: string): Promise<void> {
  const pids = new Set(await postmastersFor(pgData));
  const fromFile = await postmasterPidFromFile(pgData);
  if (fromFile && pidAlive(fromFile)) pids.add(fromFile);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {}
  }
  const deadline = Date.now() + 10_000;
  for (const pid of pids) {
    while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
}

/** A stack trace printed by a process that should have exited with a plain message. */
export const STACK_TRACE = /^\s+at .+(:\d+:\d+\)?|\(node:)/m;

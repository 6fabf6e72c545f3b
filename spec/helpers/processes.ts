// Real child processes for the entry points (scripts/start.ts, worker/main.ts,
// scripts/keys.ts): spawn with a clean environment, read their JSON log lines,
// stop them with a signal, and kill whatever is left when the test file ends.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import readline from 'node:readline';
import { configVariableNames } from '../../core/config.js';
import { onCleanup } from './cleanup.js';

export const projectRoot = path.resolve(import.meta.dirname, '..', '..');

export interface LogLine {
  message: string;
  level: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  child: ChildProcess;
  pid: number;
  /** Wall-clock time of the spawn call. */
  spawnedAt: number;
  /** Every stdout line that parsed as a JSON log entry, with the time it arrived. */
  logs: (LogLine & { receivedAt: number })[];
  stdout(): string;
  stderr(): string;
  readonly alive: boolean;
  exited: Promise<Exit>;
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number, what?: string): Promise<LogLine & { receivedAt: number }>;
  /** Send a signal and wait for the exit (SIGKILL after timeoutMs); returns the exit and how long it took. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit & { ms: number }>;
}

/**
 * The test process's environment without any variable the service reads (so
 * a developer's DATABASE_URL or PORT cannot leak in) and without node:test's
 * own markers, plus `overrides`.
 */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of configVariableNames) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('NODE_TEST') || name === 'GLEANER_TEST_DATABASE_URL') delete env[name];
  delete env.NODE_OPTIONS;
  return { ...env, ...overrides };
}

/** Spawn `node --import tsx <script> ...args` in the project root. */
export function spawnScript(script: string, args: string[], env: Record<string, string>): ServiceProcess {
  const spawnedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: projectRoot,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const logs: ServiceProcess['logs'] = [];
  const waiters = new Set<() => void>();
  let alive = true;
  let stdoutClosed = false;

  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (err += chunk));
  const lines = readline.createInterface({ input: child.stdout! });
  lines.once('close', () => (stdoutClosed = true));
  lines.on('line', (line) => {
    out += line + '\n';
    try {
      const parsed = JSON.parse(line) as LogLine;
      if (parsed && typeof parsed === 'object' && typeof parsed.message === 'string') {
        logs.push({ ...parsed, receivedAt: Date.now() });
        for (const w of waiters) w();
      }
    } catch {
      // not a log line
    }
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on('exit', (code, signal) => {
      alive = false;
      // Let the last stdout lines drain before anyone looks at them.
      if (stdoutClosed) resolve({ code, signal });
      else lines.once('close', () => resolve({ code, signal }));
      setTimeout(() => resolve({ code, signal }), 500).unref();
      for (const w of waiters) w();
    });
  });

  const proc: ServiceProcess = {
    child,
    pid: child.pid!,
    spawnedAt,
    logs,
    stdout: () => out,
    stderr: () => err,
    get alive() {
      return alive;
    },
    exited,
    waitForLog(match, timeoutMs = 30_000, what = 'log line') {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = logs.find((l) => match(l));
          if (found) {
            done();
            resolve(found);
          } else if (!alive) {
            done();
            reject(new Error(`${script} exited before ${what}; stderr:\n${err}\nstdout:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${what} from ${script} within ${timeoutMs} ms; stderr:\n${err}\nstdout:\n${out}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 15_000) {
      const started = Date.now();
      if (alive) child.kill(signal);
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const exit = await exited;
      clearTimeout(killer);
      return { ...exit, ms: Date.now() - started };
    },
  };
  onCleanup(async () => {
    if (proc.alive) {
      child.kill('SIGKILL');
      await exited;
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

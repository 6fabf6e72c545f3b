// The service's entry points as real child processes, for the process tests
// (spec/helpers/processes.ts) and the chaos suite (chaos/harness.ts):
// a clean environment, JSON log lines parsed as they arrive, waiting for a
// line, stopping with a signal. Cleanup belongs to the caller. No node:test here.
import { spawn, type ChildProcess } from 'node:child_process';
import fs, { createWriteStream } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { buildCurrent } from '../cli/build.js';
import { configVariableNames } from '../core/platform/config.js';

export const projectRoot = path.resolve(import.meta.dirname, '..');

/** The stand-in embedding model the tests and the chaos suite run services on (written by ensureTestModel). */
export const standInModelDir = path.resolve(process.env.GLEANER_TEST_MODEL_DIR || path.join(projectRoot, '.test-data', 'model'));

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
  label: string;
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
  kill(signal?: NodeJS.Signals): void;
  /** Send a signal and wait for the exit (SIGKILL after timeoutMs); returns the exit and how long it took. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit & { ms: number }>;
}

/**
 * The parent's environment without any variable the service reads (so a
 * developer's DATABASE_URL or PORT cannot leak in) and without node:test's own
 * markers, plus `overrides`.
 */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of configVariableNames) delete env[name];
  for (const name of Object.keys(env)) if (name.startsWith('NODE_TEST') || name === 'GLEANER_TEST_DATABASE_URL') delete env[name];
  delete env.NODE_OPTIONS;
  // No model can be downloaded here: services run on the stand-in unless told otherwise.
  return { ...env, EMBEDDING_MODEL_DIR: standInModelDir, ...overrides };
}

const tail = (text: string) => (text.length > 4000 ? `…${text.slice(-4000)}` : text);

/** A new, empty dist directory under the project (so what is built in it finds node_modules); the caller removes it. */
export function newDistDir(): string {
  fs.mkdirSync(path.join(projectRoot, '.test-data'), { recursive: true });
  return fs.mkdtempSync(path.join(projectRoot, '.test-data', 'dist-'));
}

/**
 * The service built as `npm start` builds it (cli/build.ts's buildCurrent), in
 * a dist directory of its own (newDistDir); returns that directory's
 * `current`, whose `cli/start.js` is what npm start runs. The caller removes
 * the dist directory (its parent).
 */
export async function buildServiceCopy(): Promise<string> {
  const dist = newDistDir();
  await buildCurrent(projectRoot, dist);
  return path.join(dist, 'current');
}

/**
 * `node --import tsx <script> ...args` in the project root, or `node <script>`
 * for a compiled `.js` one (buildServiceCopy), as the npm scripts run it; with `logBase`, output is also
 * copied to `<logBase>.stdout.log` / `.stderr.log`.
 */
export function spawnService(script: string, env: Record<string, string>, opts: { args?: string[]; label?: string; logBase?: string } = {}): ServiceProcess {
  const label = opts.label ?? script;
  const spawnedAt = Date.now();
  const node = script.endsWith('.js') ? [script] : ['--import', 'tsx', script];
  const child = spawn(process.execPath, [...node, ...(opts.args ?? [])], {
    cwd: projectRoot,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const outFile = opts.logBase ? createWriteStream(`${opts.logBase}.stdout.log`) : null;
  const errFile = opts.logBase ? createWriteStream(`${opts.logBase}.stderr.log`) : null;
  let out = '';
  let err = '';
  const logs: ServiceProcess['logs'] = [];
  const waiters = new Set<() => void>();
  let alive = true;

  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
    errFile?.write(chunk);
  });
  const lines = readline.createInterface({ input: child.stdout! });
  const closed = new Promise<void>((resolve) => lines.once('close', () => resolve()));
  lines.on('line', (line) => {
    out += line + '\n';
    outFile?.write(line + '\n');
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
      for (const w of waiters) w();
      // Let the last stdout lines drain before anyone looks at them.
      void Promise.race([closed, new Promise((r) => setTimeout(r, 500).unref())]).then(() => {
        outFile?.end();
        errFile?.end();
        resolve({ code, signal });
      });
    });
  });

  const proc: ServiceProcess = {
    label,
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
            reject(new Error(`${label} exited before ${what}; stderr:\n${tail(err)}\nstdout:\n${tail(out)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${what} from ${label} within ${timeoutMs} ms; stderr:\n${tail(err)}\nstdout:\n${tail(out)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    kill(signal = 'SIGKILL') {
      if (alive) child.kill(signal);
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
  return proc;
}

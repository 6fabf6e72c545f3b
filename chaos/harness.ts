// What the chaos scenarios are made of: throwaway databases, the service's
// entry points as real child processes (every line of their output kept in
// files for the secrets scan), local HTTP servers, and small waiting and
// sampling helpers. Self-contained: nothing here imports node:test.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import postgres from 'postgres';
import { connect, type Sql } from '../core/platform/db.js';
import { migrate } from '../core/platform/migrations.js';
import { spawnService as spawnChild, type ServiceProcess } from '../testing/serviceProcess.js';

export { projectRoot } from '../testing/serviceProcess.js';
export { percentile } from '../testing/tempDatabase.js';
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Things to undo when a scenario ends, last first; errors are swallowed (best effort). */
export class Scope {
  private readonly undo: (() => Promise<void> | void)[] = [];
  defer(fn: () => Promise<void> | void): void {
    this.undo.push(fn);
  }
  async close(): Promise<void> {
    for (const fn of this.undo.reverse()) {
      try {
        await fn();
      } catch {
        // best effort
      }
    }
    this.undo.length = 0;
  }
}

/** Run `fn` with a scope that is always closed. */
export async function withScope<T>(fn: (scope: Scope) => Promise<T>): Promise<T> {
  const scope = new Scope();
  try {
    return await fn(scope);
  } finally {
    await scope.close();
  }
}

export { waitUntil } from '../testing/waitUntil.js';

// ---------------------------------------------------------------------------
// Databases

export interface ChaosDatabase {
  url: string;
  sql: Sql;
}

/** A new, migrated database on `serverUrl`, dropped when the scope closes. */
export async function createDatabase(serverUrl: string, scope: Scope, label: string): Promise<ChaosDatabase> {
  const name = `chaos_${label.replace(/\W/g, '_')}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = serverUrl.replace(/\/[^/?]*(\?.*)?$/, `/${name}`);
  const sql = connect(url, 5, 'gleaner-chaos');
  await migrate(sql);
  scope.defer(async () => {
    await sql.end({ timeout: 1 });
    await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end({ timeout: 1 });
  });
  return { url, sql };
}

// ---------------------------------------------------------------------------
// Child processes

export type { LogLine, ServiceProcess } from '../testing/serviceProcess.js';
export { childEnv } from '../testing/serviceProcess.js';

let spawned = 0;

/** An entry point as a child process; its stdout and stderr are copied to files in logDir for the secrets scan. */
export function spawnService(script: string, env: Record<string, string>, opts: { logDir: string; label: string; scope: Scope; args?: string[] }): ServiceProcess {
  const proc = spawnChild(script, env, { label: opts.label, args: opts.args ?? [], logBase: path.join(opts.logDir, `${opts.label}-${++spawned}`) });
  opts.scope.defer(async () => void (await proc.stop('SIGKILL', 1000)));
  return proc;
}

export interface ProcessOptions {
  logDir: string;
  scope: Scope;
  label?: string;
}

/** The API alone (server/main.ts) on a free port; resolves once it listens. */
export async function startApiProcess(env: Record<string, string>, opts: ProcessOptions): Promise<{ proc: ServiceProcess; baseUrl: string }> {
  const proc = spawnService('server/main.ts', { PORT: '0', LOG_LEVEL: 'info', ...env }, { ...opts, label: opts.label ?? 'api' });
  const line = await proc.waitForLog((l) => l.message === 'API listening', 60_000, "'API listening'");
  return { proc, baseUrl: String(line.url) };
}

/** A worker (worker/main.ts); resolves once it claims work, with its worker id. */
export async function startWorkerProcess(env: Record<string, string>, opts: ProcessOptions): Promise<{ proc: ServiceProcess; workerId: string }> {
  const proc = spawnService('worker/main.ts', { LOG_LEVEL: 'info', ...env }, { ...opts, label: opts.label ?? 'worker' });
  const line = await proc.waitForLog((l) => l.message === 'worker started', 60_000, "'worker started'");
  return { proc, workerId: String(line.workerId) };
}

/** Resident set size of a process in bytes (VmRSS), or null once it is gone. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Sample a process's RSS every `everyMs`; stop() returns the peak. */
export function sampleRss(pid: number, everyMs = 50): { stop(): number; peak(): number } {
  let peak = rssBytes(pid) ?? 0;
  const timer = setInterval(() => {
    const v = rssBytes(pid);
    if (v !== null && v > peak) peak = v;
  }, everyMs);
  timer.unref();
  return {
    peak: () => peak,
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

// ---------------------------------------------------------------------------
// HTTP

export interface LocalServer {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 (a free port unless `port` is given), closed with the scope. */
export async function startHttp(handler: http.RequestListener, scope: Scope, port = 0): Promise<LocalServer> {
  const server = http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actual = (server.address() as AddressInfo).port;
  let closed = false;
  const close = () =>
    new Promise<void>((resolve) => {
      if (closed) return resolve();
      closed = true;
      server.closeAllConnections();
      server.close(() => resolve());
    });
  scope.defer(close);
  return { url: `http://127.0.0.1:${actual}`, port: actual, server, close };
}

export interface ApiResponse {
  status: number;
  body: any;
  headers: Headers;
  ms: number;
}

/** One API call with a timeout; a network failure or timeout is status 0 with the error in body. */
export async function apiCall(
  baseUrl: string,
  method: string,
  urlPath: string,
  opts: { key?: string | null; body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers['x-api-key'] = opts.key;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const started = Date.now();
  try {
    const res = await fetch(baseUrl + urlPath, { method, headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 20_000) });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {}
    return { status: res.status, body: parsed, headers: res.headers, ms: Date.now() - started };
  } catch (err) {
    return { status: 0, body: { error: (err as Error).message }, headers: new Headers(), ms: Date.now() - started };
  }
}

export const articleHtml = (title: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><nav><a href="/">Home</a></nav>` +
  `<article><h1>${title}</h1><p>The ${title} page has a paragraph of real text, long enough to be taken for an article by the extractor.</p>` +
  `<p>A second paragraph about ${title}, so the content reads like a page with several sentences in it.</p></article></body></html>`;

/** A site of article pages (titled `${title} ${path}`), each answered after `delayMs()`; closed with the scope. */
export const startArticleSite = (scope: Scope, title: string, delayMs: () => number): Promise<LocalServer> =>
  startHttp((req, res) => {
    setTimeout(() => res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(articleHtml(`${title} ${req.url}`)), delayMs());
  }, scope);

/**
 * The service settings of the scenarios that time recovery, plus their own:
 * the local site allowed (private addresses), a heartbeat a second, and
 * retries after 200 ms growing to 2 s, so a recovery is seconds, not minutes.
 */
export const recoveryEnv = (databaseUrl: string, settings: Record<string, string>): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  ALLOW_PRIVATE_NETWORKS: 'true',
  HEARTBEAT_INTERVAL: '1s',
  RETRY_BASE_DELAY: '200ms',
  RETRY_MAX_DELAY: '2s',
  ...settings,
});

export const ms = (n: number) => `${Math.round(n)} ms`;
export const seconds = (n: number) => `${(n / 1000).toFixed(1)} s`;
export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

// ---------------------------------------------------------------------------
// Secrets a run hands out, so the log scan can look for the exact values too.

export const knownSecrets = new Set<string>();
export function rememberSecret(value: string): string {
  knownSecrets.add(value);
  return value;
}


// Dashboard authentication: the operator presents ADMIN_TOKEN once (login
// form) and gets a session cookie that is an HMAC keyed with the token, never
// the token itself; or sends `Authorization: Bearer <ADMIN_TOKEN>` on each
// request (scripts, curl). A session names the session epoch it was issued in
// (sessionEpoch.ts, in the database): signing out moves the epoch on and ends
// every session in every API process; changing ADMIN_TOKEN ends them too (the
// HMAC key changes). Failed sign-ins are throttled per address (authThrottle.ts).
//
// CSRF: state-changing actions are POSTs. With the cookie they also need the
// per-session CSRF token (an HMAC of the session) in the form, and a request
// whose Origin (or, without Origin, Referer) names another host is refused.
// Bearer requests need neither: a browser never adds that header by itself.
import { createHmac } from 'node:crypto';
import { sameSecret } from '../../core/sameSecret.js';
import type { Request, Response } from 'express';

export const SESSION_COOKIE = 'gleaner_admin';
export const SESSION_TTL_MS = 12 * 3_600_000;
const COOKIE_PATH = '/dashboard';

export interface AdminAuth {
  via: 'cookie' | 'bearer';
  /** The per-session CSRF token for forms (cookie sessions only). */
  csrf: string | null;
}

const mac = (token: string, message: string) => createHmac('sha256', token).update(message).digest('base64url');

const equalStrings = sameSecret;

export function tokenMatches(adminToken: string, presented: string | undefined): boolean {
  return typeof presented === 'string' && presented.length > 0 && equalStrings(presented, adminToken);
}

/** `v2.<issued at, seconds>.<epoch>.<HMAC(token, issued at and epoch)>` */
export function newSession(adminToken: string, epoch: number, now = Date.now()): string {
  const issued = Math.floor(now / 1000);
  return `v2.${issued}.${epoch}.${mac(adminToken, `gleaner-dashboard-session.v2.${issued}.${epoch}`)}`;
}

/** A session cookie signed with this token, unexpired, and issued in the current epoch. */
export function sessionValid(adminToken: string, value: string | undefined, epoch: number, now = Date.now()): boolean {
  if (!value) return false;
  const m = /^v2\.(\d{1,12})\.(\d{1,15})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const issuedMs = Number(m[1]) * 1000;
  if (issuedMs > now + 60_000 || now - issuedMs > SESSION_TTL_MS || Number(m[2]) !== epoch) return false;
  return equalStrings(m[3]!, mac(adminToken, `gleaner-dashboard-session.v2.${m[1]}.${m[2]}`));
}

export const csrfFor = (adminToken: string, session: string) => mac(adminToken, `gleaner-dashboard-csrf.${session}`);

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.header('cookie');
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** HTTPS as the browser sees it: TLS here, or a proxy in front saying so. */
const isHttps = (req: Request) => req.secure || req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';

export function setSessionCookie(req: Request, res: Response, value: string): void {
  res.cookie(SESSION_COOKIE, value, {
    httpOnly: true,
    sameSite: 'strict',
    secure: isHttps(req),
    path: COOKIE_PATH,
    maxAge: SESSION_TTL_MS,
  });
}

export function clearSessionCookie(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure: isHttps(req), path: COOKIE_PATH });
}

/** The caller's admin credentials, or null: a valid bearer token, or a session cookie of the current epoch (read only when a cookie is sent). */
export async function authenticate(adminToken: string, req: Request, epoch: () => Promise<number>): Promise<AdminAuth | null> {
  const authorization = req.header('authorization');
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m && tokenMatches(adminToken, m[1]) ? { via: 'bearer', csrf: null } : null;
  }
  const session = readCookie(req, SESSION_COOKIE);
  if (session && sessionValid(adminToken, session, await epoch())) return { via: 'cookie', csrf: csrfFor(adminToken, session) };
  return null;
}

/** False when Origin (or Referer, without Origin) shows the request comes from another site. */
export function sameOrigin(req: Request): boolean {
  const host = req.header('host');
  const origin = req.header('origin');
  const source = origin ?? req.header('referer');
  if (source === undefined) return true; // neither sent (old clients, privacy settings): the CSRF token still applies
  if (source === 'null') return false;
  try {
    return new URL(source).host === host;
  } catch {
    return false;
  }
}

/** Whether a state-changing request may proceed: bearer always; cookie with same origin and the right CSRF token. */
export function mayChangeState(auth: AdminAuth, req: Request): boolean {
  if (auth.via === 'bearer') return true;
  const presented = (req.body as Record<string, unknown> | undefined)?._csrf;
  return sameOrigin(req) && typeof presented === 'string' && auth.csrf !== null && equalStrings(presented, auth.csrf);
}

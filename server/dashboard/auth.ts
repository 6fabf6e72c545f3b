// Dashboard authentication: the operator presents ADMIN_TOKEN once (login
// form) and gets a session cookie that is an HMAC keyed with the token, never
// the token itself; or sends `Authorization: Bearer <ADMIN_TOKEN>` on each
// request (scripts, curl). Sessions are stateless, so any API process with the
// same ADMIN_TOKEN accepts them, and changing ADMIN_TOKEN ends all of them.
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

/** `v1.<issued at, seconds>.<HMAC(token, issued at)>` */
export function newSession(adminToken: string, now = Date.now()): string {
  const issued = Math.floor(now / 1000);
  return `v1.${issued}.${mac(adminToken, `gleaner-dashboard-session.v1.${issued}`)}`;
}

export function sessionValid(adminToken: string, value: string | undefined, now = Date.now()): boolean {
  if (!value) return false;
  const m = /^v1\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value);
  if (!m) return false;
  const issuedMs = Number(m[1]) * 1000;
  if (issuedMs > now + 60_000 || now - issuedMs > SESSION_TTL_MS) return false;
  return equalStrings(m[2]!, mac(adminToken, `gleaner-dashboard-session.v1.${m[1]}`));
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

/** The caller's admin credentials, or null: a valid bearer token or session cookie. */
export function authenticate(adminToken: string, req: Request): AdminAuth | null {
  const authorization = req.header('authorization');
  if (authorization !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m && tokenMatches(adminToken, m[1]) ? { via: 'bearer', csrf: null } : null;
  }
  const session = readCookie(req, SESSION_COOKIE);
  if (session && sessionValid(adminToken, session)) return { via: 'cookie', csrf: csrfFor(adminToken, session) };
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

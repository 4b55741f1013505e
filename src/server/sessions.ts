/**
 * Signing a browser in to `planctl serve` without putting the token in a page or a URL: the server
 * prints a one-time login link (`/login?code=…`, valid a few minutes, good for one use); visiting it
 * trades the code for a session cookie (HttpOnly, SameSite=Strict, Path=/) and redirects to `/`, so
 * the code leaves the address bar at once and could not be used again anyway.
 *
 * The cookie is accepted only on requests the server's own page makes: every page on 127.0.0.1 is
 * "same site" whatever its port, so SameSite=Strict alone would let a page of another local server
 * send it. Hence a cookie counts only when the request's Origin (if any) is the server's own, the
 * browser's Sec-Fetch-Site (if any) says same-origin or a typed address, and a request that changes
 * anything carries the server's own Origin (browsers always send one on a POST and a WebSocket).
 *
 * Codes and session IDs are kept only as SHA-256 hashes, looked up by hash: what a lookup's timing
 * could tell is about the hash, not the secret. Everything lives in memory: a restart signs every
 * browser out.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** How long a login link may wait to be opened. */
export const LOGIN_CODE_TTL_MS = 5 * 60_000;
/** How long a browser stays signed in (the cookie itself ends with the browser session). */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/** At most this many codes and sessions are kept; the oldest go first. */
const MAX_CODES = 32;
const MAX_SESSIONS = 64;

export type LoginRefusal = 'used' | 'expired' | 'unknown';
export type Redeemed = { session: string } | { refused: LoginRefusal };

const hash = (secret: string): string => createHash('sha256').update(secret).digest('base64url');
const secret = (): string => randomBytes(32).toString('base64url');

/** Drops expired entries, then the oldest while over `max` (a Map iterates in insertion order). */
function prune<T extends { expiresAt: number }>(map: Map<string, T>, now: number, max: number): void {
  for (const [k, v] of map) if (v.expiresAt <= now) map.delete(k);
  for (const k of map.keys()) {
    if (map.size <= max) break;
    map.delete(k);
  }
}

/** The value of the cookie `name` in a Cookie header (the first one, as browsers send the most specific first). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * Whether a request may be authenticated by the session cookie: made by the server's own page (or
 * typed into the address bar), never by a page of another origin. `host` is the checked Host header;
 * `method` is the HTTP method, or `UPGRADE` for a WebSocket handshake (which needs an Origin like a POST).
 */
export function ownPageRequest(headers: IncomingHttpHeaders, method: string, host: string): boolean {
  const site = headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') return false;
  const origin = headers.origin;
  if (origin !== undefined) return origin === `http://${host}`;
  return method === 'GET' || method === 'HEAD';
}

export class BrowserSessions {
  private readonly codes = new Map<string, { expiresAt: number; used: boolean }>();
  private readonly sessions = new Map<string, { expiresAt: number }>();

  /** The cookie's name differs per port (known once the server listens): browsers share cookies between the ports of a host. */
  constructor(
    private readonly name: () => string,
    private readonly now: () => number = Date.now,
  ) {}

  get cookieName(): string {
    return this.name();
  }

  /** A new one-time login code. */
  issueCode(): { code: string; expiresAt: Date } {
    const now = this.now();
    prune(this.codes, now, MAX_CODES - 1);
    const code = secret();
    this.codes.set(hash(code), { expiresAt: now + LOGIN_CODE_TTL_MS, used: false });
    return { code, expiresAt: new Date(now + LOGIN_CODE_TTL_MS) };
  }

  /** Trades a code for a new session, once. A used code is remembered as used until it would have expired. */
  redeem(code: string | undefined): Redeemed {
    const now = this.now();
    const key = code ? hash(code) : '';
    const entry = this.codes.get(key);
    if (!entry) return { refused: 'unknown' };
    if (entry.expiresAt <= now) {
      this.codes.delete(key);
      return { refused: 'expired' };
    }
    if (entry.used) return { refused: 'used' };
    entry.used = true;
    prune(this.sessions, now, MAX_SESSIONS - 1);
    const session = secret();
    this.sessions.set(hash(session), { expiresAt: now + SESSION_TTL_MS });
    return { session };
  }

  /** The Set-Cookie value that signs this browser in: no Max-Age, so it ends with the browser session. */
  cookie(session: string): string {
    return `${this.cookieName}=${session}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** Whether the request carries a live session cookie (where it may come from is ownPageRequest's business). */
  signedIn(headers: IncomingHttpHeaders): boolean {
    const session = cookieValue(headers.cookie, this.cookieName);
    if (!session) return false;
    const entry = this.sessions.get(hash(session));
    if (!entry) return false;
    if (entry.expiresAt > this.now()) return true;
    this.sessions.delete(hash(session));
    return false;
  }
}

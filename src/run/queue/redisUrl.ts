/**
 * The Redis of `--queue` as a URL: parsed, with its password from PLAN_REDIS_PASSWORD when the URL has
 * none, and shown without it. Apart from protocol.ts so that the extension (which checks the queue
 * settings) does not bundle the BullMQ loader.
 */
import { PlanError } from '../../core/source.js';

export interface RedisTarget {
  host: string;
  port: number;
  password?: string;
  db?: number;
}

/**
 * `redis://[:password@]host[:port][/db]` → ioredis options. Without a password in the URL, the one in
 * PLAN_REDIS_PASSWORD: a password on the command line is visible to every user of the host (`ps`).
 * Error messages show the URL without its password.
 */
export function parseRedisUrl(url: string, env: NodeJS.ProcessEnv = process.env): RedisTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new PlanError('invalid-argument', `--queue must be a redis:// URL such as redis://127.0.0.1:6379, not "${withoutPassword(url)}"`);
  }
  if (u.protocol !== 'redis:') throw new PlanError('invalid-argument', `--queue must be a redis:// URL, not "${withoutPassword(url)}"`);
  const db = u.pathname.replace(/^\//, '');
  if (db && !/^\d+$/.test(db)) throw new PlanError('invalid-argument', `the database in ${withoutPassword(url)} must be a number`);
  const password = u.password ? decodeURIComponent(u.password) : env.PLAN_REDIS_PASSWORD || undefined;
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(password ? { password } : {}),
    ...(db ? { db: Number(db) } : {}),
  };
}

/**
 * The URL as it may be shown: everything between `//` and the last `@` of the authority replaced by
 * `***` (a password may itself hold `@`, `:` or `/`); a string that is not a URL but holds an `@` is
 * not shown at all.
 */
export function withoutPassword(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)(.*)$/i.exec(url);
  if (!m) return url.includes('@') ? '(the URL given)' : url;
  const rest = m[2]!;
  const at = rest.lastIndexOf('@');
  if (at < 0) return url;
  return `${m[1]}***@${rest.slice(at + 1)}`;
}

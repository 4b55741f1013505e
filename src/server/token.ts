/**
 * The API's bearer token: random, made on first start, kept in a file only the user can read, and
 * compared in constant time. Anyone who can read the file can drive the user's agents, so the file
 * is refused (not silently used) when its permissions let anyone else read it.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PlanError } from '../core/source.js';

/** Overrides the default token file (tests, several servers side by side). `--token-file` wins over it. */
export const TOKEN_FILE_ENV = 'PLAN_API_TOKEN_FILE';

/** base64url of 32 random bytes: 43 characters, valid in a header and in a WebSocket subprotocol. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{32,512}$/;

/** `$XDG_CONFIG_HOME/plan-orchestrator/api-token`, else `~/.config/plan-orchestrator/api-token`. */
export function defaultTokenFile(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[TOKEN_FILE_ENV]?.trim();
  if (fromEnv) return path.resolve(fromEnv);
  // The XDG spec says a relative value is invalid and must be ignored.
  const xdg = env.XDG_CONFIG_HOME?.trim();
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.config');
  return path.join(base, 'plan-orchestrator', 'api-token');
}

export interface LoadedToken {
  token: string;
  file: string;
  created: boolean;
}

/**
 * Reads the token, or creates it. Creation writes a private temporary file and hard-links it into
 * place, so two servers starting at once agree on one token and nobody ever reads a half-written file.
 */
export async function loadOrCreateToken(file: string): Promise<LoadedToken> {
  const dir = path.dirname(file);
  // `mode` applies only to folders created here; an existing folder is the user's business.
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await fs.writeFile(tmp, `${token}\n`, { mode: 0o600, flag: 'wx' });
  try {
    await fs.link(tmp, file);
    return { token, file, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw tokenError(file, `cannot be created (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return { token: await readTokenFile(file), file, created: false };
}

async function readTokenFile(file: string): Promise<string> {
  const st = await fs.lstat(file);
  if (!st.isFile()) throw tokenError(file, 'is not a regular file');
  if (typeof process.getuid === 'function' && st.uid !== process.getuid()) throw tokenError(file, 'belongs to another user');
  if ((st.mode & 0o077) !== 0) {
    throw tokenError(file, `can be read by other users (mode ${(st.mode & 0o777).toString(8)}); run "chmod 600 ${file}", or delete it to get a new token`);
  }
  const token = (await fs.readFile(file, 'utf8')).trim();
  if (!TOKEN_SHAPE.test(token)) throw tokenError(file, 'does not hold a token; delete it to get a new one');
  return token;
}

function tokenError(file: string, what: string): PlanError {
  return new PlanError('invalid-argument', `the API token file ${file} ${what}`, file);
}

/**
 * Constant-time comparison. Both sides are hashed first so that the comparison also takes the same
 * time whatever the length of what the client sent (timingSafeEqual needs equal lengths).
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(presented).digest();
  return timingSafeEqual(a, b);
}

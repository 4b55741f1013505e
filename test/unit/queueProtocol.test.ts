/**
 * What `--queue` accepts and how it fails before a run starts: the Redis URL (the password from
 * PLAN_REDIS_PASSWORD when the URL has none, never shown in a message) and the first connection, which
 * fails at once and in words instead of being retried for ever. A real redis-server answers the
 * password cases when one is installed.
 */
import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { openTransport, parseRedisUrl, withoutPassword } from '../../src/run/queue/protocol.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('the Redis of --queue', () => {
  test('the URL: host, port, database; the password from the URL or PLAN_REDIS_PASSWORD, never shown in errors', () => {
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5:6390/2', {}), { host: '10.0.0.5', port: 6390, db: 2 });
    assert.deepEqual(parseRedisUrl('redis://10.0.0.5', { PLAN_REDIS_PASSWORD: 's3cret' }), { host: '10.0.0.5', port: 6379, password: 's3cret' });
    assert.equal(parseRedisUrl('redis://:in%40url@h:1', { PLAN_REDIS_PASSWORD: 'env' }).password, 'in@url');
    assert.throws(() => parseRedisUrl('http://:s3cret@h:1', {}), (e: Error) => /must be a redis:\/\/ URL/.test(e.message) && !e.message.includes('s3cret'));
    assert.throws(() => parseRedisUrl('redis://:s3cret@h:1/x', {}), (e: Error) => /must be a number/.test(e.message) && !e.message.includes('s3cret'));
    assert.equal(withoutPassword('redis://user:s3cret@h:1/0'), 'redis://***@h:1/0');
    // A password may hold @, : or /.
    assert.equal(withoutPassword('redis://:p@ss@h/x'), 'redis://***@h/x');
    assert.equal(withoutPassword('redis://:a/b@h'), 'redis://***@h');
    assert.equal(withoutPassword(':pw@h'), '(the URL given)');
    assert.equal(withoutPassword('redis://h:1'), 'redis://h:1');
  });

  test('nothing listening: refused at once with what to do, not retried for ever', async () => {
    const port = await freePort();
    await assert.rejects(openTransport(parseRedisUrl(`redis://127.0.0.1:${port}`, {})), (e: Error & { code?: string }) => e.code === 'queue-unavailable' && /nothing answers at 127\.0\.0\.1:\d+: is redis-server running there/.test(e.message));
  });

  const haveRedis = spawnSync('redis-server', ['--version']).status === 0;
  test('a Redis with a password: none given, or a wrong one, is said in words', { skip: haveRedis ? false : 'redis-server is not installed' }, async () => {
    const port = await freePort();
    const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--requirepass', 'right'], { stdio: 'ignore' });
    try {
      const target = (env: NodeJS.ProcessEnv) => parseRedisUrl(`redis://127.0.0.1:${port}`, env);
      for (let i = 0; i < 100; i++) {
        if (await openTransport(target({ PLAN_REDIS_PASSWORD: 'right' })).then(() => true, () => false)) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await openTransport(target({ PLAN_REDIS_PASSWORD: 'right' }));
      await assert.rejects(openTransport(target({})), /needs a password: set PLAN_REDIS_PASSWORD/);
      await assert.rejects(openTransport(target({ PLAN_REDIS_PASSWORD: 'wrong' })), /refused the password/);
    } finally {
      server.kill('SIGKILL');
    }
  });
});

/**
 * What every distributed test file sets up: one redis-server and one agent bin folder for the file, and
 * a cluster per test (the previous test's workers stop first: they would take jobs from the same queue).
 */
import { after, before } from 'node:test';
import { rm } from 'node:fs/promises';
import { removeTempRepos } from '../unit/helpers/tempRepo.js';
import { agentBinDir, missing } from '../agents/realAgents.js';
import { redisServerPath, RedisServer, TestCluster } from './cluster.js';

/** Why the distributed tests cannot run here, if they cannot. */
export const skipReason: string | undefined = !redisServerPath() ? 'redis-server is not installed (Debian: apt-get install redis-server)' : missing('claude');

/** A test's cluster; on the file's Redis unless it brings its own (one it will stop). */
export type ClusterOptions = Omit<Parameters<typeof TestCluster.start>[0], 'redis' | 'binDir'> & { redis?: RedisServer };

/** Registers the file's hooks; `cluster()` starts a test's cluster, `redis()` is the file's server. */
export function useClusters(): { cluster: (opts: ClusterOptions) => Promise<TestCluster>; redis: () => RedisServer } {
  let binDir: string | undefined;
  let redis: RedisServer | undefined;
  let current: TestCluster | undefined;
  before(async () => {
    if (skipReason) return;
    binDir = await agentBinDir();
    redis = await RedisServer.start();
  });
  after(async () => {
    await current?.stop();
    await redis?.stop();
    await removeTempRepos();
    if (binDir) await rm(binDir, { recursive: true, force: true });
  });
  return {
    cluster: async (opts) => {
      await current?.stop();
      return (current = await TestCluster.start({ redis: redis!, binDir: binDir!, ...opts }));
    },
    redis: () => redis!,
  };
}

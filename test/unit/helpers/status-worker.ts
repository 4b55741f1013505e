/**
 * Child process for the status store's concurrency test: starts then completes each task ID given,
 * all at once, against one status file. Usage: status-worker <status.json> <taskId>...
 */
import { StatusStore } from '../../../src/core/status.js';

const [statusPath, ...taskIds] = process.argv.slice(2);

// `node --test out/test/unit/` also picks up files under a `test/` folder, so this file may be run
// as a "test" without arguments; it must then do nothing and succeed.
if (statusPath !== undefined) {
  const store = new StatusStore(statusPath, 'docs/plans/concurrency.md');
  const agent = `worker-${process.pid}`;
  try {
    await Promise.all(
      taskIds.map(async (id) => {
        await store.setTaskStatus(id, 'in_progress', { agent });
        await store.setTaskStatus(id, 'completed');
      }),
    );
  } catch (err) {
    console.error(err);
    process.exitCode = 1;
  }
}

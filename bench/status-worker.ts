/** One process of the status benchmark: `count` completions of its own task IDs on one status file. */
import { StatusStore } from '../src/core/status.js';

const [file, worker, count] = process.argv.slice(2);
if (file && worker && count) {
  const store = new StatusStore(file, 'bench-plan.md');
  for (let i = 0; i < Number(count); i++) await store.setTaskStatus(`${worker}.${i}`, 'completed');
}

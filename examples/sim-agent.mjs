#!/usr/bin/env node
/**
 * A stand-in for a coding agent, for demos and tests of `planctl orchestrate`.
 *
 *   planctl orchestrate --agent '["node","examples/sim-agent.mjs","--id","{id}","--title","{title}","--estimate","{estimate}"]'
 *
 * Takes PLAN_SIM_MS_PER_MINUTE (default 10) ms per estimated minute, counted from its own process
 * start (a real agent's run time includes its start-up too), then appends one line to
 * sim-output/<id>.txt in the current directory (so the orchestrator has something to commit).
 * Fails when the title contains [FAIL] or PLAN_SIM_FAIL lists the id (comma-separated); never ends
 * when the title contains [HANG]; also writes a `.env` when PLAN_SIM_SECRET lists the id.
 * PLAN_SIM_FINDINGS (`id:path,id:path`, paths relative to the current directory) makes a task also write
 * a findings file, as the plans whose VERIFY items name files (file gates) expect.
 * PLAN_SIM_AFTER (`id:other,…`) makes a task also wait, up to a minute, until task `other` has written
 * its output: tests use it to order tasks by events instead of by durations.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const id = arg('id', process.env.PLAN_TASK_ID);
const title = arg('title', '');
const estimate = Number(arg('estimate', '60'));
const msPerMinute = Number(process.env.PLAN_SIM_MS_PER_MINUTE ?? '10');
if (!id) {
  console.error('sim-agent: no task id (--id or PLAN_TASK_ID)');
  process.exit(2);
}

// process.ppid is not reliable across PID namespaces (containers report 1), so the orchestrator says who it is.
const parent = Number(process.env.PLAN_ORCHESTRATOR_PID ?? process.ppid);
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
};
console.log(`sim-agent ${id}: working for ${Math.round(estimate * msPerMinute)} ms`);

if (title.includes('[HANG]')) {
  console.log(`sim-agent ${id}: hanging`);
  setInterval(() => {}, 1 << 30);
} else {
  const after = (process.env.PLAN_SIM_AFTER ?? '').split(',').map((s) => s.trim().split(':')).filter(([a, b]) => a === id && b);
  const waitedFor = () => after.every(([, other]) => existsSync(path.join('sim-output', `${other}.txt`)));
  const giveUpAt = Date.now() + 60_000;
  const work = () => setTimeout(() => {
    // A real agent whose orchestrator died has nobody to report to; it must not leave half-recorded work.
    if (parent > 1 && !alive(parent)) {
      console.error(`sim-agent ${id}: orchestrator ${parent} is gone; giving up`);
      process.exit(3);
    }
    const failing = (process.env.PLAN_SIM_FAIL ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (title.includes('[FAIL]') || failing.includes(id)) {
      console.error(`sim-agent ${id}: failing on purpose`);
      process.exit(1);
    }
    for (const entry of (process.env.PLAN_SIM_FINDINGS ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
      const at = entry.indexOf(':');
      if (entry.slice(0, at) !== id) continue;
      const file = entry.slice(at + 1);
      mkdirSync(path.dirname(file), { recursive: true });
      appendFileSync(file, `# Findings of ${id}\n\n${title}\n`);
    }
    mkdirSync('sim-output', { recursive: true });
    appendFileSync(path.join('sim-output', `${id}.txt`), `${id} done at ${new Date().toISOString()} by ${process.pid}\n`);
    // An agent that drops a credentials file, as real ones sometimes do: it must never be committed.
    if ((process.env.PLAN_SIM_SECRET ?? '').split(',').map((s) => s.trim()).includes(id)) appendFileSync('.env', 'AWS_SECRET=not-a-real-secret\n');
    console.log(`sim-agent ${id}: done`);
  }, Math.max(0, estimate * msPerMinute - performance.now())); // performance.now() counts from the process start
  const waitThenWork = () => (waitedFor() || Date.now() > giveUpAt ? work() : setTimeout(waitThenWork, 20));
  waitThenWork();
}

/**
 * What the dashboard's keys do, through the same code as the other ways in: a start is the API's
 * startPlan (a background `planctl orchestrate --daemon`), a stop its stopOrchestrator (SIGTERM to the
 * registry's pid), an approval `planctl approve`'s approveTask, a new worktree `planctl worktree
 * create`'s WorktreeManager.create. Where a start is refused for something the user can settle (gate
 * commands nobody approved, a main checkout, uncommitted changes), the user is asked, and the start
 * is tried again with the answer.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { planName } from '../core/planFile.js';
import { openPlan, requireTask, type PlanSession } from '../core/session.js';
import { PlanError } from '../core/source.js';
import { WorktreeManager } from '../git/worktreeManager.js';
import { planFilesIn } from '../run/allPlans.js';
import { approveTask } from '../run/approvals.js';
import type { KnownPlan } from '../run/events/messages.js';
import { sameFile, type PlanWatcher } from '../run/events/planWatcher.js';
import { CommandsNotApproved } from '../run/gates.js';
import { startPlan, stopOrchestrator, type LaunchOptions, type PlanStart } from '../run/orchestratorLaunch.js';
import { printable } from './model.js';

export interface Question {
  title: string;
  lines: string[];
  /** Single keys; Esc always cancels. */
  choices: Array<{ key: string; label: string }>;
}

/** Shows the question and resolves with the chosen key, or undefined when the user cancelled. */
export type Ask = (q: Question) => Promise<string | undefined>;

export interface PlanChoice {
  /** The plan file (absolute) in the main checkout. */
  file: string;
  /** Relative to the checkout, as the picker shows it. */
  rel: string;
  /** The main checkout. */
  root: string;
  /** Where it already runs or has run, when it does. */
  note: string;
}

type StartChoices = Pick<PlanStart, 'approveCommands' | 'inPlace' | 'allowDirty'>;

export class PlanActions {
  constructor(
    private readonly watcher: PlanWatcher,
    private readonly launch: LaunchOptions,
    private readonly cwd: string,
  ) {}

  private async plan(name: string): Promise<KnownPlan> {
    let p = this.watcher.lookup(name);
    if (!p) {
      await this.watcher.rescan();
      p = this.watcher.lookup(name);
    }
    if (!p) throw new PlanError('plan-not-found', `plan ${name} is gone`);
    return p;
  }

  private async running(plan: KnownPlan): Promise<boolean> {
    return (await this.watcher.listOrchestrators(true)).some((o) => o.alive && sameFile(o.planFile, plan.file));
  }

  /** `s`: stops the plan's orchestrator when one runs, starts one otherwise. */
  async toggle(name: string, ask: Ask): Promise<string> {
    const plan = await this.plan(name);
    if (await this.running(plan)) {
      const o = stopOrchestrator(plan, await this.watcher.listOrchestrators(true));
      return `${plan.name}: asked the orchestrator (pid ${o.pid}) to stop; running tasks finish first`;
    }
    return this.start(plan, ask);
  }

  /** Starts the plan, asking the user whatever the start needs to know; returns what happened. */
  async start(plan: KnownPlan, ask: Ask, choices: StartChoices = {}): Promise<string> {
    for (;;) {
      let session: PlanSession;
      try {
        session = await openPlan(plan.file, plan.worktree);
        const started = await startPlan({ plan, session, launch: this.launch, registry: () => this.watcher.listOrchestrators(true), ...choices });
        if (!started.registered) return `${plan.name}: the orchestrator (pid ${started.pid}) ended at once; see ${path.relative(plan.worktree, started.log)}`;
        return `${plan.name}: orchestrator started (pid ${started.pid}); log ${path.relative(plan.worktree, started.log)}`;
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (e instanceof CommandsNotApproved) {
          const answer = await ask({
            title: `${plan.plan} runs these commands as VERIFY gates (no shell unless the command names one):`,
            lines: e.commands.map((c) => `$ ${printable(c)}`),
            choices: [
              { key: 'y', label: 'approve them and start' },
              { key: 'n', label: 'do not start' },
            ],
          });
          if (answer !== 'y') return `${plan.name}: not started`;
          choices = { ...choices, approveCommands: [...(choices.approveCommands ?? []), ...e.commands] };
        } else if (code === 'in-place-required') {
          const answer = await ask({
            title: `${plan.plan} is in the repository's main checkout.`,
            lines: ["Each finished task is committed. A plan's place is its own worktree (worktrees/plan-<name> on branch plan/<name>)."],
            choices: [
              { key: 'w', label: 'create its worktree and run there' },
              { key: 'i', label: 'run here, committing to the current branch' },
              { key: 'n', label: 'do not start' },
            ],
          });
          if (answer === 'w') plan = await this.createWorktree(plan);
          else if (answer === 'i') choices = { ...choices, inPlace: true };
          else return `${plan.name}: not started`;
        } else if (code === 'checkout-dirty') {
          const answer = await ask({
            title: `${path.basename(plan.worktree)} has uncommitted changes.`,
            lines: [(e as Error).message],
            choices: [
              { key: 'y', label: 'run anyway (the changes stay out of every task commit)' },
              { key: 'n', label: 'do not start' },
            ],
          });
          if (answer !== 'y') return `${plan.name}: not started`;
          choices = { ...choices, allowDirty: true };
        } else {
          throw e;
        }
      }
    }
  }

  /** `planctl worktree create` for the plan; returns the plan as it is in the new worktree. */
  private async createWorktree(plan: KnownPlan): Promise<KnownPlan> {
    const created = await (await WorktreeManager.open(this.cwd)).create(plan.file);
    const file = path.join(created.path, created.plan ?? plan.plan);
    await this.watcher.rescan();
    return (
      this.watcher.plans().find((p) => sameFile(p.file, file)) ?? {
        name: planName(file),
        file,
        plan: created.plan ?? plan.plan,
        worktree: created.path,
        ...(created.branch ? { branch: created.branch } : {}),
        active: true,
      }
    );
  }

  /** `r`: a failed task back to pending; started again by the running orchestrator, or by a new one. */
  async retry(name: string, taskId: string, ask: Ask): Promise<string> {
    const plan = await this.plan(name);
    const session = await openPlan(plan.file, plan.worktree);
    requireTask(session, taskId);
    const rec = session.status.tasks[taskId];
    if (rec?.status !== 'failed') throw new PlanError('invalid-argument', `${taskId} has not failed (it is ${rec?.status ?? 'pending'}); r retries a failed task`);
    if (rec.run?.needsApproval?.length) throw new PlanError('invalid-argument', `${taskId} waits for an approval of ${rec.run.needsApproval.map((d) => d.rule).join(', ')}: press a to approve it`);
    await session.store.setTaskStatus(taskId, 'pending', { note: 'retry from planctl top' });
    if (await this.running(plan)) return `${taskId}: pending again; the running orchestrator starts it`;
    return `${taskId}: pending again. ${await this.start(plan, ask)}`;
  }

  /** `a`: `planctl approve` for the task after the user saw the rules; then the task runs again. */
  async approve(name: string, taskId: string, ask: Ask): Promise<string> {
    const plan = await this.plan(name);
    const session = await openPlan(plan.file, plan.worktree);
    requireTask(session, taskId);
    const denied = session.status.tasks[taskId]?.run?.needsApproval ?? [];
    if (denied.length === 0) throw new PlanError('invalid-argument', `${taskId} is not waiting for an approval`);
    const answer = await ask({
      title: `${taskId}: its agent was denied these tool calls. Allow them for every run of ${plan.name}?`,
      lines: denied.map((d) => `${printable(d.rule)}   (${printable(d.tool)}: ${printable(d.input).slice(0, 200)})`),
      choices: [
        { key: 'y', label: 'allow and retry' },
        { key: 'n', label: 'leave it waiting' },
      ],
    });
    if (answer !== 'y') return `${taskId}: still waiting for approval`;
    const result = await approveTask(session, taskId);
    const what = `${taskId}: allowed ${result.approved.join(', ')}`;
    if (await this.running(plan)) return `${what}; the running orchestrator retries it${result.resume ? ', resuming the agent session' : ''}`;
    return `${what}. ${await this.start(plan, ask)}`;
  }

  /** `n`: every plan file of the main checkout, with where it already runs. */
  async planChoices(): Promise<PlanChoice[]> {
    const snapshot = this.watcher.snapshot();
    const main = snapshot.worktrees[0]?.path ?? this.cwd;
    const known = this.watcher.plans();
    return (await planFilesIn(main)).map((rel) => {
      const places = known.filter((k) => k.plan === rel).map((k) => {
        const o = this.watcher.orchestratorFor(k.file);
        return `${k.worktree === main ? 'main checkout' : path.basename(k.worktree)}${o?.alive ? ', running' : ''}`;
      });
      return { file: path.join(main, rel), rel, root: main, note: places.join('; ') };
    });
  }

  /** Starts a plan picked by its file: in its plan worktree when it has one, else where it is (which asks about a worktree). */
  async startFile(choice: PlanChoice, ask: Ask): Promise<string> {
    const known = this.watcher.plans();
    const plan =
      known.find((k) => k.plan === choice.rel && !sameFile(k.worktree, choice.root)) ??
      known.find((k) => sameFile(k.file, choice.file)) ?? { name: planName(choice.file), file: choice.file, plan: choice.rel, worktree: choice.root, active: false };
    if (await this.running(plan)) return `${plan.name} is already running`;
    return this.start(plan, ask);
  }
}

/** The last `maxLines` lines of a task's agent log, made safe to print. */
export async function logTail(worktree: string, log: string | undefined, maxLines: number): Promise<string[]> {
  if (!log) return [];
  const file = path.resolve(worktree, log);
  const fh = await open(file, 'r').catch(() => undefined);
  if (!fh) return [];
  try {
    const size = (await fh.stat()).size;
    const length = Math.min(size, 64 * 1024);
    const buf = Buffer.alloc(length);
    await fh.read(buf, 0, length, size - length);
    const lines = buf.toString('utf8').split('\n');
    // A read that starts mid-file starts mid-line: drop that partial line.
    if (length < size) lines.shift();
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-maxLines).map(printable);
  } finally {
    await fh.close();
  }
}

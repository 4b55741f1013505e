/**
 * The `/plan:*` slash commands `planctl init` writes to `.claude/commands/plan/`: the same names the
 * seeds' users type today (set, status, next, start, complete, fail, orchestrate, worktree, validate),
 * each now a thin prompt around `planctl`, so a Claude Code session works a plan interactively with the
 * same status file, pointers and scheduling as `planctl orchestrate` and the extension.
 *
 * Format (Claude Code custom commands): YAML front matter with `description`, `argument-hint` and
 * `allowed-tools` (permission rules such as `Bash(planctl status:*)`, granted while the command runs);
 * the body is the prompt, with `$ARGUMENTS` (and `$1`, `$2`) replaced by what the user typed and
 * `` !`cmd` `` lines run before the prompt is sent, their output put in its place. Read-only commands
 * (status, next, validate) inject their output that way: the model sees the real state without a tool
 * call. Commands that change state ask the model to run planctl with the user's arguments through its
 * Bash tool, never through `!` injection, so that the arguments are not pasted into a shell line.
 */

export interface SlashCommand {
  /** File name in `.claude/commands/plan/` (the command is `/plan:<name>`). */
  name: string;
  description: string;
  argumentHint?: string;
  allowedTools: string[];
  body: string;
}

const planctl = (sub: string): string => `Bash(planctl ${sub}:*)`;

export const SLASH_COMMANDS: readonly SlashCommand[] = [
  {
    name: 'set',
    description: 'Make a plan the active plan of this checkout (planctl use)',
    argumentHint: '<plan-file>',
    allowedTools: [planctl('use'), planctl('status')],
    body: `Make the plan \`$ARGUMENTS\` the active plan of this checkout.

1. If no plan file was given, list the markdown files under \`docs/plans/\` and ask the user which one to use; stop there.
2. Run \`planctl use $ARGUMENTS\`. It writes both pointers (\`.claude-context/current-plan.txt\` and \`.claude/current-plan.txt\`) and creates the plan's \`findings/\` folder.
3. Run \`planctl status\` and tell the user the plan's title and progress in two or three lines.`,
  },
  {
    name: 'status',
    description: "Show the active plan's progress per phase (planctl status)",
    allowedTools: [planctl('status')],
    body: `## Status of the active plan

!\`planctl status\`

Summarise the status above for the user: overall progress, the phase being worked on, and any failed or running task by ID. If it says no plan is active, tell the user to run \`/plan:set <plan-file>\`. Change nothing.`,
  },
  {
    name: 'next',
    description: 'List the tasks that can start now, longest remaining path first (planctl next)',
    argumentHint: '[count]',
    allowedTools: [planctl('next')],
    body: `## Tasks that can start now

!\`planctl next\`

If the user asked for a number of tasks ("$ARGUMENTS" is a number), run \`planctl next $ARGUMENTS\` instead and use its output. Present the tasks with their IDs and titles, and say that \`/plan:start <id>\` starts one. Change nothing.`,
  },
  {
    name: 'start',
    description: 'Claim a task of the active plan and work on it (planctl start … complete/fail)',
    argumentHint: '<task-id>',
    allowedTools: [planctl('start'), planctl('show'), planctl('complete'), planctl('fail'), planctl('status')],
    body: `Work on task $ARGUMENTS of the active plan.

1. Run \`planctl start $ARGUMENTS --agent claude-code\`. If it is refused (another live process holds the task) or warns that the task is not ready, tell the user and stop.
2. Run \`planctl show --json\` and read the task: its title, body, files, and the VERIFY items of its phase. A VERIFY item that names a file (for example \`findings/2-parallel-plans.md\`) is checked after the phase: that file must exist and not be empty. \`findings/\` is the plan's findings folder, \`docs/plan-outputs/<plan-name>/findings/\`.
3. Do the task. Write notes, analyses and any other written result to the findings folder. Do not edit the plan file or its status.json.
4. When the task is done, run \`planctl complete $ARGUMENTS\`. If you cannot finish it, run \`planctl fail $ARGUMENTS --reason "<why, in one line>"\`.`,
  },
  {
    name: 'complete',
    description: 'Mark a task of the active plan as completed (planctl complete)',
    argumentHint: '<task-id>',
    allowedTools: [planctl('complete'), planctl('next')],
    body: `Run \`planctl complete $ARGUMENTS\` and report the result. Then run \`planctl next\` and tell the user which tasks can start now.`,
  },
  {
    name: 'fail',
    description: 'Mark a task of the active plan as failed, with the reason (planctl fail)',
    argumentHint: '<task-id> <reason>',
    allowedTools: [planctl('fail')],
    body: `The user says task $1 failed; the rest of "$ARGUMENTS" after the task ID is the reason.

Run \`planctl fail $1 --reason "<the reason, in one line, with double quotes escaped>"\` and report the result. If no reason was given, ask for one first.`,
  },
  {
    name: 'orchestrate',
    description: 'Work the active plan task by task in this session until nothing is ready (planctl next/start/complete)',
    argumentHint: '[max-parallel]',
    allowedTools: [planctl('next'), planctl('start'), planctl('complete'), planctl('fail'), planctl('status'), planctl('show'), 'Task'],
    body: `Work the active plan until no task can start.

## Now

!\`planctl status\`

## Loop

1. Run \`planctl next --json\`. If it lists no task, go to "Finish".
2. Take up to as many of the listed tasks as the user asked for ("$ARGUMENTS"; 3 when empty) (the list never holds two tasks that touch the same file). For each, run \`planctl start <id> --agent claude-code\`; skip a task it refuses.
3. Work the started tasks. Independent tasks may run in parallel as subagents (Task tool), each told its task ID, the task's text from \`planctl show --json\`, to write written results to the plan's \`findings/\` folder (\`docs/plan-outputs/<plan-name>/findings/\`, the file names the phase's VERIFY items give), and not to edit the plan or its status.json.
4. For each task: \`planctl complete <id>\` when it is done, \`planctl fail <id> --reason "…"\` when it is not. Then go back to 1.

VERIFY items are not worked by hand: \`planctl next\` lists them once their phase is done; complete one when what it says holds (a named file exists and is not empty), fail it otherwise.

## Finish

Run \`planctl status\` and summarise: what was done, what failed and why. For long plans, suggest running \`planctl orchestrate\` in a terminal (or in its own worktree: \`planctl worktree create <plan>\`), which runs one agent per task headlessly and commits each task.`,
  },
  {
    name: 'worktree',
    description: 'Plan worktrees: create, list, path, remove, complete, rebase, conflicts, cleanup (planctl worktree)',
    argumentHint: 'create <plan> | list | path <name> | remove <name> | complete <name> | conflicts | cleanup',
    allowedTools: [planctl('worktree')],
    body: `Run \`planctl worktree $ARGUMENTS\` (with no arguments: \`planctl worktree list\`) and report the result.

A plan's worktree is \`worktrees/plan-<name>\` on branch \`plan/<name>\`, with its own active plan. \`complete\` merges the plan branch into the main branch and removes the worktree; if it stops on conflicts, say which files conflict and that the merge is left for the user to finish. Never pass --force unless the user asked for it.`,
  },
  {
    name: 'validate',
    description: 'Check the active plan: IDs, dependencies, cycles, file conflicts, gates (planctl validate)',
    allowedTools: [planctl('validate')],
    body: `## Diagnostics of the active plan

!\`planctl validate\`

Explain each problem above to the user with its line number and how to fix it (for a file conflict: add \`(depends: X)\` or \`[SEQUENTIAL]\`). List the VERIFY commands it would run and the files it checks. Change nothing unless the user asks.`,
  },
];

/** The file's text: front matter, then the prompt. */
export function renderSlashCommand(c: SlashCommand): string {
  // Quoted: descriptions hold ": " and hints start with "<" or "[", which plain YAML scalars cannot.
  const lines = ['---', `description: ${JSON.stringify(c.description)}`];
  if (c.argumentHint) lines.push(`argument-hint: ${JSON.stringify(c.argumentHint)}`);
  lines.push(`allowed-tools: ${c.allowedTools.join(', ')}`, '---', '', c.body, '');
  return lines.join('\n');
}

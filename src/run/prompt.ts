/**
 * The prompt an agent gets for one task. A template with `{{placeholder}}`s: the built-in one below,
 * or the user's own markdown file (git-workflow.json `agent.promptFile`). Placeholders:
 *
 *   {{task.id}} {{task.title}} {{task.body}} {{task.phase}}
 *   {{plan.title}} {{plan.objective}} {{plan.path}}
 *   {{files}}         bullets: the files the task names
 *   {{dependencies}}  bullets: the tasks it waits for, with their state and commit
 *   {{verify}}        bullets: the VERIFY items of its phase
 *   {{findings}}      the plan's findings folder, relative to the worktree
 *   {{worktree}}      the directory the agent works in
 *
 * An unknown placeholder stays as written, so a typo shows in the prompt instead of vanishing.
 */
import path from 'node:path';
import { metadataValue, type Plan, type Task } from '../core/model.js';
import type { PlanGraph } from '../core/graph.js';
import type { StatusFile } from '../core/status.js';
import { fileGateOf, resolveGateFile } from './fileGates.js';

export const DEFAULT_PROMPT_TEMPLATE = `# Task {{task.id}}: {{task.title}}

{{task.body}}

## The plan
This task belongs to "{{plan.title}}" ({{plan.path}}), phase {{task.phase}}.
Objective: {{plan.objective}}

## Files this task names
{{files}}

## Done before this task
{{dependencies}}

## How this phase is verified
{{verify}}

## Findings
Write notes, analyses and any other written result of this task to \`{{findings}}/\` (the folder exists), in a file named after the task, e.g. \`{{findings}}/{{task.id}}-<topic>.md\`.

## Rules
- Work only inside {{worktree}} and only on task {{task.id}}: other tasks of this plan may be running in the same directory.
- Do not commit, push, or switch branches: the orchestrator commits your changes when you finish.
- Do not edit the plan file or its status.json.
- If you cannot do the task, say why in your last message.
`;

export interface PromptContext {
  plan: Plan;
  graph: PlanGraph;
  task: Task;
  planRelPath: string;
  status: StatusFile;
  worktree: string;
  findingsDir: string;
}

/** The real tasks a task waits for: its graph predecessors, seen through phase barriers and gates. */
export function directDependencies(plan: Plan, graph: PlanGraph, task: Task): Task[] {
  const out = new Map<number, Task>();
  const seen = new Set<number>();
  const stack = [...(graph.preds[task.index] ?? [])];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    if (n < graph.taskCount) {
      const t = plan.tasks[n]!;
      if (t.kind === 'task') out.set(n, t);
      else stack.push(...(graph.preds[n] ?? []));
    } else stack.push(...(graph.preds[n] ?? []));
  }
  return [...out.values()].sort((a, b) => a.index - b.index);
}

const bullets = (lines: string[], none: string): string => (lines.length > 0 ? lines.map((l) => `- ${l}`).join('\n') : none);

export function promptValues(ctx: PromptContext): Record<string, string> {
  const { plan, graph, task, status } = ctx;
  const phase = plan.phases[task.phaseIndex];
  const deps = directDependencies(plan, graph, task).map((d) => {
    const rec = status.tasks[d.id];
    const commit = rec?.run?.commit ? `, commit ${rec.run.commit.slice(0, 12)}` : '';
    return `${d.id} ${d.title} (${rec?.status ?? 'pending'}${commit})`;
  });
  const rel = path.relative(ctx.worktree, ctx.findingsDir).split(path.sep).join('/') || '.';
  const place = { root: ctx.worktree, outputDir: path.dirname(ctx.findingsDir) };
  const verify = phase
    ? phase.verifyIndices.map((i) => plan.tasks[i]!).map((v) => {
        // A file gate says where its file is looked for: `findings/x.md` means the plan's findings folder.
        const files = (fileGateOf(v) ?? []).map((f) => resolveGateFile(f, place)).filter((f): f is string => f !== undefined);
        const checked = files.length > 0 ? ` (checked after the phase: ${files.map((f) => `\`${path.relative(ctx.worktree, f).split(path.sep).join('/')}\``).join(', ')} must exist and not be empty)` : '';
        return `${v.syntheticId ? '' : `${v.id} `}${v.title}${checked}`;
      })
    : [];
  return {
    'task.id': task.id,
    'task.title': task.title,
    'task.body': task.body.trim() || '(no further details in the plan)',
    'task.phase': phase && !phase.implicit ? `${phase.id}${phase.title ? ` (${phase.title})` : ''}` : '(none)',
    'plan.title': plan.title || path.basename(ctx.planRelPath, '.md'),
    'plan.objective': metadataValue(plan, 'Objective') ?? metadataValue(plan, 'Goal') ?? '(not stated)',
    'plan.path': ctx.planRelPath,
    files: bullets(task.files.map((f) => `\`${f.path}\``), '(the task names no files)'),
    dependencies: bullets(deps, '(nothing: this task waits for no other task)'),
    verify: bullets(verify, '(no VERIFY items for this phase)'),
    findings: rel,
    worktree: ctx.worktree,
  };
}

export function renderPrompt(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (m, key: string) => (key in values ? values[key]! : m));
}

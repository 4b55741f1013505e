/**
 * The dashboard's parts as Ink components: they draw what they are given, in exactly the rows they
 * are given (the App does the arithmetic), every line cut to the width rather than wrapped, so that
 * the frame never grows past the terminal and scrolls.
 */
import { Box, Text } from 'ink';
import type { TaskRow } from '../run/events/messages.js';
import type { Question, PlanChoice } from './actions.js';
import {
  STATE_ICON,
  elapsed,
  isRunning,
  money,
  needsApproval,
  orchestratorLabel,
  planCost,
  printable,
  runningLine,
  runningTasks,
  scrollStart,
  type DashboardPlan,
  type FeedLine,
  type Tone,
} from './model.js';

const TONE_COLOR: Record<Tone, string | undefined> = { ok: 'green', bad: 'red', run: 'cyan', warn: 'yellow', info: undefined };
const STATE_COLOR: Record<TaskRow['state'], string | undefined> = { done: 'green', running: 'cyan', failed: 'red', skipped: 'gray', ready: undefined, blocked: 'gray' };

/** One line, cut at the width. */
function Line({ children, color, bold, inverse, dim }: { children: string; color?: string | undefined; bold?: boolean; inverse?: boolean; dim?: boolean }) {
  return (
    <Text wrap="truncate-end" {...(color ? { color } : {})} bold={bold === true} inverse={inverse === true} dimColor={dim === true}>
      {children}
    </Text>
  );
}

export function bar(done: number, total: number, width: number): string {
  const w = Math.max(4, width);
  const filled = total > 0 ? Math.round((w * done) / total) : 0;
  return '█'.repeat(filled) + '░'.repeat(w - filled);
}

export function Header(props: { width: number; repo: string; plans: number; running: number; done: number; total: number; percent: number; costUsd: number; runNote?: string | undefined }) {
  const left = ` planctl top · ${props.repo} · ${props.plans} plan${props.plans === 1 ? '' : 's'}, ${props.running} running`;
  const right = `${props.done}/${props.total} done ${props.percent}%${props.costUsd ? ` · ${money(props.costUsd)}` : ''}${props.runNote ? ` · ${props.runNote}` : ''} `;
  const barWidth = Math.max(4, Math.min(30, props.width - left.length - right.length - 4));
  return (
    <Box width={props.width} height={1}>
      <Line bold color="cyan">{`${left}  ${bar(props.done, props.total, barWidth)} ${right}`}</Line>
    </Box>
  );
}

export function PlanList(props: { plans: DashboardPlan[]; selected: string | undefined; width: number; height: number; filter: string }) {
  const rows = Math.max(0, props.height - 2);
  const index = Math.max(0, props.plans.findIndex((p) => p.name === props.selected));
  const start = scrollStart(props.plans.length, index, rows);
  const nameWidth = Math.max(4, props.width - 12);
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="round" borderColor="gray" overflow="hidden">
      {props.plans.length === 0 ? <Line dim>{props.filter ? 'no plan matches' : 'no plans yet (n)'}</Line> : null}
      {props.plans.slice(start, start + rows).map((p) => {
        const mark = isRunning(p) ? '▶' : p.failed > 0 ? '✗' : p.total > 0 && p.done === p.total ? '✓' : ' ';
        const name = printable(p.name).slice(0, nameWidth).padEnd(nameWidth);
        const selected = p.name === props.selected;
        return (
          <Line key={p.name} inverse={selected} {...(isRunning(p) ? { color: 'cyan' } : p.failed > 0 ? { color: 'red' } : {})}>
            {`${selected ? '›' : ' '}${mark} ${name} ${String(p.percent).padStart(3)}%`}
          </Line>
        );
      })}
    </Box>
  );
}

function taskLine(t: TaskRow, now: number): string {
  const icon = needsApproval(t) ? '?' : STATE_ICON[t.state];
  const extra = t.state === 'running' ? `  ${runningLine(t, now)}` : t.state === 'failed' ? `  ${needsApproval(t) ? 'needs approval (a)' : printable(t.lastError ?? '')}` : '';
  return `${icon} ${printable(t.id)}  ${printable(t.title)}${extra}`;
}

/** Rows a pane needs beside its task lines: two borders, the title and the bar. */
export const PANE_CHROME = 4;

export function PlanPane(props: {
  plan: DashboardPlan;
  selected: boolean;
  width: number;
  height: number;
  now: number;
  /** The selected pane lists these tasks with a cursor; the others list their running tasks. */
  tasks?: TaskRow[];
  cursor?: string | undefined;
  hiddenPanes?: number;
}) {
  const p = props.plan;
  const inner = Math.max(10, props.width - 4);
  const rows = Math.max(0, props.height - PANE_CHROME);
  const list = props.tasks ?? runningTasks(p);
  const cursorIndex = props.tasks ? Math.max(0, list.findIndex((t) => t.id === props.cursor)) : -1;
  const start = props.tasks ? scrollStart(list.length, cursorIndex, rows) : 0;
  const shown = list.slice(start, start + rows);
  const more = props.tasks ? 0 : list.length - shown.length;
  if (more > 0 && shown.length > 0) shown.pop();
  const where = `${p.branch ?? 'detached'} · ${orchestratorLabel(p.orchestrator)}`;
  const stats = `${p.done}/${p.total} ${p.percent}%${p.running ? ` ▶${p.running}` : ''}${p.failed ? ` ✗${p.failed}` : ''}${planCost(p) ? ` ${money(planCost(p))}` : ''}`;
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle={props.selected ? 'double' : 'round'} borderColor={props.selected ? 'cyan' : 'gray'} paddingX={1} overflow="hidden">
      <Line bold>{`${printable(p.name)}  ${printable(p.title)}  ·  ${where}${props.hiddenPanes ? `  (+${props.hiddenPanes} more active: Tab)` : ''}`}</Line>
      <Line {...(p.error ? { color: 'red' } : {})}>{p.error ? `! ${printable(p.error)}` : `${bar(p.done, p.total, Math.min(40, inner - stats.length - 1))} ${stats}`}</Line>
      {shown.map((t) => {
        const atCursor = props.tasks !== undefined && t.id === props.cursor && props.selected;
        return (
          <Line key={t.id} inverse={atCursor} color={needsApproval(t) ? 'yellow' : STATE_COLOR[t.state]}>
            {`${atCursor ? '›' : ' '}${taskLine(t, props.now)}`}
          </Line>
        );
      })}
      {more > 0 ? <Line dim>{`  … ${more + 1} more running`}</Line> : null}
      {!props.tasks && list.length === 0 && rows > 0 ? <Line dim>{'  nothing running'}</Line> : null}
    </Box>
  );
}

export function Feed(props: { title: string; lines: readonly FeedLine[]; width: number; height: number }) {
  const rows = Math.max(0, props.height - 2);
  const shown = props.lines.slice(-rows);
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="round" borderColor="gray" paddingX={1} overflow="hidden">
      {shown.length === 0 ? <Line dim>{`${props.title}: no activity yet`}</Line> : null}
      {shown.map((l, i) => (
        <Line key={i} color={TONE_COLOR[l.tone]}>{`${l.at.slice(11, 19)} ${l.text}`}</Line>
      ))}
    </Box>
  );
}

export function TaskDetail(props: { plan: DashboardPlan; task: TaskRow; log: string[]; width: number; height: number; now: number }) {
  const { plan, task: t } = props;
  const a = t.agent;
  const facts = [
    `${printable(t.title)}`,
    `state: ${t.state} (recorded: ${t.status}) · attempts ${t.attempts}${t.startedAt ? ` · started ${t.startedAt.slice(11, 19)}${t.state === 'running' ? ` (${elapsed(t.startedAt, props.now)} ago)` : ''}` : ''}${t.completedAt ? ` · ended ${t.completedAt.slice(11, 19)}` : ''}`,
    ...(a ? [`agent: ${[a.kind, a.model, a.turn !== undefined ? `turn ${a.turn}` : '', money(a.costUsd), a.totalCostUsd ? `all attempts ${money(a.totalCostUsd)}` : '', a.host ? `on ${a.host}` : '', a.commit ? `commit ${a.commit.slice(0, 10)}` : ''].filter(Boolean).map((s) => printable(String(s))).join(' · ')}`] : []),
    ...(a?.activity ? [`activity: ${printable(a.activity)}`] : []),
    ...(t.dependsOn.length ? [`depends on: ${t.dependsOn.join(', ')}${t.waitsFor.length ? ` · waits for ${t.waitsFor.map((w) => `${w.id} (${w.state})`).join(', ')}` : ''}`] : []),
    ...(t.lastError ? [`error: ${printable(t.lastError)}`] : []),
    ...(a?.needsApproval?.length ? [`needs approval: ${a.needsApproval.map((d) => printable(d.rule)).join(', ')}  (a: approve)`] : []),
  ];
  const logRows = Math.max(0, props.height - 4 - facts.length);
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="double" borderColor="cyan" paddingX={1} overflow="hidden">
      <Line bold>{`Task ${printable(t.id)} of ${printable(plan.name)}   (Esc back · j/k next task · a approve · r retry)`}</Line>
      {facts.map((f, i) => (
        <Line key={i} {...(f.startsWith('error') ? { color: 'red' } : f.startsWith('needs approval') ? { color: 'yellow' } : {})}>
          {f}
        </Line>
      ))}
      <Line dim>{`── agent log ${a?.log ? printable(a.log) : '(none yet: the task has not run)'} ──`}</Line>
      {props.log.slice(-logRows).map((l, i) => (
        <Line key={i}>{l || ' '}</Line>
      ))}
    </Box>
  );
}

export function QuestionBox(props: { question: Question; width: number; height: number }) {
  const q = props.question;
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="double" borderColor="yellow" paddingX={1} overflow="hidden">
      <Line bold color="yellow">{q.title}</Line>
      {q.lines.slice(0, Math.max(0, props.height - 4 - q.choices.length)).map((l, i) => (
        <Text key={i} wrap="wrap">{`  ${l}`}</Text>
      ))}
      <Text> </Text>
      {q.choices.map((c) => (
        <Line key={c.key}>{`[${c.key}] ${c.label}`}</Line>
      ))}
      <Line dim>{'[Esc] cancel'}</Line>
    </Box>
  );
}

export function Picker(props: { title: string; items: PlanChoice[]; cursor: number; width: number; height: number }) {
  const rows = Math.max(0, props.height - 3);
  const start = scrollStart(props.items.length, props.cursor, rows);
  return (
    <Box flexDirection="column" width={props.width} height={props.height} borderStyle="double" borderColor="cyan" paddingX={1} overflow="hidden">
      <Line bold>{props.title}</Line>
      {props.items.length === 0 ? <Line dim>{'no plan files found (docs/plans/**/*.md, **/tasks.md, .kiro/specs/**/tasks.md, specs/**/tasks.md)'}</Line> : null}
      {props.items.slice(start, start + rows).map((c, i) => (
        <Line key={c.rel} inverse={start + i === props.cursor}>{`${start + i === props.cursor ? '›' : ' '} ${printable(c.rel)}${c.note ? `   (${printable(c.note)})` : ''}`}</Line>
      ))}
    </Box>
  );
}

export function Footer(props: { width: number; text: string; tone?: Tone | undefined }) {
  return (
    <Box width={props.width} height={1}>
      <Line {...(props.tone && TONE_COLOR[props.tone] ? { color: TONE_COLOR[props.tone] } : { dim: true })}>{props.text}</Line>
    </Box>
  );
}

/**
 * The dashboard: the plan list on the left, a pane per active plan (the selected one with its task
 * list and a cursor), the selected plan's activity feed below, one line of keys or news at the
 * bottom. Everything is sized from the terminal's rows and columns, and drawn again when they change.
 */
import { Box, Text, useApp, useInput, type Key } from 'ink';
import { planName } from '../core/planFile.js';
import { useCallback, useEffect, useRef, useState } from 'react';
import { logTail, type Ask, type PlanActions, type PlanChoice, type Question } from './actions.js';
import { aggregate, panePlans, planMatches, visibleTasks, type DashboardPlan, type Tone } from './model.js';
import type { DashboardSource } from './source.js';
import { Feed, Footer, Header, PANE_CHROME, Picker, PlanList, PlanPane, QuestionBox, TaskDetail } from './views.js';

/** `orchestrate --all` shown in the dashboard: its lines go to the plans' feeds; Ctrl-C stops it. */
export interface WatchedRun {
  onLine(listener: (line: string) => void): () => void;
  /** Settles with the run's summary line when every plan has ended. */
  ended: Promise<string>;
  /** Stops every plan, as Ctrl-C does without the dashboard. */
  stop(): void;
}

export interface AppProps {
  source: DashboardSource;
  actions: PlanActions;
  repo: string;
  stdout: NodeJS.WriteStream;
  run?: WatchedRun | undefined;
}

const KEYS = 'Tab/←→ plan  ↑↓/jk task  Enter detail  s start/stop  r retry  a approve  n new  / filter  q quit';
/** Below this the panes cannot be drawn without wrapping. */
const MIN_COLS = 40;
const MIN_ROWS = 10;
/** How long a message stays in the footer before the keys come back. */
const MESSAGE_MS = 10_000;

function useTerminalSize(stdout: NodeJS.WriteStream): { cols: number; rows: number } {
  const read = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  const [size, setSize] = useState(read);
  useEffect(() => {
    const onResize = () => setSize(read());
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout]);
  return size;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function App({ source, actions, repo, stdout, run }: AppProps) {
  const { exit } = useApp();
  const { cols, rows } = useTerminalSize(stdout);
  const [, setVersion] = useState(0);
  const [now, setNow] = useState(Date.now());
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [cursors, setCursors] = useState<Record<string, string>>({});
  /** The detail view shows the task at the selected plan's cursor (j/k there move the cursor). */
  const [detail, setDetail] = useState(false);
  const [log, setLog] = useState<string[]>([]);
  const [filter, setFilter] = useState('');
  const [editingFilter, setEditingFilter] = useState(false);
  const [message, setMessage] = useState<{ text: string; tone: Tone; at: number } | undefined>(undefined);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [question, setQuestion] = useState<(Question & { resolve: (key: string | undefined) => void }) | undefined>(undefined);
  const [picker, setPicker] = useState<{ items: PlanChoice[]; cursor: number } | undefined>(undefined);
  const [runEnded, setRunEnded] = useState<string | undefined>(undefined);
  const stopping = useRef(false);
  // Keys arrive in bursts (a held key, a paste): several handled before React draws again must see
  // each other's effects, so these are read through refs rather than from the last render.
  const busyRef = useRef<string | undefined>(undefined);

  useEffect(() => source.onChange(() => setVersion((v) => v + 1)), [source]);
  useEffect(() => {
    // Running tasks' elapsed times move without any event; messages age out.
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  useEffect(() => {
    if (!run) return undefined;
    const off = run.onLine((line) => source.runLine(line));
    void run.ended.then((summary) => {
      setRunEnded(summary);
      // After a Ctrl-C the user wants out once the plans have wound down; a finished run stays on screen to be read.
      if (stopping.current) exit();
    });
    return off;
  }, [run, source, exit]);

  const snapshot = source.snapshot;
  const plans = snapshot.plans.filter((p) => planMatches(p, filter));
  const current: DashboardPlan | undefined = plans.find((p) => p.name === selected) ?? plans[0];
  const tasks = current ? visibleTasks(current, filter) : [];
  const cursorId = current ? (tasks.find((t) => t.id === cursors[current.name])?.id ?? tasks[0]?.id) : undefined;
  const detailPlan = detail ? current : undefined;
  const detailTask = detailPlan ? tasks.find((t) => t.id === cursorId) : undefined;

  useEffect(() => {
    if (!detailPlan || !detailTask) return undefined;
    let live = true;
    const read = () => void logTail(detailPlan.worktree, detailTask.agent?.log, 200).then((l) => live && setLog(l), () => undefined);
    read();
    const t = setInterval(read, 500);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [detailPlan?.worktree, detailTask?.agent?.log, detailTask?.id]);

  const ask: Ask = (q) => new Promise((resolve) => setQuestion({ ...q, resolve }));
  /** Runs a key's action; its outcome goes to the footer and to `plan`'s feed. */
  const act = (label: string, plan: string | undefined, job: () => Promise<string>): void => {
    if (busyRef.current) {
      setMessage({ text: `one thing at a time: ${busyRef.current}`, tone: 'warn', at: Date.now() });
      return;
    }
    busyRef.current = label;
    setBusy(label);
    setMessage(undefined);
    void job()
      .then(
        (text) => {
          setMessage({ text, tone: 'ok', at: Date.now() });
          source.note(plan, text, 'info');
        },
        (e: unknown) => {
          setMessage({ text: errorText(e), tone: 'bad', at: Date.now() });
          source.note(plan, errorText(e), 'bad');
        },
      )
      .finally(() => {
        busyRef.current = undefined;
        setBusy(undefined);
        setQuestion(undefined);
        void source.refresh().catch(() => undefined);
      });
  };

  const movePlan = (by: number): void => {
    if (plans.length === 0) return;
    setSelected((was) => {
      const i = Math.max(0, plans.findIndex((p) => p.name === (was ?? current?.name)));
      return plans[(i + by + plans.length) % plans.length]!.name;
    });
  };
  const moveTask = (by: number): void => {
    if (!current || tasks.length === 0) return;
    setCursors((was) => {
      const i = Math.max(0, tasks.findIndex((t) => t.id === (was[current.name] ?? cursorId)));
      return { ...was, [current.name]: tasks[Math.max(0, Math.min(tasks.length - 1, i + by))]!.id };
    });
  };

  const onKey = (input: string, key: Key): void => {
    if (question) {
      if (key.escape) question.resolve(undefined);
      else if (question.choices.some((c) => c.key === input.toLowerCase())) question.resolve(input.toLowerCase());
      else return;
      setQuestion(undefined);
      return;
    }
    if (picker) {
      if (key.escape || input === 'q') setPicker(undefined);
      else if (key.upArrow || input === 'k') setPicker((p) => p && { ...p, cursor: Math.max(0, p.cursor - 1) });
      else if (key.downArrow || input === 'j') setPicker((p) => p && { ...p, cursor: Math.min(p.items.length - 1, p.cursor + 1) });
      else if (key.return && picker.items[picker.cursor]) {
        const choice = picker.items[picker.cursor]!;
        setPicker(undefined);
        act(`starting ${choice.rel}…`, planName(choice.file), () => actions.startFile(choice, ask));
      }
      return;
    }
    // The plan the filter showed stays selected when the filter is kept or cleared.
    if (editingFilter) {
      if (key.return) {
        setSelected(current?.name);
        setEditingFilter(false);
      } else if (key.escape) {
        setSelected(current?.name);
        setFilter('');
        setEditingFilter(false);
      } else if (key.backspace || key.delete) setFilter((f) => f.slice(0, -1));
      else if (input && !key.ctrl && !key.meta) setFilter((f) => f + input);
      return;
    }
    if (key.ctrl && input === 'c') {
      if (run && !runEnded) {
        stopping.current = true;
        run.stop();
        setMessage({ text: 'stopping every plan: no new tasks; running ones finish first…', tone: 'warn', at: Date.now() });
        return;
      }
      exit();
      return;
    }
    if (detail) {
      if (key.escape || key.return || input === 'q' || key.leftArrow) setDetail(false);
      else if (key.upArrow || input === 'k') moveTask(-1);
      else if (key.downArrow || input === 'j') moveTask(1);
      else if (input === 'a' && detailPlan && detailTask) act(`approving ${detailTask.id}…`, detailPlan.name, () => actions.approve(detailPlan.name, detailTask.id, ask));
      else if (input === 'r' && detailPlan && detailTask) act(`retrying ${detailTask.id}…`, detailPlan.name, () => actions.retry(detailPlan.name, detailTask.id, ask));
      return;
    }
    // q leaves the dashboard only: plans keep running (under orchestrate --all, which goes on printing its lines).
    if (input === 'q') exit();
    else if (key.tab && key.shift) movePlan(-1);
    else if (key.tab || key.rightArrow || input === 'l') movePlan(1);
    else if (key.leftArrow || input === 'h') movePlan(-1);
    else if (key.upArrow || input === 'k') moveTask(-1);
    else if (key.downArrow || input === 'j') moveTask(1);
    else if (key.pageUp) moveTask(-10);
    else if (key.pageDown) moveTask(10);
    else if (key.return && current && cursorId) {
      setLog([]);
      setDetail(true);
    } else if (input === 's' && current) act(`${current.orchestrator?.alive ? 'stopping' : 'starting'} ${current.name}…`, current.name, () => actions.toggle(current.name, ask));
    else if (input === 'r' && current && cursorId) act(`retrying ${cursorId}…`, current.name, () => actions.retry(current.name, cursorId, ask));
    else if (input === 'a' && current && cursorId) act(`approving ${cursorId}…`, current.name, () => actions.approve(current.name, cursorId, ask));
    else if (input === 'n') {
      if (busyRef.current) return;
      busyRef.current = 'looking for plans…';
      setBusy(busyRef.current);
      void actions
        .planChoices()
        .then((items) => setPicker({ items, cursor: 0 }), (e: unknown) => setMessage({ text: errorText(e), tone: 'bad', at: Date.now() }))
        .finally(() => {
          busyRef.current = undefined;
          setBusy(undefined);
        });
    } else if (input === '/') setEditingFilter(true);
    else if (key.escape) {
      setSelected(current?.name);
      setFilter('');
      setMessage(undefined);
    }
  };
  // Ink subscribes a new handler after each render has been drawn: a key pressed right after a
  // question appeared would still reach the old one. One stable handler reads the latest through a ref.
  const onKeyRef = useRef(onKey);
  onKeyRef.current = onKey;
  const handleInput = useCallback((input: string, key: Key) => {
    // Plain keys typed faster than they are read come as one string ("jjj"): one at a time, as typed.
    // They are all read in the mode the burst started in (React draws once after them): a held j
    // moves the cursor, a paste into the filter is typed into it.
    if (!key.ctrl && !key.meta && input.length > 1 && /^[\x21-\x7e]+$/.test(input)) for (const ch of input) onKeyRef.current(ch, key);
    else onKeyRef.current(input, key);
  }, []);
  useInput(handleInput);

  if (cols < MIN_COLS || rows < MIN_ROWS) {
    return (
      <Box width={cols} height={1}>
        <Text wrap="truncate-end">{`planctl top needs ${MIN_COLS}×${MIN_ROWS} at least (this terminal: ${cols}×${rows}); q quits`}</Text>
      </Box>
    );
  }

  // Rows: header, body (plan list + panes), feed, footer, and one left free so that Ink's frame
  // never fills the screen (a full frame is redrawn from a cleared screen each time).
  const height = rows - 1;
  const feedHeight = Math.max(3, Math.min(10, Math.floor(height / 4)));
  const bodyHeight = Math.max(3, height - 2 - feedHeight);
  const listWidth = Math.max(16, Math.min(32, Math.floor(cols / 4)));
  const paneWidth = Math.max(20, cols - listWidth);
  const total = aggregate(snapshot.plans);
  const runNote = run ? (runEnded ? `orchestrate --all ended` : 'orchestrate --all') : undefined;

  const footer = ((): { text: string; tone?: Tone } => {
    if (editingFilter) return { text: `/ ${filter}▏  (Enter keep · Esc clear)`, tone: 'warn' };
    if (busy) return { text: busy, tone: 'run' };
    if (message && now - message.at < MESSAGE_MS) return { text: message.text, tone: message.tone };
    if (runEnded) return { text: `${runEnded} · q quit`, tone: 'ok' };
    return { text: `${filter ? `filter "${filter}" (Esc clears) · ` : ''}${KEYS}` };
  })();

  let body;
  if (question) body = <QuestionBox question={question} width={cols} height={bodyHeight + feedHeight} />;
  else if (picker) body = <Picker title="Start which plan? (↑↓ choose · Enter start · Esc cancel)" items={picker.items} cursor={picker.cursor} width={cols} height={bodyHeight + feedHeight} />;
  else if (detail && detailPlan && detailTask) body = <TaskDetail plan={detailPlan} task={detailTask} log={log} width={cols} height={bodyHeight + feedHeight} now={now} />;
  else {
    // Other active plans get compact panes (title, bar, running tasks); the selected one the rest.
    const compactHeight = (p: DashboardPlan) => PANE_CHROME + Math.max(1, Math.min(3, p.running));
    const minSelected = PANE_CHROME + 3;
    const { shown, hidden } = panePlans(plans, current?.name, Math.max(1, Math.floor(bodyHeight / (PANE_CHROME + 1))));
    const panes: Array<{ plan: DashboardPlan; height: number }> = [];
    let left = bodyHeight;
    for (const p of shown) {
      if (p.name === current?.name) continue;
      const h = compactHeight(p);
      if (left - h < minSelected) break;
      panes.push({ plan: p, height: h });
      left -= h;
    }
    const dropped = hidden + shown.filter((p) => p.name !== current?.name).length - panes.length;
    body = (
      <>
        <Box height={bodyHeight}>
          <PlanList plans={plans} selected={current?.name} width={listWidth} height={bodyHeight} filter={filter} />
          <Box flexDirection="column" width={paneWidth} height={bodyHeight}>
            {shown
              .filter((p) => p.name === current?.name || panes.some((x) => x.plan === p))
              .map((p) =>
                p.name === current?.name ? (
                  <PlanPane key={p.name} plan={p} selected width={paneWidth} height={left} now={now} tasks={tasks} cursor={cursorId} hiddenPanes={dropped} />
                ) : (
                  <PlanPane key={p.name} plan={p} selected={false} width={paneWidth} height={panes.find((x) => x.plan === p)!.height} now={now} />
                ),
              )}
          </Box>
        </Box>
        <Feed title={current ? `activity of ${current.name}` : 'activity'} lines={source.feeds.of(current?.name)} width={cols} height={feedHeight} />
      </>
    );
  }

  return (
    <Box flexDirection="column" width={cols} height={height}>
      <Header width={cols} repo={repo} plans={total.plans} running={total.running} done={total.done} total={total.total} percent={total.percent} costUsd={total.costUsd} runNote={runNote} />
      {body}
      <Footer width={cols} text={footer.text} tone={footer.tone} />
    </Box>
  );
}

/**
 * How the Plans view shows its tasks: a filter (text and states, like the Problems panel's filter)
 * and grouping by state. The filter is shown in the view's description and a "Clear Filter" button,
 * so a view with rows missing always says why.
 */
import * as vscode from 'vscode';
import type { TaskDisplayState, TaskView } from './taskState.js';

export interface TaskFilter {
  /** Matched, case-insensitively, against the ID, the title and the files. */
  text: string;
  /** Empty: every state. */
  states: TaskDisplayState[];
}

/** The states in the order the groups and the filter's choices list them. */
export const STATE_ORDER: readonly TaskDisplayState[] = ['running', 'failed', 'ready', 'blocked', 'done', 'skipped'];

export const STATE_TITLE: Record<TaskDisplayState, string> = {
  running: 'Running',
  failed: 'Failed',
  ready: 'Ready',
  blocked: 'Blocked',
  done: 'Done',
  skipped: 'Skipped',
};

export class TreeOptions implements vscode.Disposable {
  private filterValue: TaskFilter | undefined;
  private grouped = false;
  private readonly emitter = new vscode.EventEmitter<void>();
  readonly onDidChange = this.emitter.event;

  get filter(): TaskFilter | undefined {
    return this.filterValue;
  }

  get groupByState(): boolean {
    return this.grouped;
  }

  setFilter(filter: TaskFilter | undefined): void {
    const text = filter?.text.trim() ?? '';
    const states = filter?.states.filter((s) => STATE_ORDER.includes(s)) ?? [];
    this.filterValue = text || states.length ? { text, states } : undefined;
    void vscode.commands.executeCommand('setContext', 'planOrchestrator.filtered', this.filterValue !== undefined);
    this.emitter.fire();
  }

  setGroupByState(on: boolean): void {
    this.grouped = on;
    void vscode.commands.executeCommand('setContext', 'planOrchestrator.groupedByState', on);
    this.emitter.fire();
  }

  /** Does the task pass the filter (always, without one)? */
  matches(view: TaskView): boolean {
    const f = this.filterValue;
    if (!f) return true;
    if (f.states.length && !f.states.includes(view.state)) return false;
    if (!f.text) return true;
    const needle = f.text.toLowerCase();
    const t = view.task;
    return t.id.toLowerCase().includes(needle) || t.title.toLowerCase().includes(needle) || t.files.some((file) => file.path.toLowerCase().includes(needle));
  }

  /** `"index" · failed, running` for the view's description; '' without a filter. */
  describe(): string {
    const f = this.filterValue;
    if (!f) return '';
    return [f.text ? `"${f.text}"` : '', f.states.map((s) => STATE_TITLE[s].toLowerCase()).join(', ')].filter(Boolean).join(' · ');
  }

  dispose(): void {
    this.emitter.dispose();
  }
}

type Handler = (...args: unknown[]) => Promise<unknown> | unknown;

function isFilter(x: unknown): x is Partial<TaskFilter> {
  return typeof x === 'object' && x !== null && ('text' in x || 'states' in x);
}

/**
 * One quick pick for both: what is typed is the text to match, the ticked items the states. The
 * items always show, so typing does not hide them.
 */
async function askFilter(current: TaskFilter | undefined): Promise<TaskFilter | undefined> {
  const pick = vscode.window.createQuickPick<vscode.QuickPickItem & { state: TaskDisplayState }>();
  pick.title = 'Filter Tasks';
  pick.placeholder = 'Type text to match (ID, title, file) and tick states; Enter applies';
  pick.canSelectMany = true;
  pick.items = STATE_ORDER.map((state) => ({ label: STATE_TITLE[state], state, alwaysShow: true }));
  pick.selectedItems = pick.items.filter((i) => current?.states.includes(i.state));
  pick.value = current?.text ?? '';
  return new Promise((resolve) => {
    let accepted = false;
    pick.onDidAccept(() => {
      accepted = true;
      resolve({ text: pick.value, states: pick.selectedItems.map((i) => i.state) });
      pick.hide();
    });
    pick.onDidHide(() => {
      if (!accepted) resolve(undefined);
      pick.dispose();
    });
    pick.show();
  });
}

export function treeOptionCommands(options: TreeOptions): Record<string, Handler> {
  return {
    // An argument ({ text, states }) applies it without asking: for keybindings and tests.
    'planOrchestrator.filterTasks': async (arg) => {
      const filter = isFilter(arg) ? { text: String(arg.text ?? ''), states: Array.isArray(arg.states) ? (arg.states as TaskDisplayState[]) : [] } : await askFilter(options.filter);
      if (filter) options.setFilter(filter);
      return options.filter;
    },
    'planOrchestrator.clearFilter': () => options.setFilter(undefined),
    'planOrchestrator.groupByState': () => options.setGroupByState(true),
    'planOrchestrator.ungroup': () => options.setGroupByState(false),
  };
}

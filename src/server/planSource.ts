/**
 * What the API's routes ask of the plans they serve. The routes (api.ts) own HTTP: authentication,
 * parsing, status codes, WebSockets; a source owns the plans. `planctl serve` serves a repository
 * (repoPlans.ts: the plan watcher, status files, real orchestrators); `planctl serve --mock` serves
 * made-up plans from memory (mock/mockPlans.ts) through the very same routes, so a frontend built
 * against the mock meets the same shapes, errors and auth on the real server.
 *
 * Sources throw ApiError (or PlanError) for what the client did wrong; the routes turn them into
 * `{ "error": … }` bodies.
 */
import type { Readable } from 'node:stream';
import type { Analysis } from '../core/analyzer.js';
import type { ScheduleData } from '../core/scheduleData.js';
import type { TaskStatus } from '../core/status.js';
import type { PlanSummary } from '../run/allPlans.js';
import type { EventListener } from '../run/events/eventFeed.js';
import type { OrchestratorInfo, PlanStatus, SnapshotMessage } from '../run/events/messages.js';
import { CommandsNotApproved } from '../run/gates.js';
import { checkStartable as checkLaunchable } from '../run/orchestratorLaunch.js';
import type { DashboardData } from '../run/events/dashboardModel.js';
import { ApiError } from './errors.js';

export interface PlanListEntry extends PlanSummary {
  name: string;
  orchestrator: OrchestratorInfo | null;
}

/** The body of POST …/start, validated. */
export interface StartOptions {
  maxParallel?: number;
  /** The gate commands the client saw (in a 409's `commands`) and approves. */
  approveCommands?: string[];
  inPlace?: boolean;
  allowDirty?: boolean;
}

export interface StartResult {
  plan: string;
  pid: number;
  registered: boolean;
  /** The orchestrator log, relative to the worktree. */
  log: string;
  /** The endpoint that streams it. */
  logs: string;
}

export interface StopResult {
  plan: string;
  pid: number;
  signal: 'SIGTERM';
}

export interface TaskUpdate {
  plan: string;
  task: string;
  status: TaskStatus;
  version: number;
}

export interface ApproveResult {
  plan: string;
  task: string;
  approved: string[];
  resume: boolean;
  status: TaskStatus;
}

export type PlanSchedule = { plan: string } & ScheduleData;

export interface PlanSource {
  listPlans(): Promise<PlanListEntry[]>;
  planStatus(name: string): Promise<PlanStatus>;
  start(name: string, options: StartOptions): Promise<StartResult>;
  stop(name: string): Promise<StopResult>;
  /**
   * The orchestrator's log, or the task's agent log. Not following, a log that does not exist is a
   * 404; following, the stream waits for it and never ends by itself (the route destroys it when the
   * client goes).
   */
  openLog(name: string, task: string | undefined, follow: boolean): Promise<Readable>;
  schedule(name: string, workers: number): Promise<PlanSchedule>;
  setTaskStatus(name: string, task: string, status: TaskStatus, error?: string): Promise<TaskUpdate>;
  approve(name: string, task: string, tools?: string[]): Promise<ApproveResult>;
  /** What a WebSocket client gets first; built in the same tick the client joins the broadcast. */
  snapshot(): SnapshotMessage;
  /** The browser dashboard's data (the cards the VS Code dashboard draws), browserDashboard.ts. */
  dashboard(): DashboardData;
  onEvent(listener: EventListener): () => void;
  close(): void;
}

export function unknownPlan(name: string): ApiError {
  return new ApiError(404, 'unknown-plan', `no plan named "${name}"; GET /api/plans lists them`);
}

export function logNotFound(plan: string, task: string | undefined): ApiError {
  return new ApiError(404, 'log-not-found', task ? `task ${task} has no log yet (it has not run)` : `${plan} has no orchestrator log yet`);
}

export function logsEndpoint(plan: string): string {
  return `/api/plans/${encodeURIComponent(plan)}/logs`;
}

/** The start checks of orchestratorLaunch.ts, with unapproved commands as the API's 409 that lists them. */
export function checkStartable(relPath: string, analysis: Analysis, approved: readonly string[], options: StartOptions): void {
  apiStartErrors(() => checkLaunchable(relPath, analysis, approved, options.approveCommands ?? []));
}

/** Runs `f`, turning a CommandsNotApproved into the 409 whose `commands` the client shows, and says how a client approves them. */
export function apiStartErrors<T>(f: () => T): T {
  const convert = (e: unknown): never => {
    if (e instanceof CommandsNotApproved) throw new ApiError(409, e.code, e.message.replace('--approve-commands', 'approveCommands in the request'), [...e.commands]);
    throw e;
  };
  try {
    const r = f();
    return (r instanceof Promise ? (r.catch(convert) as T) : r);
  } catch (e) {
    return convert(e);
  }
}

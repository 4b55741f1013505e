/**
 * @plan-orchestrator/client: a typed client of the Plan API (`planctl serve`), for dashboards and
 * frontends (a NextJS app, scripts). The request and response types are generated from the server's
 * openapi.json (schema.d.ts, `npm run client:generate`); requests go through openapi-fetch, so a
 * path, parameter or body the API does not have is a compile error, and every response is typed by
 * its status code.
 *
 *   const api = createPlanClient({ baseUrl: 'http://127.0.0.1:3100', token });
 *   const { data, error } = await api.GET('/api/plans/{name}/status', { params: { path: { name: 'notes-api' } } });
 *
 * The token lets whoever holds it start agents in the user's repository: keep it on a server (a
 * NextJS route handler or server component), never in code shipped to a browser.
 */
import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema.js';

export type { components, operations, paths } from './schema.js';
export * from './events.js';

type Schemas = components['schemas'];
export type Plan = Schemas['Plan'];
export type PlanList = Schemas['PlanList'];
export type PlanStatus = Schemas['PlanStatus'];
export type TaskRow = Schemas['TaskRow'];
export type TaskStatus = Schemas['TaskStatus'];
export type TaskDisplayState = Schemas['TaskDisplayState'];
export type AgentRun = Schemas['AgentRun'];
export type Orchestrator = Schemas['Orchestrator'];
export type Worktree = Schemas['Worktree'];
export type Schedule = Schemas['Schedule'];
export type StartRequest = Schemas['StartRequest'];
export type StartResult = Schemas['StartResult'];
export type StopResult = Schemas['StopResult'];
export type TaskUpdate = Schemas['TaskUpdate'];
export type ApproveResult = Schemas['ApproveResult'];
/** Every error body: `{ error: { code, message, commands? } }`. */
export type ApiError = Schemas['Error'];

export type PlanClient = Client<paths>;

export interface PlanClientOptions extends Omit<ClientOptions, 'baseUrl' | 'headers'> {
  /** Where `planctl serve` listens, e.g. `http://127.0.0.1:3100` (no path). */
  baseUrl: string;
  /**
   * The bearer token (`~/.config/plan-orchestrator/api-token`). Server-side code only. Leave it out
   * in a page that the server logged in with its cookie.
   */
  token?: string;
  /** Sent with every request (the token's Authorization header wins). */
  headers?: Record<string, string>;
}

export function createPlanClient(options: PlanClientOptions): PlanClient {
  const { baseUrl, token, headers, ...rest } = options;
  const auth: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
  return createClient<paths>({
    ...rest,
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers: { ...headers, ...auth },
  });
}

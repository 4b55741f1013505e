/**
 * The Plan API's types, generated from openapi.json by openapi-typescript.
 * Do not edit: run `npm run client:generate` after changing openapi.json.
 */

export interface paths {
    "/api/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** This document */
        get: operations["getOpenApi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Every plan of every worktree, with progress
         * @description What `planctl status --all-plans --json` lists, with each plan's API name and orchestrator. Rescans the worktrees first.
         */
        get: operations["listPlans"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/status": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Progress per phase and the state of every task */
        get: operations["getPlanStatus"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/start": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Start an orchestrator for the plan, in its worktree
         * @description Runs `planctl orchestrate --plan <file> --daemon` with the server's agent command. Answers once the orchestrator is in the registry.
         */
        post: operations["startOrchestrator"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/stop": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Ask the plan's orchestrator to stop (SIGTERM)
         * @description It starts nothing new and lets running tasks finish within its grace period, as `planctl orchestrators stop` does. The orchestrator.stopped event says when it has ended.
         */
        post: operations["stopOrchestrator"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/logs": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The orchestrator log, or a task's log, as a text stream */
        get: operations["getLogs"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/schedule": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The `planctl simulate` result */
        get: operations["getSchedule"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/tasks/{id}/complete": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Record the task as completed, as `planctl complete` does */
        post: operations["completeTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/tasks/{id}/fail": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Record the task as failed, as `planctl fail` does */
        post: operations["failTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/tasks/{id}/skip": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Record the task as skipped, as `planctl skip` does */
        post: operations["skipTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/tasks/{id}/reset": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Record the task as pending, as `planctl reset` does */
        post: operations["resetTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/plans/{name}/tasks/{id}/approve": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** Allow the tool calls the task's agent was denied (saved for the plan) and queue the task for a retry that resumes the agent session, as `planctl approve` does */
        post: operations["approveTask"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * WebSocket: one JSON message per change
         * @description Upgrade to a WebSocket (`Upgrade: websocket`). Authenticate with `Authorization: Bearer <token>` on the upgrade request, or, from a browser (which cannot set headers), offer the subprotocols `plan-api.v1` and `bearer.<token>`; the server answers with `plan-api.v1` and never echoes the token. Host and Origin are checked as for every request. The first message is a SnapshotMessage, then one EventMessage per change; every message is a ServerMessage.
         */
        get: operations["events"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/dashboard": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The dashboard's data: a card per plan, the totals, the plans that can be started
         * @description What the browser dashboard at `/` draws (the VS Code dashboard draws the same shape, built by the same code). A card's `key` and a `workspacePlans` entry's `file` are plan API names. The page fetches it again whenever a message arrives on /api/events.
         */
        get: operations["getDashboard"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/login-codes": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * A new one-time login link for the browser dashboard
         * @description For a browser that was not signed in by the link `planctl serve` printed at start (it works once, for 5 minutes). Opening the link sets the session cookie and redirects to `/`; a used, expired or unknown code gets a page saying so (410, 410, 400). The bearer token only: a session cookie is not accepted here.
         */
        post: operations["createLoginLink"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description Every error, whatever the status code. Never a stack trace. */
        Error: {
            error: {
                /** @description machine-readable: unauthorized, bad-host, origin-not-allowed, invalid-json, body-too-large, unsupported-media-type, invalid-request, unknown-plan, unknown-task, log-not-found, orchestrator-running, not-running, other-host, plan-has-errors, commands-not-approved, in-place-required, checkout-dirty, start-failed, status-corrupt, status-locked, status-unreadable, git-error, bad-request, plan-not-found, plan-binary, plan-not-utf8, plan-unreadable, upgrade-required, not-found, internal (docs/api.md lists them with their status codes) */
                code: string;
                /** @description one line for people */
                message: string;
                /** @description with commands-not-approved: the plan's gate commands to show the user; repeat the start with them in approveCommands */
                commands?: string[];
            };
        };
        /**
         * @description What status.json records for a task.
         * @enum {string}
         */
        TaskStatus: "pending" | "in_progress" | "completed" | "failed" | "skipped";
        /**
         * @description The recorded status combined with the markdown checkbox and the dependencies, as the extension's tree shows it.
         * @enum {string}
         */
        TaskDisplayState: "done" | "running" | "failed" | "skipped" | "ready" | "blocked";
        /** @description Tasks and VERIFY items of a plan, counted as `planctl status` counts them. */
        Progress: {
            total: number;
            done: number;
            running: number;
            failed: number;
            percent: number;
        };
        /** @description An orchestrator as its registry record describes it. */
        Orchestrator: {
            /** @description the registry record's name: the plan file name without .md */
            name: string;
            plan: string | null;
            /** @description absolute path of the plan file */
            planFile: string;
            /** @description absolute path of the worktree it runs in */
            worktree: string;
            pid: number;
            host: string;
            /** Format: date-time */
            startedAt: string;
            /** @description false for a record left by a process that is gone */
            alive: boolean;
            /** @description IDs of the tasks whose agents run now */
            tasks: string[];
        };
        /** @description The fields of a plan summary (shared by Plan and SnapshotPlan). */
        PlanFields: {
            /** @description the API name: the plan file name without .md, with @<worktree folder> when several worktrees have a plan of that name */
            name: string;
            /** @description the plan path relative to its worktree */
            plan: string;
            title: string;
            /** @description absolute path */
            worktree: string;
            /** @description absent when HEAD is detached */
            branch?: string;
            /** @description the worktree's active plan (its pointer file) */
            active: boolean;
            total: number;
            done: number;
            running: number;
            failed: number;
            percent: number;
            /** @description how many error and warning diagnostics the plan has (as planctl validate reports them; a plan too complex to analyse in full has a plan-too-complex warning); absent when the plan cannot be read */
            diagnostics?: {
                errors: number;
                warnings: number;
            };
            /** @description set when the plan or its status file cannot be read; the counts are 0 then */
            error?: string;
            orchestrator: components["schemas"]["Orchestrator"] | null;
        };
        /** @description A plan of one of the repository's worktrees, with its progress. */
        Plan: components["schemas"]["PlanFields"];
        PlanList: {
            plans: components["schemas"]["Plan"][];
        };
        WaitsFor: {
            /** @description a task ID, or `Phase N` for an unknown phase */
            id: string;
            /** @enum {string} */
            state: "done" | "running" | "failed" | "pending" | "missing";
        };
        TaskRow: {
            id: string;
            title: string;
            /** @enum {string} */
            kind: "task" | "verify";
            /** @description the phase ID (empty for a plan without phases) */
            phase: string;
            status: components["schemas"]["TaskStatus"];
            state: components["schemas"]["TaskDisplayState"];
            /** @description unfinished predecessors, through phase barriers */
            waitsFor: components["schemas"]["WaitsFor"][];
            /** @description direct predecessors that are tasks */
            dependsOn: string[];
            attempts: number;
            lastError?: string;
            /** Format: date-time */
            startedAt?: string;
            /** Format: date-time */
            completedAt?: string;
            /** Format: date-time */
            updatedAt?: string;
            agent?: components["schemas"]["AgentRun"];
        };
        PhaseProgress: {
            id: string;
            title: string;
            total: number;
            done: number;
            running: number;
            failed: number;
            skipped: number;
            checks: components["schemas"]["Checks"];
        };
        /** @description The VERIFY items, counted apart from the work items (`total`/`done` count the work items, or the VERIFY items when there are no others; group and optional tasks are not counted). */
        Checks: {
            done: number;
            total: number;
        };
        /** @description `planctl status --json` plus the state of every task. */
        PlanStatus: {
            name: string;
            plan: string;
            worktree: string;
            branch?: string;
            active: boolean;
            /** @description relative to the worktree */
            statusFile: string;
            /** @description status.json's version; 0 before its first write */
            version: number;
            /** @description when status.json was last written (empty before its first write) */
            updatedAt: string;
            title: string;
            total: number;
            done: number;
            running: number;
            failed: number;
            skipped: number;
            checks: components["schemas"]["Checks"];
            percent: number;
            phases: components["schemas"]["PhaseProgress"][];
            /** @description every task and VERIFY item in plan order */
            tasks: components["schemas"]["TaskRow"][];
            orchestrator: components["schemas"]["Orchestrator"] | null;
        };
        /** @description The agent command is the server's (`planctl serve --agent`); a request cannot choose it. */
        StartRequest: {
            /** @description agents at once (default: the server's --max-parallel, else planctl's default) */
            maxParallel?: number;
            /** @description the plan's VERIFY gate commands (`$ …`) the user saw and approves, as a 409 commands-not-approved listed them */
            approveCommands?: string[];
            /** @description commit to the main checkout's branch (otherwise a plan without a worktree is refused with 409 in-place-required) */
            inPlace?: boolean;
            /** @description run although the checkout has uncommitted changes (otherwise 409 checkout-dirty); they stay out of every task commit */
            allowDirty?: boolean;
        };
        StartResult: {
            plan: string;
            /** @description the orchestrator process */
            pid: number;
            /** @description true once the orchestrator was seen in the registry; false when it had already finished (nothing left to run) */
            registered: boolean;
            /** @description the orchestrator log, relative to the worktree */
            log: string;
            /** @description the endpoint that streams it */
            logs: string;
        };
        StopResult: {
            plan: string;
            pid: number;
            /** @enum {string} */
            signal: "SIGTERM";
        };
        /** @description No fields; the body may be left out. */
        EmptyRequest: Record<string, never>;
        FailRequest: {
            /** @description what went wrong (recorded as lastError) */
            error?: string;
        };
        TaskUpdate: {
            plan: string;
            task: string;
            status: components["schemas"]["TaskStatus"];
            /** @description status.json's version after the write */
            version: number;
        };
        AxisTick: {
            minutes: number;
            label: string;
        };
        ScheduleBar: {
            id: string;
            title: string;
            /** @enum {string} */
            kind: "task" | "verify";
            /** @description minutes from the start of the plan */
            start: number;
            end: number;
            /** @description zero-length item (VERIFY without estimate, group task) */
            milestone: boolean;
            critical: boolean;
            lane: number;
            line: number;
            phase: string;
            tooltip: string;
        };
        ScheduleRow: {
            label: string;
            worker: number | null;
            lanes: number;
            bars: components["schemas"]["ScheduleBar"][];
        };
        ScheduleSummary: {
            workers: number;
            makespan: number;
            lowerBound: number;
            totalWork: number;
            speedup: number;
            batchedMakespan: number | null;
            criticalPath: string[];
            criticalPathMinutes: number;
            utilisation: number;
            text: {
                makespan: string;
                lowerBound: string;
                totalWork: string;
                speedup: string;
                batched: string | null;
                criticalPath: string;
            };
        };
        /** @description `planctl simulate` as the Show Schedule chart draws it: rows per worker, bars, axis and summary. */
        Schedule: {
            plan: string;
            title: string;
            workers: number;
            /** @description set when there is nothing to schedule (a dependency cycle) */
            error?: string;
            rows: components["schemas"]["ScheduleRow"][];
            domain: number;
            ticks: components["schemas"]["AxisTick"][];
            summary?: components["schemas"]["ScheduleSummary"];
        };
        Worktree: {
            path: string;
            branch?: string;
        };
        SnapshotPlan: {
            tasks: components["schemas"]["TaskRow"][];
        } & components["schemas"]["PlanFields"];
        /**
         * @description The first message on every connection: everything, so a client needs no other request to start.
         * @example {
         *       "v": 1,
         *       "type": "snapshot",
         *       "seq": 2,
         *       "at": "2026-12-06T01:34:46.134Z",
         *       "plans": [
         *         {
         *           "name": "notes-api",
         *           "plan": "docs/plans/notes-api.md",
         *           "worktree": "/home/dev/notes-app-worktrees/plan-notes-api",
         *           "branch": "plan/notes-api",
         *           "active": true,
         *           "title": "Notes API",
         *           "total": 16,
         *           "done": 6,
         *           "running": 2,
         *           "failed": 0,
         *           "percent": 38,
         *           "orchestrator": {
         *             "name": "notes-api",
         *             "plan": "notes-api",
         *             "planFile": "/home/dev/notes-app-worktrees/plan-notes-api/docs/plans/notes-api.md",
         *             "worktree": "/home/dev/notes-app-worktrees/plan-notes-api",
         *             "pid": 48213,
         *             "host": "devbox",
         *             "startedAt": "2026-12-06T00:52:45.890Z",
         *             "alive": true,
         *             "tasks": [
         *               "2.1",
         *               "2.2"
         *             ]
         *           },
         *           "tasks": [
         *             {
         *               "id": "2.1",
         *               "title": "Note service: create, update, delete in src/services/notes.ts",
         *               "kind": "task",
         *               "phase": "2",
         *               "status": "in_progress",
         *               "state": "running",
         *               "waitsFor": [],
         *               "dependsOn": [],
         *               "attempts": 1,
         *               "startedAt": "2026-12-06T01:14:45.890Z",
         *               "updatedAt": "2026-12-06T01:14:45.890Z",
         *               "agent": {
         *                 "kind": "claude",
         *                 "model": "claude-sonnet-4-5",
         *                 "activity": "Read src/services/notes.ts",
         *                 "turn": 12,
         *                 "costUsd": 0.41,
         *                 "totalCostUsd": 0.41,
         *                 "inputTokens": 56930,
         *                 "outputTokens": 7084,
         *                 "log": "docs/plan-outputs/notes-api/logs/2.1.log",
         *                 "activityAt": "2026-12-06T01:34:46.110Z"
         *               }
         *             },
         *             {
         *               "id": "2.2",
         *               "title": "Full-text search index in src/services/search.ts",
         *               "kind": "task",
         *               "phase": "2",
         *               "status": "in_progress",
         *               "state": "running",
         *               "waitsFor": [],
         *               "dependsOn": [],
         *               "attempts": 1,
         *               "startedAt": "2026-12-06T01:25:45.890Z",
         *               "updatedAt": "2026-12-06T01:25:45.890Z",
         *               "agent": {
         *                 "kind": "claude",
         *                 "model": "claude-sonnet-4-5",
         *                 "activity": "Read src/services/search.ts",
         *                 "turn": 6,
         *                 "costUsd": 0.22,
         *                 "totalCostUsd": 0.22,
         *                 "inputTokens": 26804,
         *                 "outputTokens": 3052,
         *                 "log": "docs/plan-outputs/notes-api/logs/2.2.log",
         *                 "activityAt": "2026-12-06T01:34:46.110Z"
         *               }
         *             },
         *             {
         *               "id": "2.4",
         *               "title": "HTTP routes for notes in src/api/routes.ts",
         *               "kind": "task",
         *               "phase": "2",
         *               "status": "pending",
         *               "state": "blocked",
         *               "waitsFor": [
         *                 {
         *                   "id": "2.1",
         *                   "state": "running"
         *                 }
         *               ],
         *               "dependsOn": [
         *                 "2.1",
         *                 "2.3"
         *               ],
         *               "attempts": 0
         *             }
         *           ]
         *         }
         *       ],
         *       "orchestrators": [
         *         {
         *           "name": "notes-api",
         *           "plan": "notes-api",
         *           "planFile": "/home/dev/notes-app-worktrees/plan-notes-api/docs/plans/notes-api.md",
         *           "worktree": "/home/dev/notes-app-worktrees/plan-notes-api",
         *           "pid": 48213,
         *           "host": "devbox",
         *           "startedAt": "2026-12-06T00:52:45.890Z",
         *           "alive": true,
         *           "tasks": [
         *             "2.1",
         *             "2.2"
         *           ]
         *         }
         *       ],
         *       "worktrees": [
         *         {
         *           "path": "/home/dev/notes-app",
         *           "branch": "main"
         *         },
         *         {
         *           "path": "/home/dev/notes-app-worktrees/plan-notes-api",
         *           "branch": "plan/notes-api"
         *         },
         *         {
         *           "path": "/home/dev/notes-app-worktrees/plan-search-tuning",
         *           "branch": "plan/search-tuning"
         *         }
         *       ]
         *     }
         */
        SnapshotMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @constant */
            type: "snapshot";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            plans: components["schemas"]["SnapshotPlan"][];
            orchestrators: components["schemas"]["Orchestrator"][];
            worktrees: components["schemas"]["Worktree"][];
        };
        /**
         * @description One task changed state. Every change recorded in the task's history is sent, in order (started before completed), even when both landed between two reads.
         * @example {
         *       "v": 1,
         *       "seq": 7,
         *       "at": "2026-12-06T01:34:46.171Z",
         *       "type": "task",
         *       "plan": "billing-export",
         *       "task": "1.1",
         *       "title": "CSV writer for invoices in src/billing/csv.ts",
         *       "status": "in_progress",
         *       "previous": "pending",
         *       "changedAt": "2026-12-06T01:34:46.170Z",
         *       "attempts": 1,
         *       "progress": {
         *         "total": 5,
         *         "done": 0,
         *         "running": 2,
         *         "failed": 0,
         *         "percent": 0
         *       }
         *     }
         * @example {
         *       "v": 1,
         *       "seq": 35,
         *       "at": "2026-12-06T01:34:46.538Z",
         *       "type": "task",
         *       "plan": "notes-api",
         *       "task": "2.1",
         *       "title": "Note service: create, update, delete in src/services/notes.ts",
         *       "status": "completed",
         *       "previous": "in_progress",
         *       "changedAt": "2026-12-06T01:34:46.538Z",
         *       "attempts": 1,
         *       "progress": {
         *         "total": 16,
         *         "done": 8,
         *         "running": 2,
         *         "failed": 0,
         *         "percent": 50
         *       }
         *     }
         * @example {
         *       "v": 1,
         *       "seq": 60,
         *       "at": "2026-12-06T01:34:46.912Z",
         *       "type": "task",
         *       "plan": "notes-api",
         *       "task": "2.5",
         *       "title": "Search endpoint in src/api/search-routes.ts",
         *       "status": "failed",
         *       "previous": "in_progress",
         *       "changedAt": "2026-12-06T01:34:46.912Z",
         *       "attempts": 1,
         *       "error": "npm test: 2 failing (search-routes.test.ts: \"returns matches ranked by score\")",
         *       "progress": {
         *         "total": 16,
         *         "done": 8,
         *         "running": 1,
         *         "failed": 1,
         *         "percent": 50
         *       }
         *     }
         */
        TaskMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @constant */
            type: "task";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            /** @description the plan's API name */
            plan: string;
            task: string;
            title: string;
            status: components["schemas"]["TaskStatus"];
            previous: components["schemas"]["TaskStatus"];
            /**
             * Format: date-time
             * @description when status.json recorded the change
             */
            changedAt: string;
            /** @description the history note (e.g. attempt 2, via the API) */
            note?: string;
            attempts?: number;
            /** @description lastError, on a change to failed */
            error?: string;
            /** @description the task's agent cost on its latest attempt, when recorded (the final cost once the task ended) */
            costUsd?: number;
            progress: components["schemas"]["Progress"];
        };
        /**
         * @description An orchestrator appeared in the registry, or its record went away or its process died.
         * @example {
         *       "v": 1,
         *       "seq": 3,
         *       "at": "2026-12-06T01:34:46.159Z",
         *       "type": "orchestrator.started",
         *       "orchestrator": {
         *         "name": "billing-export",
         *         "plan": "billing-export",
         *         "planFile": "/home/dev/notes-app/docs/plans/billing-export.md",
         *         "worktree": "/home/dev/notes-app",
         *         "pid": 48500,
         *         "host": "devbox",
         *         "startedAt": "2026-12-06T01:34:46.159Z",
         *         "alive": true,
         *         "tasks": []
         *       }
         *     }
         * @example {
         *       "v": 1,
         *       "seq": 80,
         *       "at": "2026-12-06T01:34:47.165Z",
         *       "type": "orchestrator.stopped",
         *       "orchestrator": {
         *         "name": "billing-export",
         *         "plan": "billing-export",
         *         "planFile": "/home/dev/notes-app/docs/plans/billing-export.md",
         *         "worktree": "/home/dev/notes-app",
         *         "pid": 48500,
         *         "host": "devbox",
         *         "startedAt": "2026-12-06T01:34:46.159Z",
         *         "alive": false,
         *         "tasks": []
         *       }
         *     }
         */
        OrchestratorMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @enum {string} */
            type: "orchestrator.started" | "orchestrator.stopped";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            orchestrator: components["schemas"]["Orchestrator"];
        };
        /**
         * @description A plan appeared (a worktree's active plan, or a new status file), or its file changed (title, tasks, readability).
         * @example {
         *       "v": 1,
         *       "type": "plan.added",
         *       "seq": 212,
         *       "at": "2026-12-06T01:34:46.134Z",
         *       "plan": {
         *         "name": "billing-export",
         *         "plan": "docs/plans/billing-export.md",
         *         "worktree": "/home/dev/notes-app",
         *         "branch": "main",
         *         "active": true,
         *         "title": "Billing Export",
         *         "total": 5,
         *         "done": 0,
         *         "running": 0,
         *         "failed": 0,
         *         "percent": 0,
         *         "orchestrator": null
         *       }
         *     }
         */
        PlanMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @enum {string} */
            type: "plan.added" | "plan.changed";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            plan: components["schemas"]["Plan"];
        };
        /**
         * @description A new version of the plan's status file was read, or it became unreadable. Comes after the task and task.activity messages of that read, and also when the write changed nothing they describe (denied calls, a commit, a cost): re-read GET /api/plans/{name}/status for whole task records.
         * @example {
         *       "v": 1,
         *       "seq": 36,
         *       "at": "2026-12-06T01:34:46.540Z",
         *       "type": "plan.status",
         *       "plan": "notes-api",
         *       "file": "/home/dev/notes-app-worktrees/plan-notes-api/docs/plans/notes-api.md",
         *       "statusVersion": 23,
         *       "updatedAt": "2026-12-06T01:34:46.538Z",
         *       "progress": {
         *         "total": 16,
         *         "done": 8,
         *         "running": 2,
         *         "failed": 0,
         *         "percent": 50
         *       }
         *     }
         */
        PlanStatusMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @constant */
            type: "plan.status";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            /** @description the plan's API name */
            plan: string;
            /** @description the plan file (absolute) */
            file: string;
            /** @description status.json's own version counter (0: there is no status file) */
            statusVersion: number;
            /** @description when status.json says it was written ('' when there is none) */
            updatedAt: string;
            progress: components["schemas"]["Progress"];
            /** @description the status file cannot be used; the plan keeps its last readable state */
            error?: string;
        };
        /**
         * @description A plan is no longer any worktree's plan.
         * @example {
         *       "v": 1,
         *       "type": "plan.removed",
         *       "seq": 230,
         *       "at": "2026-12-06T01:34:46.134Z",
         *       "plan": "search-tuning",
         *       "file": "/home/dev/notes-app-worktrees/plan-search-tuning/docs/plans/search-tuning.md"
         *     }
         */
        PlanRemovedMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @constant */
            type: "plan.removed";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            /** @description the API name it had */
            plan: string;
            file: string;
        };
        /**
         * @description A git worktree was added or removed.
         * @example {
         *       "v": 1,
         *       "type": "worktree.created",
         *       "seq": 211,
         *       "at": "2026-12-06T01:34:46.134Z",
         *       "worktree": {
         *         "path": "/home/dev/notes-app-worktrees/plan-billing-export",
         *         "branch": "plan/billing-export"
         *       }
         *     }
         */
        WorktreeMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @enum {string} */
            type: "worktree.created" | "worktree.removed";
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            worktree: components["schemas"]["Worktree"];
        };
        EventMessage: components["schemas"]["TaskMessage"] | components["schemas"]["TaskActivityMessage"] | components["schemas"]["PlanStatusMessage"] | components["schemas"]["OrchestratorMessage"] | components["schemas"]["PlanMessage"] | components["schemas"]["PlanRemovedMessage"] | components["schemas"]["WorktreeMessage"];
        /** @description Anything the server sends on /api/events. */
        ServerMessage: components["schemas"]["SnapshotMessage"] | components["schemas"]["EventMessage"];
        ToolDenial: {
            /** @description the tool as the agent names it (Bash, Write, apply_patch) */
            tool: string;
            /** @description the call's input, short: the command, the file */
            input: string;
            /** @description the allow rule that permits exactly this call, e.g. Bash(make deploy-prod) */
            rule: string;
        };
        /** @description The task's agent on its latest attempt (cost: also over all attempts). */
        AgentRun: {
            /** @description claude, codex, command, or gate (a VERIFY command) */
            kind?: string;
            sessionId?: string;
            model?: string;
            /** @description the latest action, e.g. `Edit src/cache/lru.ts` */
            activity?: string;
            /** Format: date-time */
            activityAt?: string;
            turn?: number;
            /** @description this attempt's cost as the agent reported it */
            costUsd?: number;
            /** @description every attempt's cost together */
            totalCostUsd?: number;
            inputTokens?: number;
            outputTokens?: number;
            /** @description calls the agent was denied; the task waits for POST …/approve */
            needsApproval?: components["schemas"]["ToolDenial"][];
            /** @description the next attempt continues the agent session */
            resume?: boolean;
            commit?: string;
            /** @description the task's log, relative to the worktree */
            log?: string;
            /** @description the agent's own account of its run time */
            agentMs?: number;
            /** @description from the agent's start to its exit, as the orchestrator saw it */
            processMs?: number;
            /** @description the worker host that runs the task (planctl worker, with --queue) */
            host?: string;
        };
        /**
         * @description A running task's agent did something: its latest action, turn and cost (as often as the orchestrator writes them, about once a second).
         * @example {
         *       "v": 1,
         *       "seq": 5,
         *       "at": "2026-12-06T01:34:46.170Z",
         *       "type": "task.activity",
         *       "plan": "notes-api",
         *       "task": "2.1",
         *       "activity": "Grep \"export function\" src/",
         *       "turn": 13,
         *       "costUsd": 0.45
         *     }
         */
        TaskActivityMessage: {
            /**
             * @description message format version
             * @constant
             */
            v: 1;
            /** @description increases by one per event; a snapshot carries the seq of the last event before it */
            seq: number;
            /**
             * Format: date-time
             * @description when the server sent it
             */
            at: string;
            /** @description the plan's API name */
            plan: string;
            task: string;
            /** @constant */
            type: "task.activity";
            activity: string;
            turn?: number;
            costUsd?: number;
        };
        ApproveRequest: {
            /** @description allow these rules instead of exactly the denied calls, e.g. ["Bash(make:*)"] */
            tools?: string[];
        };
        ApproveResult: {
            plan: string;
            task: string;
            /** @description the rules saved in the plan's agent.json */
            approved: string[];
            /** @description the retry continues the agent session */
            resume: boolean;
            status: components["schemas"]["TaskStatus"];
        };
        /** @description Done and total of one kind of item. */
        Tally: {
            done: number;
            total: number;
        };
        /** @description One line of a card's feed: a task's status change. */
        DashboardActivity: {
            plan: string;
            planTitle: string;
            id: string;
            /** @description The task's title on one line. */
            title: string;
            status: components["schemas"]["TaskStatus"];
            /** Format: date-time */
            at: string;
            note?: string;
        };
        /** @description A card: one plan's counts (tasks, and VERIFY items apart as checks), its running and failed tasks, its orchestrator and its latest status changes. */
        DashboardPlan: {
            /** @description The plan's API name. */
            key: string;
            title: string;
            name: string;
            /** @description `main checkout`, or the folder of the plan's worktree. */
            where: string;
            branch?: string;
            done: number;
            total: number;
            checks: components["schemas"]["Tally"];
            running: number;
            failed: number;
            percent: number;
            runningTasks: {
                id: string;
                title: string;
                /** Format: date-time */
                startedAt?: string;
                activity?: string;
                costUsd?: number;
                host?: string;
            }[];
            failedTasks: {
                id: string;
                title: string;
                error?: string;
            }[];
            /** @description Present while an orchestrator runs the plan. */
            orchestrator?: {
                pid: number;
                /** Format: date-time */
                startedAt?: string;
            };
            error?: string;
            activity: components["schemas"]["DashboardActivity"][];
        };
        DashboardData: {
            /**
             * Format: date-time
             * @description When the server made it: the page counts elapsed times from it.
             */
            now: string;
            /** @description Whether the page may start and stop orchestrators (always true here). */
            trusted: boolean;
            /** @description Whether a card opens something: in VS Code the plan in an editor; in the browser dashboard (always true there) the plan's orchestrator log, GET /api/plans/{name}/logs, in a new tab. */
            canOpen?: boolean;
            total: {
                done: number;
                total: number;
                running: number;
                failed: number;
                percent: number;
                plans: number;
            };
            plans: components["schemas"]["DashboardPlan"][];
            /** @description The plans "Start a plan…" offers. */
            workspacePlans: {
                /** @description The plan's API name. */
                file: string;
                title: string;
                path: string;
            }[];
        };
        LoginLink: {
            /** @description `http://127.0.0.1:<port>/login?code=<one-time code>` */
            url: string;
            /** Format: date-time */
            expiresAt: string;
        };
    };
    responses: {
        /** @description Malformed JSON, an unknown field, a value out of range, or a bad query parameter. */
        BadRequest: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description No token, or a wrong one. */
        Unauthorized: {
            headers: {
                /** @description Bearer */
                "WWW-Authenticate"?: string;
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The Host header is not 127.0.0.1:<port> or localhost:<port>, or the Origin is not allowed. */
        Forbidden: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Unknown plan, task or endpoint. */
        NotFound: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The state does not allow it: an orchestrator already runs (or none runs), the status file is corrupt or locked. */
        Conflict: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The body is over the limit (64 KB). */
        PayloadTooLarge: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description Bodies must be application/json. */
        UnsupportedMediaType: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
        /** @description The plan cannot be run: it has errors or cannot be read. */
        Unprocessable: {
            headers: {
                [name: string]: unknown;
            };
            content: {
                "application/json": components["schemas"]["Error"];
            };
        };
    };
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    getOpenApi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description OpenAPI 3.1 */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": Record<string, never>;
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
    listPlans: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The plans */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PlanList"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
    getPlanStatus: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The plan's status */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PlanStatus"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
        };
    };
    startOrchestrator: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["StartRequest"];
            };
        };
        responses: {
            /** @description Started */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StartResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
            422: components["responses"]["Unprocessable"];
        };
    };
    stopOrchestrator: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["EmptyRequest"];
            };
        };
        responses: {
            /** @description Signal sent */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StopResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    getLogs: {
        parameters: {
            query?: {
                /** @description A task ID: its agent's log (`<plan output dir>/logs/<id>.log`) instead of the orchestrator's. */
                task?: string;
                /** @description `1`: keep the response open and send every byte appended, until the client disconnects (waits for a log that does not exist yet). */
                follow?: "0" | "1" | "true" | "false";
            };
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The log (chunked) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
        };
    };
    getSchedule: {
        parameters: {
            query?: {
                /** @description parallel workers, 1..32 (default 3) */
                workers?: string;
            };
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The simulated schedule */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Schedule"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            422: components["responses"]["Unprocessable"];
        };
    };
    completeTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
                /** @description A task ID of the plan (`2.3`, `T012`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["EmptyRequest"];
            };
        };
        responses: {
            /** @description Recorded */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskUpdate"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    failTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
                /** @description A task ID of the plan (`2.3`, `T012`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["FailRequest"];
            };
        };
        responses: {
            /** @description Recorded */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskUpdate"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    skipTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
                /** @description A task ID of the plan (`2.3`, `T012`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["EmptyRequest"];
            };
        };
        responses: {
            /** @description Recorded */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskUpdate"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    resetTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
                /** @description A task ID of the plan (`2.3`, `T012`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["EmptyRequest"];
            };
        };
        responses: {
            /** @description Recorded */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["TaskUpdate"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    approveTask: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The plan's API name, as GET /api/plans lists it. */
                name: string;
                /** @description A task ID of the plan (`2.3`, `T012`). */
                id: string;
            };
            cookie?: never;
        };
        requestBody?: {
            content: {
                "application/json": components["schemas"]["ApproveRequest"];
            };
        };
        responses: {
            /** @description Approved; the task is pending again */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ApproveResult"];
                };
            };
            400: components["responses"]["BadRequest"];
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            409: components["responses"]["Conflict"];
            413: components["responses"]["PayloadTooLarge"];
            415: components["responses"]["UnsupportedMediaType"];
        };
    };
    events: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Switching protocols; messages are ServerMessage JSON texts. */
            101: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
            404: components["responses"]["NotFound"];
            /** @description Not a WebSocket upgrade. */
            426: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Error"];
                };
            };
        };
    };
    getDashboard: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The dashboard */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["DashboardData"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
    createLoginLink: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A new link */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["LoginLink"];
                };
            };
            401: components["responses"]["Unauthorized"];
            403: components["responses"]["Forbidden"];
        };
    };
}

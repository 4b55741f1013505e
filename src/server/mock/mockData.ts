/**
 * The made-up repository `planctl serve --mock` serves: a notes app with two plan worktrees, four
 * plans in every state a dashboard has to draw (an orchestrator at work, a failed task, a task that
 * waits for a tool approval, a plan whose gate command nobody approved yet, a finished plan), and
 * what the scripted agents do. Plans are markdown, analysed by the same core as real plans; only the
 * status files and registry records are invented, with times counted back from when the mock starts.
 */
import type { AgentRun, StatusFile, TaskRecord, TaskStatus } from '../../core/status.js';

export const MOCK_HOST = 'devbox';
export const MOCK_REPO = '/home/dev/notes-app';
const WORKTREES_DIR = '/home/dev/notes-app-worktrees';

export interface MockWorktree {
  path: string;
  branch?: string;
}

export const MOCK_WORKTREES: MockWorktree[] = [
  { path: MOCK_REPO, branch: 'main' },
  { path: `${WORKTREES_DIR}/plan-notes-api`, branch: 'plan/notes-api' },
  { path: `${WORKTREES_DIR}/plan-search-tuning`, branch: 'plan/search-tuning' },
];

/** A task's record when the mock starts; minutes count back from then. */
export interface TaskSeed {
  status: TaskStatus;
  attempts?: number;
  startedMinutesAgo?: number;
  endedMinutesAgo?: number;
  lastError?: string;
  run?: AgentRun;
}

export interface MockPlanSeed {
  /** The plan path relative to its worktree. */
  plan: string;
  worktree: string;
  branch?: string;
  active: boolean;
  text: string;
  tasks: Record<string, TaskSeed>;
  orchestrator?: { pid: number; alive: boolean; startedMinutesAgo: number };
  /** Gate commands approved for the plan (its agent.json). */
  approvedCommands?: string[];
  /** The scripted orchestrator runs the plan again from the start each time it finishes. */
  replay?: boolean;
  /** Tasks whose first attempt fails, with the error; the orchestrator retries them. */
  failFirst?: Record<string, string>;
}

const NOTES_API = `# Implementation Plan: Notes API

## Overview
- **Objective:** A small REST service for personal notes, with search and an export job
- **Output:** \`docs/plan-outputs/notes-api/\`

## Phase 1: Foundations

- [ ] 1.1 Define the note types in \`src/types/note.ts\` (est: 30m)
- [ ] 1.2 Create the database schema and migrations in \`src/db/schema.ts\` (est: 1h)
- [ ] 1.3 Configuration loader in \`src/config.ts\` with env overrides (est: 45m)
- [ ] 1.4 Repository layer for notes in \`src/db/notes-repo.ts\` (depends: 1.1, 1.2) (est: 1h30m)

**VERIFY Phase 1:**
- [ ] \`npm run typecheck\` passes

## Phase 2: Service

- [ ] 2.1 Note service: create, update, delete in \`src/services/notes.ts\` (est: 2h)
- [ ] 2.2 Full-text search index in \`src/services/search.ts\` (est: 2h30m)
- [ ] 2.3 Input validation schemas in \`src/api/schemas.ts\` (est: 45m)
- [ ] 2.4 HTTP routes for notes in \`src/api/routes.ts\` (depends: 2.1, 2.3) (est: 1h30m)
- [ ] 2.5 Search endpoint in \`src/api/search-routes.ts\` (depends: 2.2, 2.3) (est: 1h)

**VERIFY Phase 2:**
- [ ] \`npm test\` passes

## Phase 3: Documentation [PARALLEL]

- [ ] 3.1 Write the API reference in \`docs/api/notes.md\` (est: 1h)
- [ ] 3.2 Write the operations guide in \`docs/operations.md\` (est: 45m)

## Phase 4: Export and release

- [ ] 4.1 Nightly export job in \`src/jobs/export.ts\` (est: 1h30m)
- [ ] 4.2 End-to-end tests in \`tests/e2e/notes.test.ts\` (depends: 2.4, 2.5) (est: 2h)
- [ ] 4.3 Release notes in \`CHANGELOG.md\` (est: 20m)
`;

const SEARCH_TUNING = `# Tasks: Search Tuning

## Phase 1: Setup

- [ ] T001 Add a benchmark corpus loader in \`src/bench/corpus.ts\`
- [ ] T002 [P] Record the current query latency in \`docs/search-baseline.md\`
- [ ] T003 [P] Add tracing around the search handler in \`src/api/search-trace.ts\`

## Phase 2: Ranking

- [ ] T004 Add BM25 weights to \`src/services/search.ts\` (est: 2h)
- [ ] T005 [P] Stemming for English and German in \`src/services/stemmer.ts\` (est: 1h30m)
- [ ] T006 [P] Benchmark the ranking against the corpus in \`src/bench/ranking.ts\` (est: 1h)
- [ ] T007 Re-tune weights with the corpus (depends on T001, T004, T006) (est: 1h)
`;

const BILLING_EXPORT = `# Implementation Plan: Billing Export

## Phase 1: Exporter

- [ ] 1.1 CSV writer for invoices in \`src/billing/csv.ts\` (est: 45m)
- [ ] 1.2 Monthly export command in \`src/billing/export-command.ts\` (depends: 1.1) (est: 1h)
- [ ] 1.3 Upload to the accounting bucket in \`src/billing/upload.ts\` (est: 1h)

**VERIFY Phase 1:**
- [ ] \`$ npm test\` passes

## Phase 2: Docs

- [ ] 2.1 Document the export in \`docs/billing-export.md\` (est: 20m)
`;

const ONBOARDING_DOCS = `# Implementation Plan: Onboarding Docs

## Phase 1: Write

- [ ] 1.1 Getting started guide in \`docs/getting-started.md\` (est: 40m)
- [ ] 1.2 Architecture overview in \`docs/architecture.md\` (est: 1h)
- [ ] 1.3 Link both from \`README.md\` (depends: 1.1, 1.2) (est: 10m)
`;

const claude = (extra: Partial<AgentRun>): AgentRun => ({ kind: 'claude', model: 'claude-sonnet-4-5', ...extra });

export const MOCK_PLANS: MockPlanSeed[] = [
  {
    plan: 'docs/plans/notes-api.md',
    worktree: `${WORKTREES_DIR}/plan-notes-api`,
    branch: 'plan/notes-api',
    active: true,
    text: NOTES_API,
    replay: true,
    failFirst: { '2.5': 'npm test: 2 failing (search-routes.test.ts: "returns matches ranked by score")' },
    orchestrator: { pid: 48213, alive: true, startedMinutesAgo: 42 },
    tasks: {
      '1.1': { status: 'completed', startedMinutesAgo: 41, endedMinutesAgo: 37, run: claude({ costUsd: 0.21, totalCostUsd: 0.21, turn: 9, commit: '3f9c2a17d0e4b8c1a6f5e2d9b7c4a1e0f8d3b6c2' }) },
      '1.2': { status: 'completed', startedMinutesAgo: 41, endedMinutesAgo: 33, run: claude({ costUsd: 0.47, totalCostUsd: 0.47, turn: 17, commit: '8a1d4e6b2c9f0a3e7d5b1c8f6a2e4d0b9c7f3a15' }) },
      '1.3': { status: 'completed', startedMinutesAgo: 37, endedMinutesAgo: 31, run: claude({ costUsd: 0.18, totalCostUsd: 0.18, turn: 8, commit: 'c47e0b3a9d2f6e1c8b5a4d7f0e3c9b2a6d1f8e47' }) },
      '1.4': { status: 'completed', startedMinutesAgo: 33, endedMinutesAgo: 22, run: claude({ costUsd: 0.66, totalCostUsd: 0.66, turn: 23, commit: '0e5b9c2d7a4f1e8b3c6d9a0f5e2b7c4d1a8e3f90' }) },
      'V1.1': { status: 'completed', startedMinutesAgo: 22, endedMinutesAgo: 21, run: { kind: 'gate' } },
      '2.1': {
        status: 'in_progress',
        startedMinutesAgo: 20,
        run: claude({ activity: 'Edit src/services/notes.ts', turn: 11, costUsd: 0.38, totalCostUsd: 0.38, inputTokens: 48210, outputTokens: 6120, log: 'docs/plan-outputs/notes-api/logs/2.1.log' }),
      },
      '2.3': { status: 'completed', startedMinutesAgo: 21, endedMinutesAgo: 9, run: claude({ costUsd: 0.24, totalCostUsd: 0.24, turn: 10, commit: '5d2a8f1c6e3b9d0a4f7c2e5b8d1a6f3c9e0b4d72' }) },
      '2.2': {
        status: 'in_progress',
        startedMinutesAgo: 9,
        run: claude({ activity: 'Bash npm test -- src/services/search.test.ts', turn: 5, costUsd: 0.17, totalCostUsd: 0.17, inputTokens: 20544, outputTokens: 2310, log: 'docs/plan-outputs/notes-api/logs/2.2.log' }),
      },
    },
  },
  {
    plan: 'docs/plans/search-tuning.md',
    worktree: `${WORKTREES_DIR}/plan-search-tuning`,
    branch: 'plan/search-tuning',
    active: true,
    text: SEARCH_TUNING,
    orchestrator: { pid: 47730, alive: false, startedMinutesAgo: 95 },
    tasks: {
      T001: { status: 'completed', startedMinutesAgo: 94, endedMinutesAgo: 88, run: claude({ costUsd: 0.19, totalCostUsd: 0.19, turn: 7, commit: '9b3e1d7a2c5f8e0b4d6a1c9f3e7b2d5a8c0f4e61' }) },
      T002: { status: 'completed', startedMinutesAgo: 94, endedMinutesAgo: 90, run: claude({ costUsd: 0.09, totalCostUsd: 0.09, turn: 4, commit: 'e2c7a4f9b1d6e3c0a8f5b2d9e6c3a0f7b4d1e8c5' }) },
      T003: { status: 'completed', startedMinutesAgo: 90, endedMinutesAgo: 84, run: claude({ costUsd: 0.27, totalCostUsd: 0.27, turn: 12, commit: '4a8d2f6c0e9b3a7d1f5c8e2b6a0d4f9c3e7b1a58' }) },
      T004: { status: 'completed', startedMinutesAgo: 84, endedMinutesAgo: 61, run: claude({ costUsd: 0.92, totalCostUsd: 0.92, turn: 31, commit: 'f1e6b0c5a9d4e8b2c7f1a5d0e4b9c3f8a2d6e0b7' }) },
      T005: {
        status: 'failed',
        attempts: 2,
        startedMinutesAgo: 40,
        endedMinutesAgo: 24,
        lastError: 'agent exited with code 1: 3 tests failed in src/services/stemmer.test.ts (German compound words)',
        run: claude({ activity: 'Bash npm test -- src/services/stemmer.test.ts', turn: 19, costUsd: 0.58, totalCostUsd: 1.07, log: 'docs/plan-outputs/search-tuning/logs/T005.log' }),
      },
      T006: {
        status: 'failed',
        startedMinutesAgo: 60,
        endedMinutesAgo: 52,
        lastError: 'the agent was denied 1 tool call; approve it to resume',
        run: claude({
          sessionId: '5c1f0e9a-7d2b-4e63-9a8c-2f4b6d1e0a37',
          activity: 'Bash npm run bench:search -- --corpus data/corpus.jsonl',
          turn: 8,
          costUsd: 0.31,
          totalCostUsd: 0.31,
          needsApproval: [{ tool: 'Bash', input: 'npm run bench:search -- --corpus data/corpus.jsonl', rule: 'Bash(npm run bench:search:*)' }],
          log: 'docs/plan-outputs/search-tuning/logs/T006.log',
        }),
      },
    },
  },
  {
    plan: 'docs/plans/billing-export.md',
    worktree: MOCK_REPO,
    branch: 'main',
    active: true,
    text: BILLING_EXPORT,
    tasks: {},
  },
  {
    plan: 'docs/plans/onboarding-docs.md',
    worktree: MOCK_REPO,
    branch: 'main',
    active: false,
    text: ONBOARDING_DOCS,
    orchestrator: { pid: 45102, alive: false, startedMinutesAgo: 300 },
    tasks: {
      '1.1': { status: 'completed', startedMinutesAgo: 299, endedMinutesAgo: 291, run: claude({ costUsd: 0.14, totalCostUsd: 0.14, turn: 6, commit: '7c0f4b8e2a6d1c5f9b3e7a0d4c8f2b6e1a5d9c03' }) },
      '1.2': { status: 'completed', startedMinutesAgo: 299, endedMinutesAgo: 286, run: claude({ costUsd: 0.33, totalCostUsd: 0.33, turn: 13, commit: 'b5e9a3d7c1f6b0e4a8d2c7f1b5e9a4d8c2f6b0e9' }) },
      '1.3': { status: 'skipped', endedMinutesAgo: 285 },
    },
  },
];

/** The status file a seed describes, with its history and times counted back from `now`. */
export function seedStatus(seed: MockPlanSeed, now: number): StatusFile {
  const at = (minutesAgo: number): string => new Date(now - minutesAgo * 60_000).toISOString();
  const tasks: Record<string, TaskRecord> = {};
  let latest = 0;
  for (const [id, t] of Object.entries(seed.tasks)) {
    // A skipped task was never started: its history is the skip alone.
    const started = t.startedMinutesAgo;
    const history: TaskRecord['history'] = started === undefined ? [] : [{ status: 'in_progress', at: at(started) }];
    if (t.status !== 'in_progress') history.push({ status: t.status, at: at(t.endedMinutesAgo ?? started ?? 0) });
    const updated = history[history.length - 1]!.at;
    tasks[id] = {
      status: t.status,
      ...(started !== undefined ? { startedAt: at(started) } : {}),
      ...(t.status === 'completed' || t.status === 'skipped' ? { completedAt: updated } : {}),
      updatedAt: updated,
      attempts: t.attempts ?? (started === undefined ? 0 : 1),
      ...(t.lastError ? { lastError: t.lastError } : {}),
      history,
      ...(t.run ? { run: t.status === 'in_progress' ? { ...t.run, activityAt: updated } : t.run } : {}),
    };
    latest = Math.max(latest, Date.parse(updated));
  }
  const count = Object.values(tasks).reduce((n, t) => n + t.history.length, 0);
  return { schemaVersion: 1, plan: seed.plan, version: count, updatedAt: latest ? new Date(latest).toISOString() : '', tasks };
}

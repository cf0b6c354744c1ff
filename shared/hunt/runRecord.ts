/**
 * The run record: one per hunt cycle, so an operator can see what each cycle covered, what it
 * found and why it stopped. Stored beside the checkpoint (see checkpointStore.ts).
 */

export type RunOutcome =
  | 'succeeded'
  | 'partial' // some windows done, the backlog continues next cycle
  | 'throttled' // Defender quota: the cycle ended without moving the checkpoint further
  | 'failed'
  | 'skipped'; // another execution held the lease

export interface RunWindowRecord {
  start: string;
  end: string;
  /** Graph calls made for this window (more than one when a truncated answer was split). */
  queries: number;
  rows: number;
  split: boolean;
}

export interface RunCounts {
  rows: number;
  findings: number;
  rejectedRows: number;
  duplicatesRemoved: number;
  suppressed: number;
  incidentsNew: number;
  incidentsUpdated: number;
  notificationsEnqueued: number;
  /** Suppressed findings per allowlist entry id. */
  suppressedBy: Record<string, number>;
}

export interface RunRecord {
  runId: string;
  tenantId: string;
  ruleId: string;
  startedAt: string;
  finishedAt: string;
  outcome: RunOutcome;
  windows: RunWindowRecord[];
  counts: RunCounts;
  durationsMs: Record<string, number>;
  checkpointBefore: string | null;
  checkpointAfter: string | null;
  lost: { start: string; end: string } | null;
  error: string | null;
  /** Operator-facing notes: rejected rows (index and reason), waits, splits. */
  messages: string[];
}

export function emptyCounts(): RunCounts {
  return {
    rows: 0,
    findings: 0,
    rejectedRows: 0,
    duplicatesRemoved: 0,
    suppressed: 0,
    incidentsNew: 0,
    incidentsUpdated: 0,
    notificationsEnqueued: 0,
    suppressedBy: {},
  };
}

/** A run that has just started: nothing counted, nothing hunted yet. */
export function startedRun(run: { runId: string; tenantId: string; ruleId: string; startedAt: Date }): RunRecord {
  return {
    runId: run.runId,
    tenantId: run.tenantId,
    ruleId: run.ruleId,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.startedAt.toISOString(),
    outcome: 'succeeded',
    windows: [],
    counts: emptyCounts(),
    durationsMs: {},
    checkpointBefore: null,
    checkpointAfter: null,
    lost: null,
    error: null,
    messages: [],
  };
}

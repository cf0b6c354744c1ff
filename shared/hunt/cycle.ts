/**
 * One hunt cycle for one tenant and rule: take the lease, plan the windows from the checkpoint,
 * and for each window query Defender, normalise, suppress, raise incidents and enqueue their
 * notifications, and only then move the checkpoint past that window. The run record and the
 * health state are written with the lease release in one transaction. The same function serves
 * the timer, the CLI, the demo and the tests; only the adapters passed in differ.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import { HuntingAuthError } from '../hunting/errors';
import type { HuntingQueryRequest, HuntingSource } from '../hunting/types';
import type { Finding, Severity } from '../model/finding';
import type { StageHook } from '../stages';
import { normaliseResults } from '../normalise/normalise';
import { LeaseLostError, type CheckpointState, type CheckpointStore, type Lease } from './checkpointStore';
import { CallPacer, CycleDeadlineError, DEFAULT_EXECUTE_OPTIONS, executeWindow, type CallBudget, type ExecuteOptions } from './executeQuery';
import { startedRun, type RunOutcome, type RunRecord } from './runRecord';
import { planWindows, windowLabel, type HuntWindow } from './window';

/** What the cycle needs of a rule: its id, default severity and how to render a request. */
export interface HuntRule {
  id: string;
  severity: Severity;
  render(window: HuntWindow): HuntingQueryRequest;
}

/** Allowlist stage: marks suppressed findings (`suppressedBy`) and counts hits per entry. */
export interface SuppressionStage {
  suppress(findings: Finding[], tenantId: string): Promise<{ findings: Finding[]; hits: Record<string, number> }>;
}

/** Incident stage: groups, stores and enqueues announcements durably before it returns. */
export interface IncidentStage {
  process(
    findings: Finding[],
    context: { tenantId: string; ruleId: string; window: HuntWindow },
  ): Promise<{ incidentsNew: number; incidentsUpdated: number; notificationsEnqueued: number }>;
}

export type HealthEvent =
  | { kind: 'unhealthy'; tenantId: string; ruleId: string; reasons: string[]; detail: string; since: string }
  | { kind: 'recovered'; tenantId: string; ruleId: string; detail: string; since: string }
  /** Result rows the cycle could not read (structurally broken): never dropped in silence. */
  | { kind: 'rows-rejected'; tenantId: string; ruleId: string; count: number; reasons: string[]; detail: string; since: string }
  | { kind: 'data-lost'; tenantId: string; ruleId: string; detail: string; since: string };

/** Health alerts go through the notification path (or a marked error log until it exists). */
export interface HealthStage {
  announce(event: HealthEvent): Promise<void>;
}

export interface CycleLogger {
  info(message: string, properties?: Record<string, unknown>): void;
  warn(message: string, properties?: Record<string, unknown>): void;
  error(message: string, properties?: Record<string, unknown>): void;
}

export interface CycleSettings {
  ingestionDelayMs: number;
  overlapMs: number;
  initialLookbackMs: number;
  backfillChunkMs: number;
  maxChunksPerCycle: number;
  cycleBudgetMs: number;
  maxCallsPerMinute: number;
  rowLimit: number;
  minSplitWindowMs: number;
  leaseMs: number;
  healthFailureThreshold: number;
  healthMaxLagMs: number;
}

export interface CycleDeps {
  tenantId: string;
  rule: HuntRule;
  source: HuntingSource;
  checkpoints: CheckpointStore;
  suppression: SuppressionStage;
  incidents: IncidentStage;
  health: HealthStage;
  clock: Clock;
  random?: () => number;
  log: CycleLogger;
  settings: CycleSettings;
  /** Shared across the rules of one tenant (and, with many tenants, across instances) so their calls count against one quota. */
  pacer?: CallBudget;
  /** Sees every window's findings after suppression (the demo and `run` print them). */
  onFindings?: (findings: Finding[], window: HuntWindow) => void;
  /** Reached between the durable steps (shared/stages.ts); only the fault-injection test passes one. */
  onStage?: StageHook;
}

/** Removes repeated findings (overlaps, split boundaries) by their stable id, keeping the first. */
export function dedupeFindings(findings: Finding[], seen: Set<string>): { unique: Finding[]; duplicates: number } {
  const unique: Finding[] = [];
  for (const finding of findings) {
    if (seen.has(finding.id)) continue;
    seen.add(finding.id);
    unique.push(finding);
  }
  return { unique, duplicates: findings.length - unique.length };
}

function laterOf(current: Date | null, next: Date): Date {
  return current && current.getTime() > next.getTime() ? current : next;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

async function timed<T>(durations: Record<string, number>, stage: string, clock: Clock, work: () => Promise<T>): Promise<T> {
  const started = clock.now().getTime();
  try {
    return await work();
  } finally {
    durations[stage] = (durations[stage] ?? 0) + (clock.now().getTime() - started);
  }
}

export async function runHuntCycle(deps: CycleDeps): Promise<RunRecord> {
  const { clock, settings, tenantId, rule } = deps;
  const started = clock.now();
  const run: RunRecord = startedRun({ runId: randomUUID(), tenantId, ruleId: rule.id, startedAt: started });
  const note = (message: string): void => {
    run.messages.push(message);
  };

  const acquired = await deps.checkpoints.acquire(tenantId, rule.id, started, settings.leaseMs, run.runId);
  if (!acquired.acquired) {
    run.outcome = 'skipped';
    run.error = `Skipped: ${acquired.reason}`;
    run.finishedAt = clock.now().toISOString();
    await deps.checkpoints.recordRun(tenantId, rule.id, run);
    deps.log.warn(`hunt ${rule.id} skipped: ${acquired.reason}`, { tenantId, ruleId: rule.id, outcome: 'skipped' });
    return run;
  }

  let lease: Lease = acquired.lease;
  const stage = deps.onStage ?? (async () => undefined);
  await stage('lease-taken');
  run.checkpointBefore = lease.state.checkpoint?.toISOString() ?? null;
  const plan = planWindows({
    now: started,
    checkpoint: lease.state.checkpoint,
    origin: lease.state.origin,
    ingestionDelayMs: settings.ingestionDelayMs,
    overlapMs: settings.overlapMs,
    initialLookbackMs: settings.initialLookbackMs,
    chunkMs: settings.backfillChunkMs,
    maxChunks: settings.maxChunksPerCycle,
  });
  if (plan.lost) {
    run.lost = { start: plan.lost.start.toISOString(), end: plan.lost.end.toISOString() };
    note(`Telemetry of ${windowLabel(plan.lost)} is older than Defender's 30 days and was never hunted`);
  }

  const executeOptions: ExecuteOptions = {
    ...DEFAULT_EXECUTE_OPTIONS,
    rowLimit: settings.rowLimit,
    minSplitWindowMs: settings.minSplitWindowMs,
  };
  const executeDeps = {
    source: deps.source,
    clock,
    random: deps.random ?? Math.random,
    pacer: deps.pacer ?? new CallPacer(settings.maxCallsPerMinute),
    deadline: started.getTime() + settings.cycleBudgetMs,
    note,
  };
  const seen = new Set<string>();
  /** Why rows were rejected, with how many each, for the health alert. */
  const rejections = new Map<string, number>();
  let failure: unknown = null;

  try {
    const first = plan.windows[0];
    if (lease.state.checkpoint === null && lease.state.origin === null && first) {
      // Before the first query: a first cycle that dies from here on leaves its start behind.
      lease = await timed(run.durationsMs, 'checkpoint', clock, () =>
        deps.checkpoints.recordOrigin(lease, first.start, clock.now(), settings.leaseMs),
      );
      await stage('origin-recorded');
    }
    for (const window of plan.windows) {
      const answer = await timed(run.durationsMs, 'query', clock, () => executeWindow(window, (w) => rule.render(w), executeDeps, executeOptions));
      await stage('window-queried');
      run.windows.push(...answer.records);
      run.counts.rows += answer.rows.length;

      const normalised = await timed(run.durationsMs, 'normalise', clock, async () =>
        normaliseResults({ schema: answer.schema, results: answer.rows }, { ruleId: rule.id, defaultSeverity: rule.severity }),
      );
      run.counts.rejectedRows += normalised.rejected.length;
      for (const rejected of normalised.rejected) rejections.set(rejected.reason, (rejections.get(rejected.reason) ?? 0) + 1);
      for (const rejected of normalised.rejected.slice(0, 20)) {
        note(`Row ${rejected.index} of ${windowLabel(window)} skipped: ${rejected.reason}`);
      }
      const { unique, duplicates } = dedupeFindings(normalised.findings, seen);
      run.counts.duplicatesRemoved += duplicates;
      run.counts.findings += unique.length;

      const suppressed = unique.length === 0
        ? { findings: unique, hits: {} }
        : await timed(run.durationsMs, 'suppress', clock, () => deps.suppression.suppress(unique, tenantId));
      for (const [entryId, count] of Object.entries(suppressed.hits)) {
        run.counts.suppressedBy[entryId] = (run.counts.suppressedBy[entryId] ?? 0) + count;
        run.counts.suppressed += count;
      }

      deps.onFindings?.(suppressed.findings, window);
      const live = suppressed.findings.filter((f) => f.suppressedBy === null);
      // Called even with nothing new: updates held back by the update interval go out here.
      const outcome = await timed(run.durationsMs, 'incidents', clock, () =>
        deps.incidents.process(live, { tenantId, ruleId: rule.id, window }),
      );
      run.counts.incidentsNew += outcome.incidentsNew;
      run.counts.incidentsUpdated += outcome.incidentsUpdated;
      run.counts.notificationsEnqueued += outcome.notificationsEnqueued;
      if (window === plan.windows[plan.windows.length - 1]) {
        // The last window's checkpoint is written by finish(), in the same transaction as the
        // run record: one round trip fewer for every cycle, and still only after all is durable.
        lease = { ...lease, state: { ...lease.state, checkpoint: laterOf(lease.state.checkpoint, window.end) } };
      } else {
        lease = await timed(run.durationsMs, 'checkpoint', clock, () =>
          deps.checkpoints.advance(lease, window.end, clock.now(), settings.leaseMs),
        );
        await stage('checkpoint-advanced');
      }
    }
    run.outcome = plan.caughtUp ? 'succeeded' : 'partial';
    if (!plan.caughtUp) note(`Backlog of ${Math.round(plan.remainingBacklogMs / 60_000)} min continues next cycle`);
  } catch (error) {
    failure = error;
    run.error = errorText(error);
    run.outcome = error instanceof CycleDeadlineError ? 'throttled' : 'failed';
    if (error instanceof HuntingAuthError) note('Authentication or permission failure: fix it before the next cycle');
  }

  if (failure instanceof LeaseLostError) {
    run.outcome = 'skipped';
    run.finishedAt = clock.now().toISOString();
    await deps.checkpoints.recordRun(tenantId, rule.id, run);
    deps.log.warn(run.error ?? 'lease lost', { tenantId, ruleId: rule.id, outcome: run.outcome });
    return run;
  }

  const finishedAt = clock.now();
  run.finishedAt = finishedAt.toISOString();
  run.durationsMs.total = finishedAt.getTime() - started.getTime();
  run.checkpointAfter = lease.state.checkpoint?.toISOString() ?? null;
  await announceRejectedRows(deps, run, rejections);
  const state = await evaluateHealth(deps, lease.state, run, finishedAt);
  try {
    await deps.checkpoints.finish(lease, state, run);
  } catch (error) {
    deps.log.error(`hunt ${rule.id}: could not record the run: ${errorText(error)}`, { tenantId, ruleId: rule.id });
    throw error;
  }
  await stage('run-recorded');
  logSummary(deps, run);
  return run;
}

/** One health alert per cycle that skipped rows: how many, and the reasons (most frequent first). */
async function announceRejectedRows(deps: CycleDeps, run: RunRecord, rejections: ReadonlyMap<string, number>): Promise<void> {
  if (run.counts.rejectedRows === 0) return;
  const reasons = [...rejections.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10).map(([reason, n]) => `${n} × ${reason}`);
  const base = { tenantId: deps.tenantId, ruleId: deps.rule.id };
  const detail = `${run.counts.rejectedRows} of ${run.counts.rows} rows skipped in run ${run.runId}: ${reasons.join('; ')}`;
  try {
    await deps.health.announce({ kind: 'rows-rejected', ...base, count: run.counts.rejectedRows, reasons, detail, since: run.startedAt });
  } catch (error) {
    deps.log.error(`health alert could not be announced: ${errorText(error)}`, base);
  }
}

/** Counts failures in a row and lag; announces a health alert once per bout, and recovery. */
async function evaluateHealth(deps: CycleDeps, state: CheckpointState, run: RunRecord, now: Date): Promise<CheckpointState> {
  const failed = run.outcome === 'failed' || run.outcome === 'throttled';
  const consecutiveFailures = failed ? state.consecutiveFailures + 1 : 0;
  const lagMs = state.checkpoint ? now.getTime() - state.checkpoint.getTime() : 0;
  const reasons: string[] = [];
  if (consecutiveFailures >= deps.settings.healthFailureThreshold) reasons.push('failures');
  if (lagMs > deps.settings.healthMaxLagMs) reasons.push('lag');
  const unhealthy = reasons.join(',');
  const base = { tenantId: deps.tenantId, ruleId: deps.rule.id };
  const detail =
    `${consecutiveFailures} failed cycle(s) in a row; checkpoint ${state.checkpoint?.toISOString() ?? 'never set'}` +
    ` (${Math.round(lagMs / 60_000)} min behind)${run.error ? `; last error: ${run.error}` : ''}`;
  let unhealthySince = state.unhealthySince;
  try {
    if (run.lost) {
      await deps.health.announce({ kind: 'data-lost', ...base, detail: `Never hunted: ${run.lost.start}/${run.lost.end}`, since: run.startedAt });
    }
    if (unhealthy && !state.unhealthy) {
      unhealthySince = now;
      await deps.health.announce({ kind: 'unhealthy', ...base, reasons, detail, since: now.toISOString() });
    } else if (!unhealthy && state.unhealthy) {
      await deps.health.announce({ kind: 'recovered', ...base, detail, since: state.unhealthySince?.toISOString() ?? run.startedAt });
      unhealthySince = null;
    } else if (unhealthy && state.unhealthy && unhealthy !== state.unhealthy) {
      await deps.health.announce({ kind: 'unhealthy', ...base, reasons, detail, since: state.unhealthySince?.toISOString() ?? now.toISOString() });
    }
  } catch (error) {
    // A health alert that cannot be sent must not cost the run record; the log still says it.
    deps.log.error(`health alert could not be announced: ${errorText(error)}`, base);
  }
  return { ...state, consecutiveFailures, unhealthy, unhealthySince: unhealthy ? unhealthySince : null };
}

function logSummary(deps: CycleDeps, run: RunRecord): void {
  const properties = {
    tenantId: run.tenantId,
    ruleId: run.ruleId,
    runId: run.runId,
    outcome: run.outcome,
    windows: run.windows.map((w) => `${w.start}/${w.end}`),
    checkpointBefore: run.checkpointBefore,
    checkpointAfter: run.checkpointAfter,
    ...run.counts,
    suppressedBy: run.counts.suppressedBy,
    durationsMs: run.durationsMs,
    error: run.error,
  };
  const text =
    `hunt ${run.ruleId} ${run.outcome}: ${run.windows.length} window(s), ${run.counts.rows} rows, ` +
    `${run.counts.findings} findings, ${run.counts.suppressed} suppressed, ${run.counts.incidentsNew} new incidents, ` +
    `${run.counts.notificationsEnqueued} notifications in ${run.durationsMs.total ?? 0} ms`;
  const level: RunOutcome[] = ['failed', 'throttled'];
  if (level.includes(run.outcome)) deps.log.error(text, properties);
  else deps.log.info(text, properties);
}

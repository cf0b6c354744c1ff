/**
 * What the last hunt job of each tenant did, and when the tenant is due again: the `status` row of
 * the tenant's partition in the tenants table. The policy is pure (`afterJob`, `isDue`); the store
 * writes it with ETags. A tenant that keeps failing (no consent, throttled, Graph down for it)
 * backs off on its own schedule: its jobs are enqueued less often, with no effect on any other
 * tenant; one success brings it back to every interval.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import type { RunOutcome, RunRecord } from '../hunt/runRecord';
import { escapeKey } from '../storage/keys';
import type { TenantProblem } from './diagnose';

export const STATUS_ROW = 'status';
export const BACKOFF_BASE_MS = 5 * 60_000;
export const BACKOFF_MAX_MS = 60 * 60_000;

/** A job's outcome: the worst of its rules' cycles, or why it did not run them. */
export type JobOutcome = RunOutcome | 'paused' | 'not-registered' | 'duplicate';

export interface TenantJobStatus {
  key: string;
  lastJobId: string | null;
  /** The schedule slot of the last job that ran to its end (duplicates of it are dropped). */
  lastCompletedSlot: string | null;
  lastStartedAt: string | null;
  lastFinishedAt: string | null;
  lastOutcome: JobOutcome | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastProblem: TenantProblem | null;
  consecutiveFailures: number;
  backoffUntil: string | null;
  etag: string | null;
}

export function emptyStatus(key: string): TenantJobStatus {
  return {
    key,
    lastJobId: null,
    lastCompletedSlot: null,
    lastStartedAt: null,
    lastFinishedAt: null,
    lastOutcome: null,
    lastSuccessAt: null,
    lastError: null,
    lastProblem: null,
    consecutiveFailures: 0,
    backoffUntil: null,
    etag: null,
  };
}

const SEVERITY: Record<RunOutcome, number> = { succeeded: 0, skipped: 1, partial: 2, throttled: 3, failed: 4 };

/** The worst outcome among a job's cycles ('succeeded' for none: nothing was due). */
export function jobOutcomeOf(runs: readonly Pick<RunRecord, 'outcome'>[]): RunOutcome {
  return runs.reduce<RunOutcome>((worst, run) => (SEVERITY[run.outcome] > SEVERITY[worst] ? run.outcome : worst), 'succeeded');
}

/** 0 after a success; then 5, 10, 20, 40, 60, 60 ... minutes. */
export function backoffMs(consecutiveFailures: number): number {
  if (consecutiveFailures <= 0) return 0;
  return Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (consecutiveFailures - 1));
}

export interface FinishedJob {
  jobId: string;
  slot: string;
  startedAt: Date;
  finishedAt: Date;
  outcome: JobOutcome;
  error: string | null;
  problem: TenantProblem | null;
}

function slotTime(job: FinishedJob): number {
  const slot = Date.parse(job.slot);
  return Number.isNaN(slot) ? job.startedAt.getTime() : slot;
}

/** The tenant's status after a job; only failed and throttled jobs count towards the backoff. */
export function afterJob(previous: TenantJobStatus, job: FinishedJob): TenantJobStatus {
  const failed = job.outcome === 'failed' || job.outcome === 'throttled';
  const succeeded = job.outcome === 'succeeded' || job.outcome === 'partial';
  const consecutiveFailures = failed ? previous.consecutiveFailures + 1 : succeeded ? 0 : previous.consecutiveFailures;
  const wait = failed ? backoffMs(consecutiveFailures) : 0;
  const completed = previous.lastCompletedSlot && previous.lastCompletedSlot > job.slot ? previous.lastCompletedSlot : job.slot;
  return {
    ...previous,
    lastJobId: job.jobId,
    lastCompletedSlot: completed,
    lastStartedAt: job.startedAt.toISOString(),
    lastFinishedAt: job.finishedAt.toISOString(),
    lastOutcome: job.outcome,
    lastSuccessAt: succeeded ? job.finishedAt.toISOString() : previous.lastSuccessAt,
    lastError: succeeded ? null : (job.error ?? previous.lastError),
    lastProblem: succeeded ? null : (job.problem ?? (failed ? previous.lastProblem : null)),
    consecutiveFailures,
    // Counted from the slot, so a backoff of one interval skips exactly one tick.
    backoffUntil: wait > 0 ? new Date(slotTime(job) + wait).toISOString() : null,
  };
}

/** Whether the timer enqueues a job for the tenant now (no status yet: due). */
export function isDue(status: TenantJobStatus | null | undefined, now: Date): boolean {
  return !status?.backoffUntil || Date.parse(status.backoffUntil) <= now.getTime();
}

/** A job for a slot that already ran to its end (a duplicate enqueue, a redelivery after it finished). */
export function alreadyCompleted(status: TenantJobStatus | null | undefined, slot: string): boolean {
  return !!status?.lastCompletedSlot && status.lastCompletedSlot >= slot;
}

type StatusEntity = Omit<TenantJobStatus, 'etag' | 'key'> & { partitionKey: string; rowKey: string; key: string };

function isStatusCode(error: unknown, ...codes: number[]): boolean {
  return error instanceof RestError && codes.includes(error.statusCode ?? 0);
}

function fromEntity(entity: Partial<StatusEntity> & { etag?: string }, key: string): TenantJobStatus {
  const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
  return {
    key,
    lastJobId: text(entity.lastJobId),
    lastCompletedSlot: text(entity.lastCompletedSlot),
    lastStartedAt: text(entity.lastStartedAt),
    lastFinishedAt: text(entity.lastFinishedAt),
    lastOutcome: text(entity.lastOutcome) as JobOutcome | null,
    lastSuccessAt: text(entity.lastSuccessAt),
    lastError: text(entity.lastError),
    lastProblem: text(entity.lastProblem) as TenantProblem | null,
    consecutiveFailures: typeof entity.consecutiveFailures === 'number' ? entity.consecutiveFailures : 0,
    backoffUntil: text(entity.backoffUntil),
    etag: entity.etag ?? null,
  };
}

function toEntity(status: TenantJobStatus): StatusEntity {
  return {
    partitionKey: escapeKey(status.key),
    rowKey: STATUS_ROW,
    key: status.key,
    lastJobId: status.lastJobId ?? '',
    lastCompletedSlot: status.lastCompletedSlot ?? '',
    lastStartedAt: status.lastStartedAt ?? '',
    lastFinishedAt: status.lastFinishedAt ?? '',
    lastOutcome: (status.lastOutcome ?? '') as JobOutcome,
    lastSuccessAt: status.lastSuccessAt ?? '',
    lastError: (status.lastError ?? '').slice(0, 4000),
    lastProblem: (status.lastProblem ?? '') as TenantProblem,
    consecutiveFailures: status.consecutiveFailures,
    backoffUntil: status.backoffUntil ?? '',
  };
}

export class TenantStatusStore {
  constructor(private readonly table: TableClient) {}

  async read(key: string): Promise<TenantJobStatus | null> {
    try {
      return fromEntity(await this.table.getEntity<StatusEntity>(escapeKey(key), STATUS_ROW), key);
    } catch (error) {
      if (isStatusCode(error, 404)) return null;
      throw error;
    }
  }

  /** Every tenant's status, by key (one query: the timer reads this once per tick). */
  async readAll(): Promise<Map<string, TenantJobStatus>> {
    const all = new Map<string, TenantJobStatus>();
    for await (const entity of this.table.listEntities<StatusEntity>({ queryOptions: { filter: `RowKey eq '${STATUS_ROW}'` } })) {
      const key = typeof entity.key === 'string' ? entity.key : '';
      if (key) all.set(key, fromEntity(entity, key));
    }
    return all;
  }

  /** Applies `change` to the stored status under its ETag, re-reading on a lost race. */
  async update(key: string, change: (previous: TenantJobStatus) => TenantJobStatus): Promise<TenantJobStatus> {
    for (let race = 0; race < 8; race++) {
      const previous = (await this.read(key)) ?? emptyStatus(key);
      const next = change(previous);
      try {
        const response =
          previous.etag === null
            ? await this.table.createEntity(toEntity(next))
            : await this.table.updateEntity(toEntity(next), 'Replace', { etag: previous.etag });
        return { ...next, etag: response.etag ?? null };
      } catch (error) {
        if (!isStatusCode(error, 409, 412)) throw error;
      }
    }
    throw new Error(`tenant '${key}': its status row kept changing under this job (8 attempts)`);
  }
}

/**
 * Checkpoints, leases, health state and run records for one tenant + rule, in one Table
 * Storage partition. The checkpoint row carries the lease (so two overlapping executions can
 * never both advance it: every write is ETag-guarded) and the health state; run rows sit in the
 * same partition so a cycle's final checkpoint update and its run record commit in ONE
 * transaction. A quiet cycle costs three storage round trips: read, take the lease, finish.
 */
import { randomUUID } from 'node:crypto';
import { RestError, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { compositeKey } from '../storage/keys';
import type { RunRecord } from './runRecord';

export interface CheckpointState {
  tenantId: string;
  ruleId: string;
  checkpoint: Date | null;
  /**
   * Start of the first window ever planned, written before its query: while there is no
   * checkpoint, cycles start here instead of at their own (later) look-back.
   */
  origin: Date | null;
  consecutiveFailures: number;
  /** Why the hunt is unhealthy now ('' when healthy): 'failures', 'lag' or both. */
  unhealthy: string;
  unhealthySince: Date | null;
}

export interface Lease {
  owner: string;
  etag: string;
  state: CheckpointState;
}

export type AcquireResult = { acquired: true; lease: Lease } | { acquired: false; reason: string };

export class LeaseLostError extends Error {
  constructor(tenantId: string, ruleId: string) {
    super(`The lease on the checkpoint of ${tenantId}/${ruleId} was taken by another execution; this cycle stops without writing`);
    this.name = 'LeaseLostError';
  }
}

type CheckpointEntity = {
  partitionKey: string;
  rowKey: string;
  checkpoint: string;
  origin: string;
  leaseOwner: string;
  leaseExpiresAt: string;
  consecutiveFailures: number;
  unhealthy: string;
  unhealthySince: string;
};

const CHECKPOINT_ROW = 'checkpoint';
const RUN_PREFIX = 'run-';
const MAX_TICKS = 9_999_999_999_999;

function partitionFor(tenantId: string, ruleId: string): string {
  return compositeKey(tenantId, ruleId);
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError && error.statusCode === status;
}

function toState(tenantId: string, ruleId: string, entity: Partial<CheckpointEntity> | null): CheckpointState {
  return {
    tenantId,
    ruleId,
    checkpoint: entity?.checkpoint ? new Date(entity.checkpoint) : null,
    origin: entity?.origin ? new Date(entity.origin) : null,
    consecutiveFailures: entity?.consecutiveFailures ?? 0,
    unhealthy: entity?.unhealthy ?? '',
    unhealthySince: entity?.unhealthySince ? new Date(entity.unhealthySince) : null,
  };
}

/** Newest first when listed: RowKey sorts ascending, so invert the time. */
export function runRowKey(startedAt: Date, runId: string): string {
  return `${RUN_PREFIX}${String(MAX_TICKS - startedAt.getTime()).padStart(13, '0')}-${runId}`;
}

export class CheckpointStore {
  constructor(private readonly table: TableClient) {}

  async ensure(): Promise<void> {
    await this.table.createTable();
  }

  /**
   * Takes the lease when it is free or expired. Losing a race (412/409) is not an error: the
   * other execution does the work and this one exits, saying why.
   */
  async acquire(tenantId: string, ruleId: string, now: Date, leaseMs: number, owner: string = randomUUID()): Promise<AcquireResult> {
    const partitionKey = partitionFor(tenantId, ruleId);
    let existing: TableEntityResult<CheckpointEntity> | null = null;
    try {
      existing = await this.table.getEntity<CheckpointEntity>(partitionKey, CHECKPOINT_ROW);
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
    }
    if (existing && existing.leaseOwner && existing.leaseExpiresAt && Date.parse(existing.leaseExpiresAt) > now.getTime()) {
      return {
        acquired: false,
        reason: `another execution (${existing.leaseOwner}) holds the lease until ${existing.leaseExpiresAt}`,
      };
    }
    const state = toState(tenantId, ruleId, existing);
    const entity: CheckpointEntity = {
      partitionKey,
      rowKey: CHECKPOINT_ROW,
      checkpoint: state.checkpoint?.toISOString() ?? '',
      origin: state.origin?.toISOString() ?? '',
      leaseOwner: owner,
      leaseExpiresAt: new Date(now.getTime() + leaseMs).toISOString(),
      consecutiveFailures: state.consecutiveFailures,
      unhealthy: state.unhealthy,
      unhealthySince: state.unhealthySince?.toISOString() ?? '',
    };
    try {
      const response = existing
        ? await this.table.updateEntity(entity, 'Replace', { etag: existing.etag })
        : await this.table.createEntity(entity);
      return { acquired: true, lease: { owner, etag: response.etag ?? '', state } };
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 409)) {
        return { acquired: false, reason: 'another execution took the lease at the same moment' };
      }
      throw error;
    }
  }

  /** Moves the checkpoint forward (never back) and renews the lease; ETag-guarded. */
  async advance(lease: Lease, checkpoint: Date, now: Date, leaseMs: number): Promise<Lease> {
    const current = lease.state.checkpoint;
    const next = current && current.getTime() > checkpoint.getTime() ? current : checkpoint;
    return this.write(lease, { ...lease.state, checkpoint: next }, now, leaseMs);
  }

  /** Records where the very first window starts (once: an origin is never moved); ETag-guarded. */
  async recordOrigin(lease: Lease, origin: Date, now: Date, leaseMs: number): Promise<Lease> {
    if (lease.state.origin) return lease;
    return this.write(lease, { ...lease.state, origin }, now, leaseMs);
  }

  private async write(lease: Lease, state: CheckpointState, now: Date, leaseMs: number): Promise<Lease> {
    const entity = this.entityFor(state, lease.owner, new Date(now.getTime() + leaseMs).toISOString());
    try {
      const response = await this.table.updateEntity(entity, 'Replace', { etag: lease.etag });
      return { owner: lease.owner, etag: response.etag ?? '', state };
    } catch (error) {
      if (isStatus(error, 412)) throw new LeaseLostError(state.tenantId, state.ruleId);
      throw error;
    }
  }

  /** Releases the lease, stores the health state and writes the run record in one transaction. */
  async finish(lease: Lease, state: CheckpointState, run: RunRecord): Promise<void> {
    const entity = this.entityFor(state, '', '');
    const runEntity = {
      partitionKey: entity.partitionKey,
      rowKey: runRowKey(new Date(run.startedAt), run.runId),
      ...serialiseRun(run),
    };
    try {
      await this.table.submitTransaction([
        ['update', entity, 'Replace', { etag: lease.etag }],
        ['create', runEntity],
      ]);
    } catch (error) {
      if (isStatus(error, 412) || /UpdateConditionNotSatisfied|412/.test(String((error as Error).message))) {
        throw new LeaseLostError(state.tenantId, state.ruleId);
      }
      throw error;
    }
  }

  /** A run that could not take the lease is still recorded, outside any lease. */
  async recordRun(tenantId: string, ruleId: string, run: RunRecord): Promise<void> {
    const partitionKey = partitionFor(tenantId, ruleId);
    await this.table.createEntity({ partitionKey, rowKey: runRowKey(new Date(run.startedAt), run.runId), ...serialiseRun(run) });
  }

  async read(tenantId: string, ruleId: string): Promise<CheckpointState> {
    try {
      const entity = await this.table.getEntity<CheckpointEntity>(partitionFor(tenantId, ruleId), CHECKPOINT_ROW);
      return toState(tenantId, ruleId, entity);
    } catch (error) {
      if (isStatus(error, 404)) return toState(tenantId, ruleId, null);
      throw error;
    }
  }

  async listRuns(tenantId: string, ruleId: string, limit = 20): Promise<RunRecord[]> {
    const partitionKey = partitionFor(tenantId, ruleId).replace(/'/g, "''");
    const runs: RunRecord[] = [];
    const pages = this.table
      .listEntities<Record<string, unknown>>({
        queryOptions: { filter: `PartitionKey eq '${partitionKey}' and RowKey ge '${RUN_PREFIX}' and RowKey lt 'run.'` },
      })
      .byPage({ maxPageSize: Math.min(limit, 1000) });
    for await (const page of pages) {
      for (const entity of page) {
        runs.push(deserialiseRun(entity));
        if (runs.length >= limit) return runs;
      }
    }
    return runs;
  }

  private entityFor(state: CheckpointState, owner: string, leaseExpiresAt: string): CheckpointEntity {
    return {
      partitionKey: partitionFor(state.tenantId, state.ruleId),
      rowKey: CHECKPOINT_ROW,
      checkpoint: state.checkpoint?.toISOString() ?? '',
      origin: state.origin?.toISOString() ?? '',
      leaseOwner: owner,
      leaseExpiresAt,
      consecutiveFailures: state.consecutiveFailures,
      unhealthy: state.unhealthy,
      unhealthySince: state.unhealthySince?.toISOString() ?? '',
    };
  }
}

/** Nested parts are stored as JSON strings; a Table property holds at most 64 KiB. */
function serialiseRun(run: RunRecord): Record<string, string | number | boolean> {
  return {
    runId: run.runId,
    tenantId: run.tenantId,
    ruleId: run.ruleId,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    outcome: run.outcome,
    windows: JSON.stringify(run.windows).slice(0, 30_000),
    counts: JSON.stringify(run.counts),
    durationsMs: JSON.stringify(run.durationsMs),
    checkpointBefore: run.checkpointBefore ?? '',
    checkpointAfter: run.checkpointAfter ?? '',
    lost: run.lost ? JSON.stringify(run.lost) : '',
    error: (run.error ?? '').slice(0, 8000),
    messages: JSON.stringify(run.messages).slice(0, 16_000),
  };
}

function parseJson<T>(value: unknown, fallback: T): T {
  if (typeof value !== 'string' || value === '') return fallback;
  try {
    return JSON.parse(value) as T;
  } catch {
    return fallback;
  }
}

function deserialiseRun(entity: Record<string, unknown>): RunRecord {
  const text = (key: string): string => (typeof entity[key] === 'string' ? (entity[key]) : '');
  return {
    runId: text('runId'),
    tenantId: text('tenantId'),
    ruleId: text('ruleId'),
    startedAt: text('startedAt'),
    finishedAt: text('finishedAt'),
    outcome: text('outcome') as RunRecord['outcome'],
    windows: parseJson(entity.windows, []),
    counts: parseJson(entity.counts, {} as RunRecord['counts']),
    durationsMs: parseJson(entity.durationsMs, {}),
    checkpointBefore: text('checkpointBefore') || null,
    checkpointAfter: text('checkpointAfter') || null,
    lost: parseJson(entity.lost, null),
    error: text('error') || null,
    messages: parseJson(entity.messages, []),
  };
}

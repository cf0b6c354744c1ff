/**
 * The tenant's shared Graph call counter: the `quota` row of the tenant's partition in the
 * tenants table, read and written with ETags, so every instance that works for the tenant admits
 * calls against the same log (policy: shared/tenants/quota.ts). A lost race (412/409) re-reads and
 * decides again; nothing is admitted without a successful conditional write.
 *
 * The last row this instance wrote is kept: when no other instance wrote since, the next
 * admission costs one write and no read. A stale copy can only under-count, and then its write
 * fails on the ETag and the row is read again.
 */
import { RestError, type TableClient } from '@azure/data-tables';
import { escapeKey } from '../storage/keys';
import { admitCall, EMPTY_QUOTA, holdQuota, pruneQuota, type QuotaPolicy, type QuotaState } from './quota';

export const QUOTA_ROW = 'quota';

type QuotaEntity = { partitionKey: string; rowKey: string; calls: string; blockedUntil: string; updatedAt: string };

interface Snapshot {
  state: QuotaState;
  /** null: the row does not exist yet (create it). */
  etag: string | null;
}

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof RestError && codes.includes(error.statusCode ?? 0);
}

function parseState(entity: Partial<QuotaEntity>): QuotaState {
  let calls: number[] = [];
  try {
    const parsed = JSON.parse(entity.calls ?? '[]') as unknown;
    if (Array.isArray(parsed)) calls = parsed.filter((n): n is number => typeof n === 'number' && Number.isFinite(n));
  } catch {
    // Only this module writes the row; an unreadable log (hand-edited) starts again empty. At
    // worst Defender answers 429 for a minute, and that hold is then shared as usual.
    calls = [];
  }
  const blocked = entity.blockedUntil ? Date.parse(entity.blockedUntil) : NaN;
  return { calls, blockedUntil: Number.isNaN(blocked) ? null : blocked };
}

export interface SharedCallCounterOptions {
  /** Conditional-write races retried before the caller is asked to wait a moment. */
  maxRaces?: number;
  random?: () => number;
}

/**
 * One tenant's counter. `admit(now)` answers 0 when a call may start now (it is already counted),
 * else the wait in ms before asking again; `hold(now, ms)` records a 429 for every instance.
 */
export class SharedCallCounter {
  private cached: Snapshot | null = null;
  private readonly maxRaces: number;
  private readonly random: () => number;
  /** Admissions and holds of this counter, in order: one conditional write at a time per instance. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly table: TableClient,
    readonly tenantKey: string,
    readonly policy: QuotaPolicy,
    options: SharedCallCounterOptions = {},
  ) {
    this.maxRaces = options.maxRaces ?? 8;
    this.random = options.random ?? Math.random;
  }

  admit(now: number): Promise<number> {
    return this.serialised(() => this.admitNow(now));
  }

  hold(now: number, waitMs: number): Promise<void> {
    return this.serialised(async () => {
      for (let race = 0; race < this.maxRaces; race++) {
        const snapshot = this.cached ?? (await this.read());
        if (await this.write(holdQuota(snapshot.state, now, waitMs, this.policy), snapshot)) return;
        this.cached = null;
      }
    });
  }

  /** The counter as stored now (for `status`). */
  async current(now: number): Promise<QuotaState> {
    return pruneQuota((await this.read()).state, now, this.policy);
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async admitNow(now: number): Promise<number> {
    for (let race = 0; race < this.maxRaces; race++) {
      const snapshot = this.cached ?? (await this.read());
      const admission = admitCall(snapshot.state, now, this.policy);
      if (!admission.admitted) {
        // A refusal from a copy that may be stale is still safe: other writers only add calls.
        return admission.waitMs;
      }
      if (await this.write(admission.state, snapshot)) return 0;
      this.cached = null;
    }
    // Many instances racing for one tenant: step back a little instead of hammering the row.
    return 50 + Math.floor(this.random() * 200);
  }

  private async read(): Promise<Snapshot> {
    try {
      const entity = await this.table.getEntity<QuotaEntity>(escapeKey(this.tenantKey), QUOTA_ROW);
      return { state: parseState(entity), etag: entity.etag };
    } catch (error) {
      if (isStatus(error, 404)) return { state: EMPTY_QUOTA, etag: null };
      throw error;
    }
  }

  /** Conditional write; false when another instance wrote first. */
  private async write(state: QuotaState, snapshot: Snapshot): Promise<boolean> {
    const entity: QuotaEntity = {
      partitionKey: escapeKey(this.tenantKey),
      rowKey: QUOTA_ROW,
      calls: JSON.stringify(state.calls),
      blockedUntil: state.blockedUntil === null ? '' : new Date(state.blockedUntil).toISOString(),
      updatedAt: new Date().toISOString(),
    };
    try {
      const response =
        snapshot.etag === null ? await this.table.createEntity(entity) : await this.table.updateEntity(entity, 'Replace', { etag: snapshot.etag });
      this.cached = { state, etag: response.etag ?? null };
      if (this.cached.etag === null) this.cached = null;
      return true;
    } catch (error) {
      if (isStatus(error, 409, 412)) return false;
      this.cached = null;
      throw error;
    }
  }
}

/** One counter per tenant per process, so an instance's own admissions never race each other. */
export class SharedCallCounters {
  private readonly counters = new Map<string, SharedCallCounter>();

  constructor(
    private readonly table: TableClient,
    private readonly options: SharedCallCounterOptions = {},
  ) {}

  forTenant(tenantKey: string, policy: QuotaPolicy): SharedCallCounter {
    const id = `${tenantKey}\u0000${policy.maxCallsPerMinute}\u0000${policy.marginMs}`;
    let counter = this.counters.get(id);
    if (!counter) {
      counter = new SharedCallCounter(this.table, tenantKey, policy, this.options);
      this.counters.set(id, counter);
    }
    return counter;
  }
}

/**
 * Recent chain steps: a short memory, in Table storage, of the creation-side steps (certificate
 * creations, PFX exports, key conversions) seen per device, so a signing or trust-store import
 * seen by a later hunt cycle still links to the creation before it. Hunt windows are ~10 minutes:
 * a makecert at 10:00 and a signtool sign at 10:15 land in different cycles, and without this
 * memory the product's headline chain would never form.
 *
 * One row per step: PartitionKey = escaped `tenant|rule|deviceKey` (a recall reads one device's
 * partition, nothing else), RowKey = escaped finding id (remembering a step twice overwrites it).
 * The row holds the Finding JSON, bounded to one property (see bound.ts), and an expiry. Table
 * storage has no TTL: expired rows are ignored on read, deleted when a recall meets them, and swept
 * in small batches whenever new steps are written, so partitions of devices that never sign do not
 * grow forever.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { Finding } from '../model/finding';
import { isFinding } from '../schema/validate';
import { boundedFindingJson } from './bound';
import { DEFAULT_CHAIN_WINDOW_MS, isCreationSideStep } from './chains';
import { assertWindow, compareFindings, findingTime } from './group';
import { deviceKey } from './identity';
import { compositeKey, escapeKey } from '../storage/keys';
import { hasStatus, MAX_TRANSACTION_ACTIONS, submitInBatches } from './tables';

/** Version of the row layout below. */
export const RECENT_STEP_ROW_VERSION = 1;
export const DEFAULT_SWEEP_LIMIT = 100;
/** Device partitions read at once: a build farm signing on hundreds of agents must not burst. */
const RECALL_CONCURRENCY = 8;

export interface RecentStepsOptions {
  /**
   * How long a row is kept, from the later of the step's event time and when it was remembered.
   * Deletion only: what `recall` returns is decided by its own `chainWindowMs`. Keep it at least
   * the chain window, or rows go before a recall would have used them.
   */
  ttlMs?: number;
  /** Expired rows one `remember` deletes at most (one page of one query). */
  sweepLimit?: number;
}

/** The table entity. A type alias, so it is assignable to the SDK's `TableEntity`. */
type StepEntity = {
  partitionKey: string;
  rowKey: string;
  rowVersion: number;
  tenantId: string;
  ruleId: string;
  deviceKey: string;
  findingId: string;
  /** Event time of the step (ISO). */
  eventTime: string;
  /** When the hunt cycle stored it (ISO). */
  rememberedAt: string;
  /** ISO; the sweep's server-side filter. */
  expiresAt: string;
  /** The Finding as JSON, bounded to one property. */
  finding: string;
};

/** A type alias (not an interface), so it is assignable to the SDK's `TableEntity`. */
type RowKeyRef = {
  partitionKey: string;
  rowKey: string;
};

export function recentStepsPartitionKey(tenantId: string, ruleId: string, device: string): string {
  return compositeKey(tenantId, ruleId, device);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function parseFinding(json: string): Finding | null {
  try {
    const value: unknown = JSON.parse(json);
    // Rows outlive deployments: a step stored by another schema version is skipped, not trusted.
    return isFinding(value) ? value : null;
  } catch {
    return null;
  }
}

export class RecentStepsStore {
  private readonly ttlMs: number;
  private readonly sweepLimit: number;

  constructor(
    private readonly table: TableClient,
    options: RecentStepsOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? DEFAULT_CHAIN_WINDOW_MS;
    this.sweepLimit = options.sweepLimit ?? DEFAULT_SWEEP_LIMIT;
    assertWindow('ttlMs', this.ttlMs);
    if (!Number.isSafeInteger(this.sweepLimit) || this.sweepLimit < 0) throw new RangeError('sweepLimit must be a non-negative integer');
  }

  /** Creates the table; an existing one is fine. */
  async ensure(): Promise<void> {
    try {
      await this.table.createTable();
    } catch (error) {
      if (!hasStatus(error, 409)) throw error;
    }
  }

  /**
   * Stores the unsuppressed creation-side steps among `findings` (others are ignored) for the
   * tenant, in batch transactions per device partition, then deletes up to `sweepLimit` expired
   * rows of any partition. Returns how many steps were stored.
   */
  async remember(tenantId: string, findings: readonly Finding[], now: Date): Promise<number> {
    const at = now.toISOString();
    const entities = new Map<string, StepEntity>();
    for (const finding of findings) {
      if (finding.suppressedBy !== null || !isCreationSideStep(finding)) continue;
      const device = deviceKey(finding.device);
      const eventMs = findingTime(finding);
      const entity: StepEntity = {
        partitionKey: recentStepsPartitionKey(tenantId, finding.ruleId, device),
        rowKey: escapeKey(finding.id),
        rowVersion: RECENT_STEP_ROW_VERSION,
        tenantId,
        ruleId: finding.ruleId,
        deviceKey: device,
        findingId: finding.id,
        eventTime: new Date(eventMs).toISOString(),
        rememberedAt: at,
        expiresAt: new Date(Math.max(eventMs, now.getTime()) + this.ttlMs).toISOString(),
        finding: boundedFindingJson(finding),
      };
      // The same step twice in one batch would fail the transaction; the last copy wins.
      entities.set(`${entity.partitionKey}\u0000${entity.rowKey}`, entity);
    }
    if (entities.size === 0) return 0;
    // Upsert: a step seen again (overlapping windows, a retried cycle) refreshes its row.
    await submitInBatches(
      this.table,
      [...entities.values()].map((e): TransactionAction => ['upsert', e, 'Replace']),
    );
    await this.sweep(now);
    return entities.size;
  }

  /**
   * The stored creation-side steps of these devices (device keys as `identity.deviceKey` makes
   * them) that can still chain with a use at `now`: seen (event time, or when remembered if
   * later) less than `chainWindowMs` before it. One query per device partition; expired rows met
   * on the way are deleted. Pass only devices whose current findings hold a use step. Sorted by
   * time, then id.
   */
  async recall(tenantId: string, ruleId: string, deviceKeys: readonly string[], now: Date, chainWindowMs: number): Promise<Finding[]> {
    assertWindow('chainWindowMs', chainWindowMs);
    const partitions = [...new Set(deviceKeys)].map((d) => recentStepsPartitionKey(tenantId, ruleId, d));
    const results: { live: Finding[]; expired: RowKeyRef[] }[] = [];
    for (let i = 0; i < partitions.length; i += RECALL_CONCURRENCY) {
      const slice = partitions.slice(i, i + RECALL_CONCURRENCY);
      results.push(...(await Promise.all(slice.map((pk) => this.readPartition(pk, now, chainWindowMs)))));
    }
    const expired = results.flatMap((r) => r.expired);
    if (expired.length > 0) await this.deleteQuietly(expired);
    const byId = new Map<string, Finding>();
    for (const finding of results.flatMap((r) => r.live)) byId.set(finding.id, finding);
    return [...byId.values()].sort(compareFindings);
  }

  private async readPartition(pk: string, now: Date, chainWindowMs: number): Promise<{ live: Finding[]; expired: RowKeyRef[] }> {
    const nowMs = now.getTime();
    const live: Finding[] = [];
    const expired: RowKeyRef[] = [];
    const filter = odata`PartitionKey eq ${pk}`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const seenMs = Math.max(Date.parse(str(entity.eventTime)), Date.parse(str(entity.rememberedAt)));
      const finding = parseFinding(str(entity.finding));
      // NaN compares false: an unreadable time never counts as recent.
      if (finding && seenMs + chainWindowMs > nowMs) live.push(finding);
      else if (!(Date.parse(str(entity.expiresAt)) > nowMs) && entity.rowKey !== undefined) expired.push({ partitionKey: pk, rowKey: entity.rowKey });
    }
    return { live, expired };
  }

  /** Deletes up to `sweepLimit` expired rows across partitions: one query, then batches. */
  private async sweep(now: Date): Promise<void> {
    if (this.sweepLimit === 0) return;
    const filter = odata`expiresAt le ${now.toISOString()}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })
      .byPage({ maxPageSize: this.sweepLimit });
    // One page only: the sweep is bounded work per write, not a cleanup job.
    const first = await pages.next();
    if (first.done) return;
    const keys = first.value.flatMap((e) => (e.partitionKey !== undefined && e.rowKey !== undefined ? [{ partitionKey: e.partitionKey, rowKey: e.rowKey }] : []));
    await this.deleteQuietly(keys);
  }

  /**
   * Deletion is housekeeping: a batch that fails because another instance already deleted one of
   * its rows (404) is left for the next sweep rather than failing the hunt cycle.
   */
  private async deleteQuietly(keys: readonly RowKeyRef[]): Promise<void> {
    const byPartition = new Map<string, RowKeyRef[]>();
    for (const key of keys) byPartition.set(key.partitionKey, [...(byPartition.get(key.partitionKey) ?? []), key]);
    for (const list of byPartition.values()) {
      for (let i = 0; i < list.length; i += MAX_TRANSACTION_ACTIONS) {
        const actions = list.slice(i, i + MAX_TRANSACTION_ACTIONS).map((k): TransactionAction => ['delete', k]);
        try {
          await this.table.submitTransaction(actions);
        } catch (error) {
          if (!hasStatus(error, 404)) throw error;
        }
      }
    }
  }
}

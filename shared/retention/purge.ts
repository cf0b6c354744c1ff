/**
 * Retention: the tables that grow with every cycle are purged of rows older than their setting,
 * from the hunt timer, at most once an hour and a bounded number of rows per table per run. What
 * is still work is never touched:
 * - incidents: only closed ones go (nothing pending, nothing minted and unmarked), when neither
 *   seen nor changed within RETENTION_INCIDENT_DAYS (at least 35: longer than Defender keeps
 *   telemetry plus a grouping window, so a backfill can never re-announce a purged incident);
 * - deliveries: delivered and superseded rows after RETENTION_DELIVERY_DAYS; failed, parked and
 *   disabled-channel rows (waiting for a human) only after the audit retention; held, retrying and
 *   in-flight rows never; a channel's highest revision of an incident with its delivery;
 * - allowlist audit: kept longest (RETENTION_AUDIT_DAYS, never shorter than any other retention),
 *   and the record an existing entry stands on (its lastAuditId) never, however old;
 * - run records after RETENTION_RUN_DAYS, recent chain steps RETENTION_RECENT_STEP_DAYS after
 *   they expired.
 * Deletes are ETag-guarded: a row that changed since it was read (a cycle wrote it) is left alone.
 */
import { odata, type TableClient, type TableEntityResult } from '@azure/data-tables';
import { hasStatus } from '../incidents/tables';
import type { RetentionSettings } from './policy';

export { DEFAULT_RETENTION, type RetentionSettings } from './policy';

export interface RetentionTables {
  incidents: TableClient;
  recentSteps: TableClient;
  checkpoints: TableClient;
  deliveries: TableClient;
  allowlist: TableClient;
  allowlistAudit: TableClient;
}

/** Rows deleted per table. */
export interface PurgeSummary {
  incidents: number;
  recentSteps: number;
  runs: number;
  deliveries: number;
  audit: number;
}

const DAY_MS = 24 * 3600_000;
export const DEFAULT_MAX_PER_TABLE = 1000;
/** The purge runs at most this often, whatever the timer's schedule. */
export const PURGE_EVERY_MS = 3600_000;
const MARKER = { partitionKey: '~retention', rowKey: 'state' };

type Row = TableEntityResult<Record<string, unknown>>;

function cutoff(now: Date, days: number): string {
  return new Date(now.getTime() - days * DAY_MS).toISOString();
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** A closed incident or alias row: nothing waits to be announced, and nothing happened since `before`. */
export function isClosedIncident(row: Record<string, unknown>, before: string): boolean {
  if (text(row.pendingSince) !== '' || row.announcing === true || row.escalationPending === true) return false;
  const alias = text(row.mergedInto) !== '';
  const lastSeen = text(row.lastSeen);
  return text(row.updatedAt) !== '' && text(row.updatedAt) < before && (alias || (lastSeen !== '' && lastSeen < before));
}

/** Up to `limit` rows matching `filter` and `keep`; a table that does not exist (yet) holds none. */
async function collect(table: TableClient, filter: string | undefined, limit: number, keep: (row: Row) => boolean = () => true): Promise<Row[]> {
  const out: Row[] = [];
  try {
    for await (const row of table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      if (keep(row)) out.push(row);
      if (out.length >= limit) break;
    }
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
  }
  return out;
}

/**
 * Deletes the rows one by one, each guarded by the ETag it was read with: a row that changed or
 * vanished meanwhile (412, 404) is left alone. (Table transactions cannot carry an ETag per delete;
 * a purge is bounded, hourly work, so the round trips do not matter.)
 */
async function deleteRows(table: TableClient, rows: readonly Row[]): Promise<number> {
  let deleted = 0;
  for (const row of rows) {
    try {
      await table.deleteEntity(row.partitionKey ?? '', row.rowKey ?? '', { etag: row.etag });
      deleted++;
    } catch (error) {
      if (!hasStatus(error, 404, 412)) throw error;
    }
  }
  return deleted;
}

export async function purgeExpired(
  tables: RetentionTables,
  settings: RetentionSettings,
  now: Date,
  options: { maxPerTable?: number } = {},
): Promise<PurgeSummary> {
  const limit = options.maxPerTable ?? DEFAULT_MAX_PER_TABLE;
  const incidentBefore = cutoff(now, settings.incidentDays);
  const deliveryBefore = cutoff(now, settings.deliveryDays);
  const auditBefore = cutoff(now, settings.auditDays);

  const incidents = await collect(tables.incidents, odata`updatedAt lt ${incidentBefore}`, limit, (row) => isClosedIncident(row, incidentBefore));
  const steps = await collect(tables.recentSteps, odata`expiresAt lt ${cutoff(now, settings.recentStepDays)}`, limit);
  const runs = await collect(tables.checkpoints, odata`RowKey ge ${'run-'} and RowKey lt ${'run.'} and startedAt lt ${cutoff(now, settings.runDays)}`, limit);
  const settled = odata`recordType eq ${'delivery'} and updatedAt lt ${deliveryBefore} and (state eq ${'delivered'} or state eq ${'superseded'})`;
  const waitedForAHuman =
    odata`recordType eq ${'delivery'} and updatedAt lt ${auditBefore}` +
    odata` and (state eq ${'failed'} or state eq ${'parked'} or state eq ${'disabled-channel'})`;
  const revisions = odata`recordType eq ${'revision'} and updatedAt lt ${deliveryBefore}`;
  const deliveries = [
    ...(await collect(tables.deliveries, settled, limit)),
    ...(await collect(tables.deliveries, waitedForAHuman, limit)),
    ...(await collect(tables.deliveries, revisions, limit)),
  ].slice(0, limit);

  // The record each entry stands on (matchers ignore an entry without its committed record).
  const entries = await collect(tables.allowlist, undefined, Number.MAX_SAFE_INTEGER);
  const standing = new Set(entries.map((entry) => text(entry.lastAuditId)).filter((id) => id !== ''));
  const audit = await collect(tables.allowlistAudit, odata`at lt ${auditBefore}`, limit, (row) => !standing.has(row.rowKey ?? ''));

  return {
    incidents: await deleteRows(tables.incidents, incidents),
    recentSteps: await deleteRows(tables.recentSteps, steps),
    runs: await deleteRows(tables.checkpoints, runs),
    deliveries: await deleteRows(tables.deliveries, deliveries),
    audit: await deleteRows(tables.allowlistAudit, audit),
  };
}

/**
 * Whether this run should purge: at most once per PURGE_EVERY_MS across every instance, recorded
 * in the checkpoints table (ETag-guarded, so of two timers at once only one purges).
 */
export async function takePurgeTurn(checkpoints: TableClient, now: Date, everyMs: number = PURGE_EVERY_MS): Promise<boolean> {
  let existing: Row | null = null;
  try {
    existing = await checkpoints.getEntity<Record<string, unknown>>(MARKER.partitionKey, MARKER.rowKey);
  } catch (error) {
    if (!hasStatus(error, 404)) throw error;
  }
  const last = Date.parse(text(existing?.lastPurgeAt));
  if (!Number.isNaN(last) && now.getTime() - last < everyMs) return false;
  const entity = { ...MARKER, lastPurgeAt: now.toISOString() };
  try {
    if (existing) await checkpoints.updateEntity(entity, 'Replace', { etag: existing.etag });
    else await checkpoints.createEntity(entity);
    return true;
  } catch (error) {
    if (hasStatus(error, 409, 412)) return false;
    throw error;
  }
}

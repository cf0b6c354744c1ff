/**
 * The incidents table: what has been seen and announced per incident, so re-runs and overlapping
 * hunt windows never announce the same thing twice and an incident's updates are rate-limited.
 *
 * One row per incident: PartitionKey = escaped `tenant|rule`, RowKey = incident id. Writes are
 * optimistic (ETag If-Match, or create for new rows) and go in batch transactions of at most 100
 * per partition; a 412/409 (someone else wrote first) re-reads and recomputes the partition.
 *
 * Announcing is two-step on purpose, and every announcement is minted before it leaves: when an
 * announcement is due, `upsertIncidents` (or `pendingAnnouncements`) decides its revision (1 for
 * `new`, one more per update) and stores it on the row, frozen (event, revision, mint time and the
 * exact Incident), in the same write as the findings that made it due. Only then does the caller
 * enqueue it, and `markAnnounced` records it after that. A crash in between leaves the minted
 * announcement on the row, and the next cycle re-sends exactly it (same revision, same body, so
 * the same notification id: the delivery ledger and webhook receivers drop the repeat) instead of
 * composing a second `new` from whatever it merged meanwhile. Findings merged while an
 * announcement is minted stay pending and go out as the next revision once it is marked.
 *
 * What was announced (count, severity, chain flag) is kept per row. An escalation (severity rose,
 * or the incident became a chain) is announced at once; more of the same waits for the update
 * interval. Whatever is not announced yet is "pending": the row then carries `pendingSince` and
 * the bounded Incident it would announce, so `pendingAnnouncements` can send it once the interval
 * has passed even if no later hunt window sees the incident again (10-minute windows rarely do).
 */
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import { SEVERITIES, type Finding, type Severity } from '../model/finding';
import { CONFIDENCES, INCIDENT_STATUSES, type Confidence, type Incident, type IncidentStatus } from '../model/incident';
import { boundedIncidentJson } from './bound';
import { toStoredJson } from '../storage/json';
import { compositeKey } from '../storage/keys';
import { hasStatus, MAX_PROPERTY_CHARS, submitInBatches } from './tables';

export const DEFAULT_UPDATE_INTERVAL_MS = 60 * 60 * 1000;
export const DEFAULT_MAX_STORED_FINDING_IDS = 200;
/**
 * Version of the row layout below (not of the Incident payload). 2 added the announced severity and
 * chain flag and the pending announcement; version-1 rows read as "announced as stored". 3 added
 * the revision and the minted announcement; older rows read as revision 1 if they were announced.
 */
export const INCIDENT_ROW_VERSION = 3;
/** A minted Incident is kept whole up to this size (over two properties): about a queue message. */
export const MAX_MINTED_CHARS = 44_000;

/** Table service: at most 15 comparisons in one $filter; one is the PartitionKey. */
const MAX_ROWKEYS_PER_FILTER = 14;
const MAX_IDS_JSON_CHARS = MAX_PROPERTY_CHARS;
const MAX_ALIAS_HOPS = 3;
const DEFAULT_MAX_ATTEMPTS = 5;

export interface IncidentStoreOptions {
  /** Ids kept per row (the latest by event time); older ones fold into a floor timestamp. */
  maxStoredFindingIds?: number;
  /** Attempts per partition when concurrent writers collide (412/409). */
  maxAttempts?: number;
}

export interface UpsertOptions {
  /**
   * Minimum time between two announcements of one incident; new findings in between wait.
   * Escalations (severity up, or now a chain) never wait.
   */
  updateIntervalMs?: number;
}

export type PendingOptions = UpsertOptions;

/**
 * An announcement as minted: decided and stored on the incident's row before anything is enqueued.
 * Everything a notification's id and body are made of is here, so re-sending it after a crash
 * yields the same message.
 */
export interface Announcement {
  kind: 'new' | 'update';
  /** Equals `incident.revision`: 1 for `new`, one more per update. */
  revision: number;
  /** When the revision was minted: the notification's timestamp, the same on every re-send. */
  mintedAt: string;
  /**
   * The incident with the stored totals (first/last seen, count, max severity) merged in, exactly as
   * stored (evidence bounded to MAX_MINTED_CHARS).
   */
  incident: Incident;
  /** Findings already announced before this one (0 for `new`). */
  previousFindingCount: number;
  /** True when this revision was minted by an earlier cycle that did not get to mark it (a crash). */
  resent: boolean;
}

/** What `markAnnounced` needs; an `Incident` (e.g. `announcement.incident`) satisfies it. */
export interface IncidentRef {
  tenantId: string;
  ruleId: string;
  id: string;
  /** The revision that was enqueued; marking an older or unknown revision changes nothing. */
  revision: number;
}

export interface StoredFindingId {
  id: string;
  /** Event time, ms since epoch. */
  time: number;
}

/** A row as read back, typed. */
export interface StoredIncident {
  partitionKey: string;
  id: string;
  etag: string;
  tenantId: string;
  ruleId: string;
  title: string;
  chain: boolean;
  firstSeen: string;
  lastSeen: string;
  findingCount: number;
  severity: Severity;
  confidence: Confidence;
  status: IncidentStatus;
  /** Latest ids by event time, bounded. */
  findingIds: StoredFindingId[];
  /** Set once ids were dropped: a finding at or before it that is not listed counts as seen. */
  findingIdsFloor: number | null;
  lastAnnouncedAt: string | null;
  announcedFindingCount: number;
  /** Severity of the last announcement; null before the first. */
  announcedSeverity: Severity | null;
  /** Whether the last announcement already was a chain. */
  announcedChain: boolean;
  /** The last revision minted (0: never announced). */
  revision: number;
  /** The last revision marked as enqueued; below `revision` while `minted` waits for its mark. */
  announcedRevision: number;
  /** The minted announcement not marked yet (a crash between enqueue and mark leaves it here). */
  minted: Announcement | null;
  /** Set while something is not announced yet (findings beyond the announced count, an escalation). */
  pendingSince: string | null;
  /**
   * While pending: JSON of the Incident that would be announced, with its evidence bounded to fit
   * a property (see bound.ts) and without `findingIds` (this row holds them).
   */
  pendingPayload: string | null;
  /** Set on alias rows: the chain incident this id was merged into. */
  mergedInto: string | null;
  updatedAt: string;
}

/**
 * The table entity. Table storage has no null: '' stands for "none" in the string columns. (A type
 * alias, not an interface, so it is assignable to the SDK's `TableEntity<Record<string, unknown>>`.)
 */
type IncidentEntity = {
  partitionKey: string;
  rowKey: string;
  rowVersion: number;
  tenantId: string;
  ruleId: string;
  title: string;
  chain: boolean;
  firstSeen: string;
  lastSeen: string;
  findingCount: number;
  severity: string;
  confidence: string;
  status: string;
  /** JSON `[id, epochMs][]`, ordered by event time. */
  findingIds: string;
  /** ISO time or ''. */
  findingIdsFloor: string;
  lastAnnouncedAt: string;
  announcedFindingCount: number;
  announcedSeverity: string;
  announcedChain: boolean;
  revision: number;
  announcedRevision: number;
  /** Derived on write: a minted announcement waits for its mark (lets the filter find it). */
  announcing: boolean;
  /** JSON of the minted Announcement, split over two properties (each at most 32K chars). */
  minted: string;
  minted2: string;
  /** ISO time or '': the server-side filter of `pendingAnnouncements`. */
  pendingSince: string;
  /** Derived on write: an escalation is not announced yet (lets the filter skip the interval). */
  escalationPending: boolean;
  pendingPayload: string;
  mergedInto: string;
  updatedAt: string;
};

/**
 * Key characters Table storage forbids (`/ \ # ?`, controls) and `|` (our separator) are
 * percent-encoded per part, so `tenant|rule` stays unambiguous and reversible.
 */
export function incidentPartitionKey(tenantId: string, ruleId: string): string {
  return compositeKey(tenantId, ruleId);
}

function isEtagConflict(error: unknown): boolean {
  // 412: the row changed since we read it; 409: someone created it since we found it missing.
  return hasStatus(error, 412, 409);
}

function str(value: unknown, fallback = ''): string {
  return typeof value === 'string' ? value : fallback;
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function oneOf<T extends string>(allowed: readonly T[], value: unknown, fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;
}

function parseIds(json: string): StoredFindingId[] {
  if (!json) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  const out: StoredFindingId[] = [];
  for (const item of parsed as unknown[]) {
    if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'number') out.push({ id: item[0], time: item[1] });
  }
  return out;
}

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): StoredIncident {
  const floor = str(entity.findingIdsFloor);
  const floorMs = floor ? Date.parse(floor) : NaN;
  const severity = oneOf(SEVERITIES, entity.severity, 'informational');
  const chain = entity.chain === true;
  const lastAnnouncedAt = str(entity.lastAnnouncedAt) || null;
  const announcedSeverity = str(entity.announcedSeverity);
  // Rows written before revisions existed: one revision if they were announced.
  const revision = typeof entity.revision === 'number' ? entity.revision : lastAnnouncedAt === null ? 0 : 1;
  const announcedRevision = typeof entity.announcedRevision === 'number' ? entity.announcedRevision : revision;
  const minted = parseMinted(str(entity.minted) + str(entity.minted2));
  return {
    partitionKey: str(entity.partitionKey),
    id: str(entity.rowKey),
    etag: entity.etag,
    tenantId: str(entity.tenantId),
    ruleId: str(entity.ruleId),
    title: str(entity.title),
    chain,
    firstSeen: str(entity.firstSeen),
    lastSeen: str(entity.lastSeen),
    findingCount: num(entity.findingCount),
    severity,
    confidence: oneOf(CONFIDENCES, entity.confidence, 'low'),
    status: oneOf(INCIDENT_STATUSES, entity.status, 'new'),
    findingIds: parseIds(str(entity.findingIds)),
    findingIdsFloor: Number.isNaN(floorMs) ? null : floorMs,
    lastAnnouncedAt,
    announcedFindingCount: num(entity.announcedFindingCount),
    // Version-1 rows did not record what was announced: take the stored state as announced, so an
    // upgrade neither re-announces every incident nor misses an escalation merged after it.
    announcedSeverity:
      lastAnnouncedAt === null ? null : announcedSeverity ? oneOf(SEVERITIES, announcedSeverity, severity) : severity,
    announcedChain: typeof entity.announcedChain === 'boolean' ? entity.announcedChain : lastAnnouncedAt !== null && chain,
    revision,
    announcedRevision,
    // Only the revision above the marked one is in flight; anything else is a leftover.
    minted: minted && minted.revision === revision && revision > announcedRevision ? minted : null,
    pendingSince: str(entity.pendingSince) || null,
    pendingPayload: str(entity.pendingPayload) || null,
    mergedInto: str(entity.mergedInto) || null,
    updatedAt: str(entity.updatedAt),
  };
}

type RowState = Omit<StoredIncident, 'etag'>;

function toEntity(row: RowState): IncidentEntity {
  const minted = row.minted ? mintedJson(row.minted) : '';
  return {
    partitionKey: row.partitionKey,
    rowKey: row.id,
    rowVersion: INCIDENT_ROW_VERSION,
    tenantId: row.tenantId,
    ruleId: row.ruleId,
    title: row.title,
    chain: row.chain,
    firstSeen: row.firstSeen,
    lastSeen: row.lastSeen,
    findingCount: row.findingCount,
    severity: row.severity,
    confidence: row.confidence,
    status: row.status,
    findingIds: JSON.stringify(row.findingIds.map((f) => [f.id, f.time])),
    findingIdsFloor: row.findingIdsFloor === null ? '' : new Date(row.findingIdsFloor).toISOString(),
    lastAnnouncedAt: row.lastAnnouncedAt ?? '',
    announcedFindingCount: row.announcedFindingCount,
    announcedSeverity: row.announcedSeverity ?? '',
    announcedChain: row.announcedChain,
    revision: row.revision,
    announcedRevision: row.announcedRevision,
    announcing: row.minted !== null,
    minted: minted.slice(0, MAX_PROPERTY_CHARS),
    minted2: minted.slice(MAX_PROPERTY_CHARS),
    pendingSince: row.pendingSince ?? '',
    escalationPending: isEscalated(row),
    pendingPayload: row.pendingPayload ?? '',
    mergedInto: row.mergedInto ?? '',
    updatedAt: row.updatedAt,
  };
}

/** Announced before, and since then the severity rose or the incident became a chain. */
function isEscalated(row: RowState): boolean {
  if (row.mergedInto !== null || row.lastAnnouncedAt === null) return false;
  const rose = row.announcedSeverity !== null && SEVERITIES.indexOf(row.severity) > SEVERITIES.indexOf(row.announcedSeverity);
  return rose || (row.chain && !row.announcedChain);
}

/** Something about this incident has not been announced yet (or is minted and not marked). */
function isPending(row: RowState): boolean {
  return row.mergedInto === null && (row.minted !== null || row.findingCount > row.announcedFindingCount || isEscalated(row));
}

/**
 * What to announce for the row now, if anything: `new` until the first announcement was marked;
 * then `update` at once for an escalation, and for more findings once the interval has passed.
 * (A row with a minted announcement re-sends that instead; see `announce`.)
 */
function dueKind(row: RowState, now: Date, intervalMs: number): Announcement['kind'] | null {
  if (row.mergedInto !== null) return null;
  if (row.lastAnnouncedAt === null) return row.findingCount > 0 ? 'new' : null;
  if (isEscalated(row)) return 'update';
  if (row.findingCount <= row.announcedFindingCount) return null;
  const since = now.getTime() - Date.parse(row.lastAnnouncedAt);
  // An unreadable announcement time must not hold updates back forever.
  return Number.isNaN(since) || since >= intervalMs ? 'update' : null;
}

/** Keeps `pendingSince` (first time pending) while pending; clears it and the payload when not. */
function settle(row: RowState, at: string): RowState {
  if (isPending(row)) return { ...row, pendingSince: row.pendingSince ?? at };
  return { ...row, pendingSince: null, pendingPayload: null };
}

/**
 * The stored pending Incident. It is our own serialization, so a shape check guards only against
 * a damaged property; a row whose payload cannot be read is left pending rather than guessed at.
 */
function parsePayload(json: string | null): Incident | null {
  if (!json) return null;
  try {
    return asIncident(JSON.parse(json));
  } catch {
    return null;
  }
}

function asIncident(value: unknown): Incident | null {
  if (typeof value !== 'object' || value === null) return null;
  if (!('id' in value) || typeof value.id !== 'string') return null;
  if (!('findings' in value) || !Array.isArray(value.findings)) return null;
  if (!('schemaVersion' in value) || typeof value.schemaVersion !== 'string') return null;
  return value as Incident;
}

/** What is stored of a minted announcement (`resent` is how it is read back, not stored). */
function mintedJson(minted: Announcement): string {
  const { resent: _resent, ...stored } = minted;
  return toStoredJson(stored);
}

/** The stored minted announcement; as with the payload, an unreadable one is treated as absent. */
function parseMinted(json: string): Announcement | null {
  if (!json) return null;
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const m = value as Partial<Announcement>;
  if ((m.kind !== 'new' && m.kind !== 'update') || typeof m.revision !== 'number' || typeof m.mintedAt !== 'string') return null;
  const incident = asIncident(m.incident);
  if (!incident) return null;
  return { kind: m.kind, revision: m.revision, mintedAt: m.mintedAt, previousFindingCount: m.previousFindingCount ?? 0, incident, resent: true };
}

function compareFindingTimes(a: Finding, b: Finding): number {
  return compareIds({ id: a.id, time: Date.parse(a.timestamp) || 0 }, { id: b.id, time: Date.parse(b.timestamp) || 0 });
}

/**
 * The Incident to announce for a row: the payload that best describes it (one with the row's id,
 * a chain payload for a chain row), with the row's totals, and as evidence this cycle's findings
 * plus those of the stored pending payload (findings held back by the interval).
 */
function compose(row: RowState, payloads: readonly Incident[], stored: Incident | null, kind: Announcement['kind']): Incident | null {
  const candidates = [...payloads.filter((p) => p.id === row.id), ...payloads.filter((p) => p.id !== row.id), ...(stored ? [stored] : [])];
  // The chain flag must match the row: announcing a chain row as "no chain" would be recorded as
  // announced that way and re-trigger the escalation forever.
  const base = candidates.find((p) => p.chain === row.chain) ?? candidates[0];
  if (!base) return null;
  const evidence = new Map<string, Finding>();
  for (const f of stored?.findings ?? []) evidence.set(f.id, f);
  // This cycle's findings win: they are whole (the stored ones may have lost `raw`).
  for (const p of payloads) for (const f of p.findings) evidence.set(f.id, f);
  return {
    ...base,
    id: row.id,
    chain: row.chain,
    firstSeen: row.firstSeen,
    lastSeen: row.lastSeen,
    findingCount: row.findingCount,
    findingIds: row.findingIds.map((f) => f.id),
    severity: row.severity,
    confidence: row.confidence,
    status: kind === 'new' ? 'new' : 'updated',
    findings: [...evidence.values()].sort(compareFindingTimes),
  };
}

function maxOf<T extends string>(scale: readonly T[], a: T, b: T): T {
  return scale.indexOf(a) >= scale.indexOf(b) ? a : b;
}

function compareIds(a: StoredFindingId, b: StoredFindingId): number {
  return a.time - b.time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Keeps the latest `max` ids (and under the property size limit); raises the floor for the rest. */
function bound(ids: StoredFindingId[], floor: number | null, max: number): { ids: StoredFindingId[]; floor: number | null } {
  const sorted = [...ids].sort(compareIds);
  let keep = sorted.slice(Math.max(0, sorted.length - max));
  while (keep.length > 1 && JSON.stringify(keep.map((f) => [f.id, f.time])).length > MAX_IDS_JSON_CHARS) keep = keep.slice(1);
  const dropped = sorted.slice(0, sorted.length - keep.length);
  const last = dropped[dropped.length - 1];
  const newFloor = last ? Math.max(floor ?? Number.NEGATIVE_INFINITY, last.time) : floor;
  return { ids: keep, floor: newFloor };
}

/** Event-time ids of an incident's evidence; listed ids without a finding take `lastSeen`. */
function incomingIds(incident: Incident): StoredFindingId[] {
  const byId = new Map<string, number>();
  for (const f of incident.findings) byId.set(f.id, Date.parse(f.timestamp));
  const fallback = Date.parse(incident.lastSeen);
  for (const id of incident.findingIds) if (!byId.has(id)) byId.set(id, fallback);
  return [...byId].map(([id, time]) => ({ id, time: Number.isNaN(time) ? 0 : time }));
}

interface Target {
  before: StoredIncident | null;
  row: RowState;
  dirty: boolean;
  payloads: Incident[];
  announcement: Announcement | null;
}

interface PartitionPlan {
  targets: Map<string, Target>;
  actions: TransactionAction[];
}

export class IncidentStore {
  private readonly maxIds: number;
  private readonly maxAttempts: number;

  constructor(
    private readonly table: TableClient,
    options: IncidentStoreOptions = {},
  ) {
    this.maxIds = options.maxStoredFindingIds ?? DEFAULT_MAX_STORED_FINDING_IDS;
    this.maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    if (!Number.isSafeInteger(this.maxIds) || this.maxIds < 1) throw new RangeError('maxStoredFindingIds must be a positive integer');
  }

  async get(tenantId: string, ruleId: string, id: string): Promise<StoredIncident | null> {
    const rows = await this.read(incidentPartitionKey(tenantId, ruleId), [id]);
    return rows.get(id) ?? null;
  }

  /**
   * Merges incidents into their rows and returns what to announce: `new` for an incident never
   * announced; `update` at once when its severity rose or it became a chain since the last
   * announcement; `update` for more findings once the last announcement is `updateIntervalMs` old.
   * Anything not announced stays pending on the row (see `pendingAnnouncements`). The same
   * findings again change nothing and announce nothing.
   */
  async upsertIncidents(incidents: readonly Incident[], now: Date, options: UpsertOptions = {}): Promise<Announcement[]> {
    const interval = intervalOf(options);
    const byPartition = new Map<string, Incident[]>();
    for (const incident of incidents) {
      const pk = incidentPartitionKey(incident.tenantId, incident.ruleId);
      byPartition.set(pk, [...(byPartition.get(pk) ?? []), incident]);
    }
    const announcements: Announcement[] = [];
    for (const [pk, list] of [...byPartition].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const targets = await this.withRetry(async () => {
        const plan = await this.plan(pk, list, now, interval);
        await submitInBatches(this.table, plan.actions);
        return plan.targets;
      });
      for (const target of [...targets.values()].sort((a, b) => (a.row.id < b.row.id ? -1 : 1))) {
        if (target.announcement) announcements.push(target.announcement);
      }
    }
    return announcements;
  }

  /**
   * Announcements that are due for incidents of one tenant and rule without being seen again:
   * updates held back by the interval once it has passed, escalations, and minted announcements
   * that were never marked (the caller crashed: they are re-sent as minted). What becomes due here
   * is minted (stored with its revision) before it is returned. One query, filtered server-side on
   * `pendingSince` and the interval, so nothing pending costs exactly one request.
   *
   * Rows that became pending at `now` itself are left out: those are what `upsertIncidents` with
   * the same `now` has just returned. Returns [] for them; call it after `upsertIncidents`.
   */
  async pendingAnnouncements(tenantId: string, ruleId: string, now: Date, options: PendingOptions = {}): Promise<Announcement[]> {
    const interval = intervalOf(options);
    const pk = incidentPartitionKey(tenantId, ruleId);
    const at = now.toISOString();
    const cutoff = new Date(now.getTime() - interval).toISOString();
    // ISO times of one format compare as strings; '' (never announced) sorts before any cutoff.
    // Rows without the columns (written before they existed) compare false and stay out.
    const filter =
      odata`PartitionKey eq ${pk} and pendingSince gt '' and pendingSince lt ${at}` +
      odata` and (lastAnnouncedAt le ${cutoff} or escalationPending eq true or announcing eq true)`;
    const announcements = await this.withRetry(async () => {
      const found: Announcement[] = [];
      const actions: TransactionAction[] = [];
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const stored = fromEntity(entity);
        const { etag, ...row } = stored;
        // A row whose pending Incident cannot be read is left pending rather than guessed at.
        if (!row.minted && !parsePayload(row.pendingPayload)) continue;
        const decided = announce(row, [], now, interval);
        if (!decided) continue;
        found.push(decided.announcement);
        if (decided.row !== row) actions.push(['update', toEntity(decided.row), 'Replace', { etag }]);
      }
      // Minted before anyone sees it: a conflict (412) re-reads and decides again.
      await submitInBatches(this.table, actions);
      return found;
    });
    return announcements.sort((a, b) => (a.incident.id < b.incident.id ? -1 : a.incident.id > b.incident.id ? 1 : 0));
  }

  /**
   * Records that these revisions were announced: what their minted Incident said (count, severity,
   * chain flag) becomes what was announced. Call only after the notification is durably enqueued.
   * Unknown ids and revisions that are not the minted one (already marked) are ignored. An incident
   * with nothing left to announce stops being pending.
   */
  async markAnnounced(refs: readonly IncidentRef[], now: Date): Promise<void> {
    const byPartition = new Map<string, IncidentRef[]>();
    for (const ref of refs) {
      const pk = incidentPartitionKey(ref.tenantId, ref.ruleId);
      byPartition.set(pk, [...(byPartition.get(pk) ?? []), ref]);
    }
    const at = now.toISOString();
    for (const [pk, list] of byPartition) {
      await this.withRetry(async () => {
        const rows = await this.read(pk, list.map((r) => r.id));
        const actions: TransactionAction[] = [];
        for (const [id, refsOfId] of groupById(list)) {
          const row = rows.get(id);
          const minted = row?.minted;
          if (!row || !minted || !refsOfId.some((r) => r.revision === minted.revision)) continue;
          const { etag, ...rest } = row;
          const said = minted.incident;
          const next = settle(
            {
              ...rest,
              minted: null,
              announcedRevision: minted.revision,
              lastAnnouncedAt: at,
              // Never above what is stored: findings counted later stay pending for the next update.
              announcedFindingCount: Math.max(row.announcedFindingCount, Math.min(said.findingCount, row.findingCount)),
              announcedSeverity: maxOf(SEVERITIES, rest.announcedSeverity ?? 'informational', said.severity),
              announcedChain: row.announcedChain || said.chain,
              updatedAt: at,
            },
            at,
          );
          actions.push(['update', toEntity(next), 'Replace', { etag }]);
        }
        await submitInBatches(this.table, actions);
      });
    }
  }

  private async withRetry<T>(attempt: () => Promise<T>): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isEtagConflict(error) || i >= this.maxAttempts) throw error;
      }
    }
  }

  /** Rows of one partition by id; missing ids are absent from the map. */
  private async read(pk: string, ids: readonly string[]): Promise<Map<string, StoredIncident>> {
    const unique = [...new Set(ids)];
    const out = new Map<string, StoredIncident>();
    for (let i = 0; i < unique.length; i += MAX_ROWKEYS_PER_FILTER) {
      const chunk = unique.slice(i, i + MAX_ROWKEYS_PER_FILTER);
      const rowFilter = chunk.map((id) => odata`RowKey eq ${id}`).join(' or ');
      const filter = `${odata`PartitionKey eq ${pk}`} and (${rowFilter})`;
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
        const row = fromEntity(entity);
        out.set(row.id, row);
      }
    }
    return out;
  }

  /** Reads the rows a partition's incidents touch, following alias rows to their chain incident. */
  private async readWithAliases(pk: string, ids: readonly string[]): Promise<Map<string, StoredIncident>> {
    const rows = await this.read(pk, ids);
    for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++) {
      const missing = [...rows.values()].map((r) => r.mergedInto).filter((t): t is string => t !== null && !rows.has(t));
      if (missing.length === 0) break;
      for (const [id, row] of await this.read(pk, missing)) rows.set(id, row);
    }
    return rows;
  }

  private resolve(id: string, rows: ReadonlyMap<string, StoredIncident>): string {
    let current = id;
    const visited = new Set([id]);
    for (let hop = 0; hop < MAX_ALIAS_HOPS; hop++) {
      const next = rows.get(current)?.mergedInto;
      // Follow only to a row that exists; a dangling or cyclic alias leaves the incident on its own.
      if (!next || visited.has(next) || !rows.has(next)) break;
      visited.add(next);
      current = next;
    }
    return current;
  }

  private async plan(pk: string, incidents: readonly Incident[], now: Date, interval: number): Promise<PartitionPlan> {
    const at = now.toISOString();
    const aliasIds = incidents.flatMap((i) => i.chainLink?.mergedIncidentIds ?? []);
    const rows = await this.readWithAliases(pk, [...incidents.map((i) => i.id), ...aliasIds]);
    const targets = new Map<string, Target>();

    const ordered = [...incidents].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const incident of ordered) {
      const targetId = this.resolve(incident.id, rows);
      let target = targets.get(targetId);
      if (!target) {
        const before = rows.get(targetId) ?? null;
        target = {
          before,
          row: before ? stripEtag(before) : this.blankRow(pk, targetId, incident, at),
          dirty: before === null,
          payloads: [],
          announcement: null,
        };
        // A dangling alias resolved to itself becomes a real incident again.
        if (target.row.mergedInto !== null) {
          target.row = { ...target.row, mergedInto: null };
          target.dirty = true;
        }
        targets.set(targetId, target);
      }
      target.payloads.push(incident);
      this.merge(target, incident, at);
    }
    for (const target of targets.values()) {
      if (target.dirty) target.row = stash(target.row, target.payloads, at);
      // Minted in the same write as the findings that made it due, before anyone enqueues it.
      const decided = announce(target.row, target.payloads, now, interval);
      if (!decided) continue;
      target.announcement = decided.announcement;
      if (decided.row !== target.row) {
        target.row = decided.row;
        target.dirty = true;
      }
    }

    // Chain incidents absorb groups that would have been incidents of their own: record those ids
    // as aliases, so a later window that only sees the absorbed step updates the chain incident.
    const aliasRows: RowState[] = [];
    const aliasActions: TransactionAction[] = [];
    for (const incident of ordered) {
      const targetId = this.resolve(incident.id, rows);
      for (const alias of incident.chainLink?.mergedIncidentIds ?? []) {
        if (alias === targetId || targets.has(alias) || aliasRows.some((r) => r.id === alias)) continue;
        const existing = rows.get(alias);
        if (existing?.mergedInto) continue;
        if (existing) {
          const { etag, ...rest } = existing;
          // An alias announces nothing of its own any more (a minted, unmarked announcement is dropped
          // too): the chain incident speaks for it, its findings included.
          const row = settle({ ...rest, mergedInto: targetId, minted: null, updatedAt: at }, at);
          aliasRows.push(row);
          aliasActions.push(['update', toEntity(row), 'Replace', { etag }]);
        } else {
          const row: RowState = { ...this.blankRow(pk, alias, incident, at), findingIds: [], findingCount: 0, mergedInto: targetId };
          aliasRows.push(row);
          aliasActions.push(['create', toEntity(row)]);
        }
      }
    }

    const actions: TransactionAction[] = [];
    for (const target of targets.values()) {
      if (!target.dirty) continue;
      if (target.before) actions.push(['update', toEntity(target.row), 'Replace', { etag: target.before.etag }]);
      else actions.push(['create', toEntity(target.row)]);
    }
    return { targets, actions: [...actions, ...aliasActions] };
  }

  private blankRow(pk: string, id: string, incident: Incident, at: string): RowState {
    return {
      partitionKey: pk,
      id,
      tenantId: incident.tenantId,
      ruleId: incident.ruleId,
      title: incident.title,
      chain: incident.chain,
      firstSeen: incident.firstSeen,
      lastSeen: incident.lastSeen,
      findingCount: 0,
      severity: incident.severity,
      confidence: incident.confidence,
      status: 'new',
      findingIds: [],
      findingIdsFloor: null,
      lastAnnouncedAt: null,
      announcedFindingCount: 0,
      announcedSeverity: null,
      announcedChain: false,
      revision: 0,
      announcedRevision: 0,
      minted: null,
      pendingSince: null,
      pendingPayload: null,
      mergedInto: null,
      updatedAt: at,
    };
  }

  /** Adds the incident's unseen findings to the row; no change (and no write) when all were seen. */
  private merge(target: Target, incident: Incident, at: string): void {
    const row = target.row;
    const known = new Set(row.findingIds.map((f) => f.id));
    const floor = row.findingIdsFloor;
    const fresh = incomingIds(incident).filter((f) => !known.has(f.id) && (floor === null || f.time > floor));
    if (fresh.length === 0) return;
    const bounded = bound([...row.findingIds, ...fresh], floor, this.maxIds);
    const wasAnnounced = row.lastAnnouncedAt !== null;
    target.row = {
      ...row,
      title: incident.title,
      chain: row.chain || incident.chain,
      firstSeen: row.findingCount === 0 || incident.firstSeen < row.firstSeen ? incident.firstSeen : row.firstSeen,
      lastSeen: incident.lastSeen > row.lastSeen ? incident.lastSeen : row.lastSeen,
      findingCount: row.findingCount + fresh.length,
      severity: maxOf(SEVERITIES, row.severity, incident.severity),
      confidence: maxOf(CONFIDENCES, row.confidence, incident.confidence),
      // Still `new` until the first announcement went out; a closed incident with new evidence reopens.
      status: wasAnnounced ? 'updated' : 'new',
      findingIds: bounded.ids,
      findingIdsFloor: bounded.floor,
      updatedAt: at,
    };
    target.dirty = true;
  }
}

function intervalOf(options: UpsertOptions): number {
  const interval = options.updateIntervalMs ?? DEFAULT_UPDATE_INTERVAL_MS;
  if (!Number.isFinite(interval) || interval < 0) throw new RangeError(`updateIntervalMs must be a non-negative number, got ${interval}`);
  return interval;
}

function groupById(refs: readonly IncidentRef[]): Map<string, IncidentRef[]> {
  const out = new Map<string, IncidentRef[]>();
  for (const ref of refs) out.set(ref.id, [...(out.get(ref.id) ?? []), ref]);
  return out;
}

/**
 * Before a changed row is written: while something is pending, keep the Incident it would announce
 * (accumulating the evidence of earlier held-back cycles), bounded to fit one property.
 */
function stash(row: RowState, payloads: readonly Incident[], at: string): RowState {
  if (!isPending(row)) return settle(row, at);
  const composed = compose(row, payloads, parsePayload(row.pendingPayload), row.lastAnnouncedAt === null ? 'new' : 'update');
  // The row holds the ids (bounded the same way); storing them twice would only eat the budget.
  const pendingPayload = composed ? boundedIncidentJson({ ...composed, findingIds: [] }) : row.pendingPayload;
  return settle({ ...row, pendingPayload }, at);
}

/**
 * The announcement the row owes now, if any, and the row as it must be stored before the
 * announcement may be enqueued: a minted, unmarked announcement is owed again as it is (same
 * revision, mint time and Incident); otherwise a due one is minted with the next revision, its
 * Incident bounded and frozen as stored so the first send and any re-send carry the same body.
 */
function announce(
  row: RowState,
  payloads: readonly Incident[],
  now: Date,
  intervalMs: number,
): { row: RowState; announcement: Announcement } | null {
  if (row.mergedInto !== null) return null;
  if (row.minted) return { row, announcement: { ...row.minted, resent: true } };
  const kind = dueKind(row, now, intervalMs);
  if (!kind) return null;
  const composed = compose(row, payloads, parsePayload(row.pendingPayload), kind);
  if (!composed) return null;
  const revision = row.revision + 1;
  const incident = JSON.parse(boundedIncidentJson({ ...composed, revision }, MAX_MINTED_CHARS)) as Incident;
  const minted: Announcement = {
    kind,
    revision,
    mintedAt: now.toISOString(),
    previousFindingCount: kind === 'new' ? 0 : row.announcedFindingCount,
    incident,
    resent: false,
  };
  return { row: settle({ ...row, revision, minted }, now.toISOString()), announcement: minted };
}

function stripEtag(row: StoredIncident): RowState {
  const { etag: _etag, ...rest } = row;
  return rest;
}

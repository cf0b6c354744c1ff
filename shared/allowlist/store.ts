/**
 * Allowlist persistence on Azure Table Storage: entries, their hit counters, and an append-only
 * audit trail of every change. Owns key layout, optimistic concurrency (ETags), the ordering that
 * keeps entry and audit consistent, and the change announcement.
 *
 * Layout
 *  - entries table: PartitionKey = escaped scope ("global" | "tenant:<id>"), RowKey = escaped id.
 *    Hit counters live in a sibling row of the same partition (RowKey "~hits~<id>") so the
 *    frequent counter writes of hunting runs never change the entry's ETag: a person's PUT with
 *    the ETag they just read does not fail because a run happened in between.
 *  - audit table: PartitionKey = escaped entry id, RowKey = inverted timestamp + sequence +
 *    random, so a partition lists newest first.
 *
 * Ordering (entry and audit are in different tables, so no transaction spans them):
 *  1. the audit record is written FIRST with status "pending", carrying before/after and the
 *     id of the audit record the previous state came from (previousAuditId);
 *  2. the entry is written with the ETag condition and stamped with lastAuditId = that record;
 *  3. the record is marked "committed" (or "aborted" when step 2 was refused: 409/412).
 * A crash between steps leaves a "pending" record, never an unaudited change: a change is in
 * effect only if the entry (lastAuditId) or a later record (previousAuditId) points at its
 * record, which is how history() resolves pending records without any extra write.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { odata, RestError } from '@azure/data-tables';
import type { Clock } from '../clock';
import { systemClock } from '../clock';
import type { BreadthOverride } from './breadth';
import type { AllowlistConditions, AllowlistEntry, AllowlistEntryInput, AllowlistScope, FieldError } from './entry';
import { CONDITION_FIELDS, entryDefects, ID_PATTERN, newEntry, scopeKey } from './entry';
import type { HitCount } from './matcher';
import type { AllowlistAction, AllowlistChangeNotifier, WarnLogger } from './notifier';
import { escapeKey, unescapeKey } from '../storage/keys';

export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
  constructor(readonly entryId: string) {
    super(`allowlist entry ${entryId} was changed by someone else (ETag mismatch); reload and retry`);
  }
}

export class EntryNotFoundError extends Error {
  override readonly name = 'EntryNotFoundError';
  constructor(readonly entryId: string) {
    super(`allowlist entry ${entryId} does not exist`);
  }
}

export class EntryConflictError extends Error {
  override readonly name = 'EntryConflictError';
  constructor(readonly entryId: string) {
    super(`allowlist entry ${entryId} already exists`);
  }
}

/** A write the store refuses for a reason tied to fields (e.g. changing the scope). */
export class EntryValidationError extends Error {
  override readonly name = 'EntryValidationError';
  constructor(readonly errors: FieldError[]) {
    super(errors.map((e) => `${e.field}: ${e.message}`).join('; '));
  }
}

export type AuditStatus = 'pending' | 'committed' | 'aborted';

export interface AuditRecord {
  /** RowKey of the record; sorts newest first. */
  id: string;
  entryId: string;
  action: AllowlistAction;
  actor: string;
  at: string;
  reason: string;
  before: AllowlistEntry | null;
  after: AllowlistEntry | null;
  /** As stored; history() resolves "pending" to committed/aborted where it can tell. */
  status: AuditStatus;
  previousAuditId: string | null;
  /** The writer's explicit confirmation of a broad entry, with the breadth it was shown; else null. */
  override: BreadthOverride | null;
}

/** An entry the hunt will not use, and why (see listEffectiveEntries). */
export interface IgnoredEntry {
  id: string;
  problems: string[];
}

/** Options of a write besides the entry itself. */
export interface WriteOptions {
  /** The change reason for the audit trail; defaults to the entry's reason (or "deleted"). */
  changeReason?: string;
  /** Recorded in the audit record when the writer confirmed a broad entry. */
  override?: BreadthOverride | null;
}

export const UNAUDITED = 'no committed audit record';
export const TAMPERED = 'differs from its audit record';

export interface AllowlistStoreOptions {
  entries: TableClient;
  audit: TableClient;
  clock?: Clock;
  notifier?: AllowlistChangeNotifier;
  /** Where failures to announce or to finish an audit record are reported. */
  logger?: WarnLogger;
  newId?: () => string;
  /** Attempts per hit batch when a concurrent run changed the counters (ETag/conflict). */
  hitRetries?: number;
}

export interface RecordHitsResult {
  /** Entry ids whose counters were written. */
  updated: string[];
  /** Entry ids not found in the table (ignored). */
  unknown: string[];
}

const HITS_PREFIX = '~hits~';
const TRANSACTION_LIMIT = 100;

/** Keys are escaped in one place for every table (shared/storage/keys.ts). */
export { escapeKey, unescapeKey };

function statusOf(error: unknown): number | undefined {
  if (error instanceof RestError) return error.statusCode;
  if (typeof error === 'object' && error !== null && 'statusCode' in error) {
    const code = error.statusCode;
    return typeof code === 'number' ? code : undefined;
  }
  return undefined;
}

type Row = TableEntityResult<Record<string, unknown>>;

function str(row: Row, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' ? v : null;
}

function bool(row: Row, key: string): boolean {
  return row[key] === true;
}

function num(row: Row, key: string): number {
  const v = row[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function parseConditions(text: string | null): AllowlistConditions {
  if (!text) return {};
  try {
    const parsed = JSON.parse(text) as unknown;
    const out: AllowlistConditions = {};
    if (typeof parsed === 'object' && parsed !== null) {
      for (const field of CONDITION_FIELDS) {
        const v = (parsed as Record<string, unknown>)[field];
        if (typeof v === 'string') out[field] = v;
      }
    }
    return out;
  } catch {
    // A corrupted row yields no conditions, and the matcher refuses condition-less entries.
    return {};
  }
}

function parseOverride(text: string | null): BreadthOverride | null {
  if (!text) return null;
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as BreadthOverride) : null;
  } catch {
    return null;
  }
}

/** The fields that decide what an entry suppresses, as one comparable string. */
function effectiveShape(entry: Partial<AllowlistEntry>): string {
  const conditions: Record<string, string> = {};
  for (const field of CONDITION_FIELDS) {
    const v = entry.conditions?.[field];
    if (typeof v === 'string') conditions[field] = v;
  }
  return JSON.stringify([
    conditions,
    entry.scope ? scopeKey(entry.scope) : null,
    entry.enabled === true,
    entry.deleted === true,
    entry.expiresAt ?? null,
    entry.permanent === true,
    entry.owner ?? '',
    entry.reason ?? '',
  ]);
}

function parseEntrySnapshot(text: string | null): AllowlistEntry | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as AllowlistEntry;
  } catch {
    return null;
  }
}

function rowToEntry(row: Row, stats: Row | undefined): AllowlistEntry {
  const tenantId = str(row, 'tenantId');
  const scope: AllowlistScope = str(row, 'scopeType') === 'tenant' && tenantId ? { tenantId } : 'global';
  return {
    id: str(row, 'entryId') ?? unescapeKey(row.rowKey ?? ''),
    conditions: parseConditions(str(row, 'conditions')),
    scope,
    reason: str(row, 'reason') ?? '',
    owner: str(row, 'owner') ?? '',
    createdBy: str(row, 'createdBy') ?? '',
    createdAt: str(row, 'createdAt') ?? '',
    updatedBy: str(row, 'updatedBy') ?? '',
    updatedAt: str(row, 'updatedAt') ?? '',
    expiresAt: str(row, 'expiresAt'),
    permanent: bool(row, 'permanent'),
    enabled: bool(row, 'enabled'),
    hitCount: stats ? num(stats, 'hitCount') : 0,
    lastHitAt: stats ? str(stats, 'lastHitAt') : null,
    deleted: bool(row, 'deleted'),
    etag: row.etag ?? null,
  };
}

function entryToRow(entry: AllowlistEntry, auditId: string): Record<string, unknown> & { partitionKey: string; rowKey: string } {
  const row: Record<string, unknown> & { partitionKey: string; rowKey: string } = {
    partitionKey: escapeKey(scopeKey(entry.scope)),
    rowKey: escapeKey(entry.id),
    kind: 'entry',
    schemaVersion: 1,
    entryId: entry.id,
    scopeType: entry.scope === 'global' ? 'global' : 'tenant',
    conditions: JSON.stringify(entry.conditions),
    reason: entry.reason,
    owner: entry.owner,
    createdBy: entry.createdBy,
    createdAt: entry.createdAt,
    updatedBy: entry.updatedBy,
    updatedAt: entry.updatedAt,
    enabled: entry.enabled,
    permanent: entry.permanent,
    deleted: entry.deleted,
    lastAuditId: auditId,
  };
  // Table Storage has no null: absent properties are nulls (Replace removes them).
  if (entry.scope !== 'global') row.tenantId = entry.scope.tenantId;
  if (entry.expiresAt !== null) row.expiresAt = entry.expiresAt;
  return row;
}

/** The whole entry as JSON (counters included: they show how much the entry had suppressed). */
function snapshot(entry: AllowlistEntry | null): string {
  return entry ? JSON.stringify(entry) : '';
}

function writeOptions(value: string | WriteOptions | undefined): WriteOptions {
  return typeof value === 'string' ? { changeReason: value } : value ?? {};
}

/** Audit point reads in flight at once when checking entries (one per entry not yet verified). */
const AUDIT_CHECK_CONCURRENCY = 8;

export class AllowlistStore {
  private readonly entries: TableClient;
  private readonly audit: TableClient;
  private readonly clock: Clock;
  private readonly notifier: AllowlistChangeNotifier | undefined;
  private readonly logger: WarnLogger;
  private readonly newId: () => string;
  private readonly hitRetries: number;
  private tablesReady: Promise<void> | undefined;
  private lastAuditMs = 0;
  private auditSeq = 0;

  constructor(options: AllowlistStoreOptions) {
    this.entries = options.entries;
    this.audit = options.audit;
    this.clock = options.clock ?? systemClock;
    this.notifier = options.notifier;
    this.logger = options.logger ?? console;
    this.newId = options.newId ?? randomUUID;
    this.hitRetries = options.hitRetries ?? 8;
  }

  /** Creates both tables once per store (idempotent; the SDK ignores "already exists"). */
  ensureTables(): Promise<void> {
    this.tablesReady ??= Promise.all([this.entries.createTable(), this.audit.createTable()]).then(
      () => undefined,
      (error: unknown) => {
        this.tablesReady = undefined;
        throw error;
      },
    );
    return this.tablesReady;
  }

  async listEntries(options: { includeDeleted?: boolean } = {}): Promise<AllowlistEntry[]> {
    await this.ensureTables();
    const rows: Row[] = [];
    const stats = new Map<string, Row>();
    for await (const row of this.entries.listEntities<Record<string, unknown>>()) {
      if (row.kind === 'hits') stats.set(`${row.partitionKey}/${str(row, 'entryId')}`, row);
      else if (row.kind === 'entry') rows.push(row);
    }
    return rows
      .map((row) => rowToEntry(row, stats.get(`${row.partitionKey}/${str(row, 'entryId')}`)))
      .filter((e) => options.includeDeleted || !e.deleted)
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /**
   * The entries the hunt may match with, and those it must not. An enabled entry counts only when it
   * has an owner, a reason and an expiry (or explicit permanence), and its row points at a
   * committed audit record whose `after` agrees with the row on everything that decides what it
   * suppresses. Anything else was written around the audited path (straight into the table): it is
   * returned in `ignored`, with its problems, for a health alert. Verified (id, ETag) pairs are
   * remembered, so a warm instance reads each audit record once per change of the entry.
   */
  async listEffectiveEntries(): Promise<{ entries: AllowlistEntry[]; ignored: IgnoredEntry[] }> {
    await this.ensureTables();
    const stats = new Map<string, Row>();
    const rows: Row[] = [];
    for await (const row of this.entries.listEntities<Record<string, unknown>>()) {
      if (row.kind === 'hits') stats.set(`${row.partitionKey}/${str(row, 'entryId')}`, row);
      else if (row.kind === 'entry') rows.push(row);
    }
    const candidates = rows
      .map((row) => ({ entry: rowToEntry(row, stats.get(`${row.partitionKey}/${str(row, 'entryId')}`)), lastAuditId: str(row, 'lastAuditId') }))
      .filter(({ entry }) => !entry.deleted)
      .sort((a, b) => a.entry.createdAt.localeCompare(b.entry.createdAt) || a.entry.id.localeCompare(b.entry.id));
    const problems = new Map<string, string[]>();
    const queue = candidates.filter(({ entry }) => entry.enabled);
    const worker = async (): Promise<void> => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        const found = [...entryDefects(next.entry)];
        const audit = await this.auditVerdict(next.entry, next.lastAuditId);
        if (audit) found.push(audit);
        if (found.length > 0) problems.set(next.entry.id, found);
      }
    };
    await Promise.all(Array.from({ length: AUDIT_CHECK_CONCURRENCY }, worker));
    return {
      entries: candidates.filter(({ entry }) => !problems.has(entry.id)).map(({ entry }) => entry),
      ignored: candidates.filter(({ entry }) => problems.has(entry.id)).map(({ entry }) => ({ id: entry.id, problems: problems.get(entry.id) ?? [] })),
    };
  }

  private readonly verified = new Map<string, string | null>();

  /** Null when the row agrees with the committed audit record it points at; else the problem. */
  private async auditVerdict(entry: AllowlistEntry, lastAuditId: string | null): Promise<string | null> {
    if (!lastAuditId) return UNAUDITED;
    const cacheKey = `${entry.id}\u0000${entry.etag ?? ''}\u0000${lastAuditId}`;
    const cached = this.verified.get(cacheKey);
    if (cached !== undefined) return cached;
    let verdict: string | null;
    try {
      const record = await this.audit.getEntity<Record<string, unknown>>(escapeKey(entry.id), lastAuditId);
      // A pending record the row points at is the crash between write and "committed" (see the
      // ordering above): the entry write happened, so the change is in effect and audited.
      const after = str(record, 'status') === 'aborted' ? null : parseEntrySnapshot(str(record, 'after'));
      verdict = !after || after.id !== entry.id ? UNAUDITED : effectiveShape(after) === effectiveShape(entry) ? null : TAMPERED;
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      verdict = UNAUDITED;
    }
    if (this.verified.size > 10_000) this.verified.clear();
    this.verified.set(cacheKey, verdict);
    return verdict;
  }

  async getEntry(id: string, options: { includeDeleted?: boolean } = {}): Promise<AllowlistEntry | null> {
    const found = await this.readEntry(id);
    if (!found) return null;
    return found.entry.deleted && !options.includeDeleted ? null : found.entry;
  }

  async createEntry(input: AllowlistEntryInput, actor: string, changeReasonOrOptions?: string | WriteOptions): Promise<AllowlistEntry> {
    const { changeReason, override = null } = writeOptions(changeReasonOrOptions);
    const id = input.id ?? this.newId();
    if (!ID_PATTERN.test(id)) throw new EntryValidationError([{ field: 'id', message: 'is not a valid entry id' }]);
    // Ids are unique across scopes (GET /allowlist/{id} has no scope); check every partition.
    if (await this.readEntry(id)) throw new EntryConflictError(id);
    const after = newEntry(input, { id, actor, now: this.clock.now() });
    const auditId = await this.beginAudit('create', null, after, null, actor, changeReason ?? input.reason, override);
    try {
      const response = await this.entries.createEntity(entryToRow(after, auditId));
      after.etag = response.etag ?? null;
    } catch (error) {
      if (statusOf(error) === 409) {
        await this.finishAudit(id, auditId, 'aborted');
        throw new EntryConflictError(id);
      }
      throw error;
    }
    await this.finishAudit(id, auditId, 'committed');
    await this.announce('create', null, after, actor, changeReason ?? input.reason, override);
    return after;
  }

  /**
   * Replaces an entry's writable fields. `etag` must be the entry's current ETag; a stale one
   * throws PreconditionFailedError. The scope cannot change (it is the partition key; moving
   * rows across partitions cannot be atomic): delete and create instead.
   */
  async updateEntry(id: string, input: AllowlistEntryInput, etag: string, actor: string, changeReasonOrOptions?: string | WriteOptions): Promise<AllowlistEntry> {
    const { changeReason, override = null } = writeOptions(changeReasonOrOptions);
    if (input.id !== undefined && input.id !== id) {
      throw new EntryValidationError([{ field: 'id', message: `does not match the entry being updated (${id})` }]);
    }
    const found = await this.readEntry(id);
    if (!found || found.entry.deleted) throw new EntryNotFoundError(id);
    const before = found.entry;
    if (before.etag !== etag) throw new PreconditionFailedError(id);
    if (scopeKey(before.scope) !== scopeKey(input.scope)) {
      throw new EntryValidationError([{ field: 'scope', message: 'cannot be changed; delete the entry and create a new one' }]);
    }
    const at = this.clock.now().toISOString();
    const after: AllowlistEntry = {
      ...before,
      conditions: { ...input.conditions },
      reason: input.reason,
      owner: input.owner,
      expiresAt: input.expiresAt,
      permanent: input.permanent && input.expiresAt === null,
      enabled: input.enabled,
      updatedBy: actor,
      updatedAt: at,
      etag: null,
    };
    return this.replaceEntry('update', before, after, found.lastAuditId, etag, actor, changeReason ?? input.reason, override);
  }

  /** Soft delete: the row stays (deleted = true) so history and hit counts remain readable. */
  async deleteEntry(id: string, etag: string, actor: string, changeReason?: string): Promise<AllowlistEntry> {
    const found = await this.readEntry(id);
    if (!found || found.entry.deleted) throw new EntryNotFoundError(id);
    const before = found.entry;
    if (before.etag !== etag) throw new PreconditionFailedError(id);
    const after: AllowlistEntry = {
      ...before,
      deleted: true,
      updatedBy: actor,
      updatedAt: this.clock.now().toISOString(),
      etag: null,
    };
    return this.replaceEntry('delete', before, after, found.lastAuditId, etag, actor, changeReason ?? 'deleted', null);
  }

  /** The audit trail of an entry, newest first, with pending records resolved where possible. */
  async history(id: string): Promise<AuditRecord[]> {
    await this.ensureTables();
    const records: AuditRecord[] = [];
    for await (const row of this.audit.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey eq ${escapeKey(id)}` },
    })) {
      const action = str(row, 'action');
      const status = str(row, 'status');
      records.push({
        id: row.rowKey ?? '',
        entryId: id,
        action: action === 'create' || action === 'update' || action === 'delete' ? action : 'update',
        actor: str(row, 'actor') ?? '',
        at: str(row, 'at') ?? '',
        reason: str(row, 'reason') ?? '',
        before: parseEntrySnapshot(str(row, 'before')),
        after: parseEntrySnapshot(str(row, 'after')),
        status: status === 'committed' || status === 'aborted' ? status : 'pending',
        previousAuditId: str(row, 'previousAuditId') || null,
        override: parseOverride(str(row, 'override')),
      });
    }
    records.sort((a, b) => a.id.localeCompare(b.id));
    const current = await this.readEntry(id);
    const applied = new Set<string>();
    if (current?.lastAuditId) applied.add(current.lastAuditId);
    for (const r of records) if (r.status !== 'aborted' && r.previousAuditId) applied.add(r.previousAuditId);
    let newerCommitted = false;
    for (const r of records) {
      if (r.status === 'pending') {
        if (applied.has(r.id)) r.status = 'committed';
        else if (newerCommitted) r.status = 'aborted';
      }
      if (r.status === 'committed') newerCommitted = true;
    }
    return records;
  }

  /**
   * Adds hit counts from one run. Counters of one partition are written in transactions of up
   * to 100 rows; if another run changed a counter meanwhile (ETag 412 / create 409) the batch is
   * re-read and retried, so counts are neither lost nor doubled.
   */
  async recordHits(hits: ReadonlyMap<string, HitCount>): Promise<RecordHitsResult> {
    await this.ensureTables();
    const result: RecordHitsResult = { updated: [], unknown: [] };
    if (hits.size === 0) return result;
    const partitionOf = new Map<string, string>();
    for await (const row of this.entries.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`kind eq ${'entry'}`, select: ['PartitionKey', 'entryId'] },
    })) {
      const entryId = str(row, 'entryId');
      if (entryId && row.partitionKey) partitionOf.set(entryId, row.partitionKey);
    }
    const byPartition = new Map<string, string[]>();
    for (const id of hits.keys()) {
      const pk = partitionOf.get(id);
      if (pk === undefined) {
        result.unknown.push(id);
        continue;
      }
      const ids = byPartition.get(pk) ?? [];
      ids.push(id);
      byPartition.set(pk, ids);
    }
    for (const [pk, ids] of byPartition) {
      for (let i = 0; i < ids.length; i += TRANSACTION_LIMIT) {
        const chunk = ids.slice(i, i + TRANSACTION_LIMIT);
        await this.writeHitChunk(pk, chunk, hits);
        result.updated.push(...chunk);
      }
    }
    return result;
  }

  private async writeHitChunk(pk: string, ids: string[], hits: ReadonlyMap<string, HitCount>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const existing = new Map<string, Row>();
      for await (const row of this.entries.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${pk} and RowKey ge ${HITS_PREFIX}` },
      })) {
        const entryId = str(row, 'entryId');
        if (row.kind === 'hits' && entryId) existing.set(entryId, row);
      }
      const actions: TransactionAction[] = ids.map((id) => {
        const hit = hits.get(id) as HitCount;
        const row = existing.get(id);
        const previousLast = row ? str(row, 'lastHitAt') : null;
        const entity = {
          partitionKey: pk,
          rowKey: `${HITS_PREFIX}${escapeKey(id)}`,
          kind: 'hits',
          entryId: id,
          hitCount: (row ? num(row, 'hitCount') : 0) + hit.count,
          lastHitAt: previousLast && previousLast > hit.lastHitAt ? previousLast : hit.lastHitAt,
        };
        return row ? ['update', entity, 'Replace', { etag: row.etag }] : ['create', entity];
      });
      try {
        await this.entries.submitTransaction(actions);
        return;
      } catch (error) {
        const status = statusOf(error);
        if ((status === 412 || status === 409) && attempt < this.hitRetries) {
          await this.clock.sleep(20 * attempt + Math.floor(Math.random() * 20));
          continue;
        }
        throw error;
      }
    }
  }

  private async readEntry(id: string): Promise<{ entry: AllowlistEntry; lastAuditId: string | null } | null> {
    if (!ID_PATTERN.test(id)) return null;
    await this.ensureTables();
    const rowKey = escapeKey(id);
    let entryRow: Row | undefined;
    let statsRow: Row | undefined;
    for await (const row of this.entries.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`RowKey eq ${rowKey} or RowKey eq ${HITS_PREFIX + rowKey}` },
    })) {
      if (row.kind === 'entry') entryRow = row;
      else if (row.kind === 'hits') statsRow = row;
    }
    if (!entryRow) return null;
    return { entry: rowToEntry(entryRow, statsRow), lastAuditId: str(entryRow, 'lastAuditId') };
  }

  private async replaceEntry(
    action: AllowlistAction,
    before: AllowlistEntry,
    after: AllowlistEntry,
    previousAuditId: string | null,
    etag: string,
    actor: string,
    reason: string,
    override: BreadthOverride | null,
  ): Promise<AllowlistEntry> {
    const auditId = await this.beginAudit(action, before, after, previousAuditId, actor, reason, override);
    try {
      const response = await this.entries.updateEntity(entryToRow(after, auditId), 'Replace', { etag });
      after.etag = response.etag ?? null;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) {
        await this.finishAudit(before.id, auditId, 'aborted');
        throw status === 412 ? new PreconditionFailedError(before.id) : new EntryNotFoundError(before.id);
      }
      throw error;
    }
    await this.finishAudit(before.id, auditId, 'committed');
    await this.announce(action, before, after, actor, reason, override);
    return after;
  }

  /** Newest-first row key: inverted milliseconds, inverted in-process sequence, random tail. */
  private auditRowKey(now: Date): string {
    const ms = now.getTime();
    if (ms === this.lastAuditMs) this.auditSeq++;
    else {
      this.lastAuditMs = ms;
      this.auditSeq = 0;
    }
    const inverted = String(9_999_999_999_999 - ms).padStart(13, '0');
    const seq = String(9999 - Math.min(this.auditSeq, 9999)).padStart(4, '0');
    return `${inverted}-${seq}-${randomBytes(4).toString('hex')}`;
  }

  private async beginAudit(
    action: AllowlistAction,
    before: AllowlistEntry | null,
    after: AllowlistEntry,
    previousAuditId: string | null,
    actor: string,
    reason: string,
    override: BreadthOverride | null,
  ): Promise<string> {
    await this.ensureTables();
    const now = this.clock.now();
    const auditId = this.auditRowKey(now);
    await this.audit.createEntity({
      partitionKey: escapeKey(after.id),
      rowKey: auditId,
      action,
      actor,
      at: now.toISOString(),
      reason,
      before: snapshot(before),
      after: snapshot(after),
      status: 'pending',
      previousAuditId: previousAuditId ?? '',
      override: override ? JSON.stringify(override) : '',
    });
    return auditId;
  }

  private async finishAudit(entryId: string, auditId: string, status: AuditStatus): Promise<void> {
    try {
      await this.audit.updateEntity({ partitionKey: escapeKey(entryId), rowKey: auditId, status }, 'Merge');
    } catch (error) {
      // Not fatal: history() resolves the pending record from the entry's lastAuditId chain.
      this.logger.warn(`allowlist audit ${auditId} for ${entryId} stays pending: ${String(error)}`);
    }
  }

  private async announce(
    action: AllowlistAction,
    before: AllowlistEntry | null,
    after: AllowlistEntry,
    actor: string,
    reason: string,
    override: BreadthOverride | null,
  ): Promise<void> {
    if (!this.notifier) return;
    try {
      await this.notifier.announce({ action, entryId: after.id, before, after, actor, reason, at: after.updatedAt, override });
    } catch (error) {
      // The change is stored and audited; a failed announcement must not undo or hide it.
      this.logger.warn(`allowlist change announcement failed for ${after.id}: ${String(error)}`);
    }
  }
}

/**
 * The tenant registry in Table Storage (TENANTS_TABLE, default `tenants`). One partition per
 * tenant (PartitionKey = the tenant key) holds:
 *   - `config`: the registry entry people edit (CLI), ETag-guarded;
 *   - `audit-<inverted time>-<id>`: who changed what and why, written in the same transaction as
 *     the change (a tenant's channels and credential decide where its data goes);
 *   - `status`: what the last hunt job of the tenant did (shared/tenants/status.ts);
 *   - `quota`: the tenant's shared Graph call counter (shared/tenants/quotaStore.ts).
 * Workers write `status` and `quota` only, so their writes never conflict with a person's edit.
 */
import { randomUUID } from 'node:crypto';
import { RestError, type TableClient } from '@azure/data-tables';
import { ensureTable } from '../storage/clients';
import { escapeKey, unescapeKey } from '../storage/keys';
import {
  applyTenantPatch,
  checkPauseReason,
  TenantValidationError,
  validateTenantInput,
  type Tenant,
  type TenantCredentialRef,
  type TenantInput,
  type TenantPatch,
} from './tenant';

export const CONFIG_ROW = 'config';
const AUDIT_PREFIX = 'audit-';
const MAX_TICKS = 9_999_999_999_999;

export class TenantNotFoundError extends Error {
  constructor(key: string) {
    super(`no tenant '${key}' in the registry`);
    this.name = 'TenantNotFoundError';
  }
}

export class TenantExistsError extends Error {
  constructor(key: string) {
    super(`tenant '${key}' is already in the registry (use 'tenants update')`);
    this.name = 'TenantExistsError';
  }
}

/** Someone else changed the tenant since it was read: read it again and retry. */
export class TenantConflictError extends Error {
  constructor(key: string) {
    super(`tenant '${key}' was changed by someone else since it was read; read it again and retry`);
    this.name = 'TenantConflictError';
  }
}

/** A stored row this version cannot read (hand-edited, or written by a newer version). */
export interface UnreadableTenant {
  key: string;
  problem: string;
  /**
   * The channels the row names, when that part can still be read (null when not): a channel a
   * tenant names stays that tenant's even while the rest of its row is wrong.
   */
  channelIds?: string[] | null;
}

export interface TenantAuditRecord {
  key: string;
  action: 'add' | 'update' | 'pause' | 'resume' | 'remove';
  actor: string;
  at: string;
  reason: string | null;
  before: Tenant | null;
  after: Tenant | null;
}

type Row = Record<string, unknown> & { partitionKey?: string; rowKey?: string; etag?: string };

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof RestError && codes.includes(error.statusCode ?? 0);
}

function text(row: Row, key: string): string | null {
  const value = row[key];
  return typeof value === 'string' ? value : null;
}

function parseJson(row: Row, key: string): unknown {
  const value = text(row, key);
  if (value === null || value === '') return undefined;
  return JSON.parse(value) as unknown;
}

function stringArray(value: unknown, field: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw new Error(`${field} is not a list of strings`);
  return value;
}

/** Best effort, for a row that cannot be read as a whole: its channel ids, or null. */
function channelIdsOf(row: Row): string[] | null {
  try {
    return stringArray(parseJson(row, 'channelIds') ?? [], 'channelIds');
  } catch {
    return null;
  }
}

/** Reads a config row strictly: a tenant that cannot be read must not be hunted half-configured. */
export function rowToTenant(row: Row): Tenant {
  const key = text(row, 'key') ?? unescapeKey(row.partitionKey ?? '');
  const ruleIds = parseJson(row, 'ruleIds');
  const credentialKind = text(row, 'credentialKind') ?? 'certificate';
  const credential: TenantCredentialRef =
    credentialKind === 'secret' ? { kind: 'secret', setting: text(row, 'credentialSetting') ?? '' } : { kind: 'certificate' };
  const rawOverrides = parseJson(row, 'overrides') ?? {};
  if (typeof rawOverrides !== 'object' || rawOverrides === null || Array.isArray(rawOverrides)) throw new Error('overrides is not an object');
  const input: TenantInput = {
    key,
    entraTenantId: text(row, 'entraTenantId') ?? '',
    displayName: text(row, 'displayName') ?? key,
    graphBaseUrl: text(row, 'graphBaseUrl') ?? undefined,
    ruleIds: ruleIds === undefined || ruleIds === null ? null : stringArray(ruleIds, 'ruleIds'),
    channelIds: stringArray(parseJson(row, 'channelIds') ?? [], 'channelIds'),
    credential,
    overrides: rawOverrides,
  };
  const checked = validateTenantInput(input);
  if (!checked.ok) throw new TenantValidationError(checked.errors);
  const pausedReason = text(row, 'pausedReason');
  return {
    ...checked.value,
    paused: pausedReason ? { reason: pausedReason, by: text(row, 'pausedBy') ?? '', at: text(row, 'pausedAt') ?? '' } : null,
    createdAt: text(row, 'createdAt') ?? '',
    createdBy: text(row, 'createdBy') ?? '',
    updatedAt: text(row, 'updatedAt') ?? '',
    updatedBy: text(row, 'updatedBy') ?? '',
    etag: row.etag ?? null,
  };
}

function tenantToRow(tenant: Tenant): Row & { partitionKey: string; rowKey: string } {
  const row: Row & { partitionKey: string; rowKey: string } = {
    partitionKey: escapeKey(tenant.key),
    rowKey: CONFIG_ROW,
    schemaVersion: 1,
    key: tenant.key,
    entraTenantId: tenant.entraTenantId,
    displayName: tenant.displayName,
    graphBaseUrl: tenant.graphBaseUrl,
    ruleIds: tenant.ruleIds === null ? '' : JSON.stringify(tenant.ruleIds),
    channelIds: JSON.stringify(tenant.channelIds),
    credentialKind: tenant.credential.kind,
    overrides: JSON.stringify(tenant.overrides),
    createdAt: tenant.createdAt,
    createdBy: tenant.createdBy,
    updatedAt: tenant.updatedAt,
    updatedBy: tenant.updatedBy,
  };
  // Table Storage has no null: an absent property reads back as null (Replace removes it).
  if (tenant.credential.kind === 'secret') row.credentialSetting = tenant.credential.setting;
  if (tenant.paused) {
    row.pausedReason = tenant.paused.reason;
    row.pausedBy = tenant.paused.by;
    row.pausedAt = tenant.paused.at;
  }
  return row;
}

function auditRow(record: TenantAuditRecord): Row & { partitionKey: string; rowKey: string } {
  const inverted = String(MAX_TICKS - Date.parse(record.at)).padStart(13, '0');
  return {
    partitionKey: escapeKey(record.key),
    rowKey: `${AUDIT_PREFIX}${inverted}-${randomUUID()}`,
    action: record.action,
    actor: record.actor,
    at: record.at,
    reason: record.reason ?? '',
    before: record.before ? JSON.stringify({ ...record.before, etag: undefined }) : '',
    after: record.after ? JSON.stringify({ ...record.after, etag: undefined }) : '',
  };
}

export interface ChangeContext {
  actor: string;
  now: Date;
  reason?: string;
  /** The ETag the caller read; the change fails if the tenant changed since. */
  ifMatch?: string;
}

export class TenantStore {
  constructor(readonly table: TableClient) {}

  /** Creates the table once per process (idempotent). */
  async ensure(): Promise<void> {
    await ensureTable(this.table);
  }

  /** Every registry entry, by key; rows that cannot be read are reported, never dropped silently. */
  async listWithProblems(): Promise<{ tenants: Tenant[]; unreadable: UnreadableTenant[] }> {
    await this.ensure();
    return this.readConfigRows();
  }

  /**
   * The same list for an identity that may only read the table (the allowlist API's, Storage Table
   * Data Reader): the table is never created, and a table that does not exist is an empty registry.
   */
  async listReadOnly(): Promise<{ tenants: Tenant[]; unreadable: UnreadableTenant[] }> {
    try {
      return await this.readConfigRows();
    } catch (error) {
      if (isStatus(error, 404)) return { tenants: [], unreadable: [] };
      throw error;
    }
  }

  private async readConfigRows(): Promise<{ tenants: Tenant[]; unreadable: UnreadableTenant[] }> {
    const tenants: Tenant[] = [];
    const unreadable: UnreadableTenant[] = [];
    for await (const row of this.table.listEntities<Row>({ queryOptions: { filter: `RowKey eq '${CONFIG_ROW}'` } })) {
      try {
        tenants.push(rowToTenant(row));
      } catch (error) {
        unreadable.push({ key: unescapeKey(row.partitionKey ?? ''), problem: (error as Error).message, channelIds: channelIdsOf(row) });
      }
    }
    tenants.sort((a, b) => a.key.localeCompare(b.key));
    return { tenants, unreadable };
  }

  async list(): Promise<Tenant[]> {
    return (await this.listWithProblems()).tenants;
  }

  async get(key: string): Promise<Tenant | null> {
    await this.ensure();
    try {
      const row = await this.table.getEntity<Row>(escapeKey(key), CONFIG_ROW);
      return rowToTenant(row);
    } catch (error) {
      if (isStatus(error, 404)) return null;
      throw error;
    }
  }

  async require(key: string): Promise<Tenant> {
    const tenant = await this.get(key);
    if (!tenant) throw new TenantNotFoundError(key);
    return tenant;
  }

  async add(input: TenantInput, change: ChangeContext): Promise<Tenant> {
    const checked = validateTenantInput(input);
    if (!checked.ok) throw new TenantValidationError(checked.errors);
    await this.ensure();
    const at = change.now.toISOString();
    const tenant: Tenant = {
      ...checked.value,
      paused: null,
      createdAt: at,
      createdBy: change.actor,
      updatedAt: at,
      updatedBy: change.actor,
      etag: null,
    };
    try {
      await this.table.submitTransaction([
        ['create', tenantToRow(tenant)],
        ['create', auditRow({ key: tenant.key, action: 'add', actor: change.actor, at, reason: change.reason ?? null, before: null, after: tenant })],
      ]);
    } catch (error) {
      if (isStatus(error, 409) || /EntityAlreadyExists/.test(String((error as Error).message))) throw new TenantExistsError(tenant.key);
      throw error;
    }
    return (await this.get(tenant.key)) ?? tenant;
  }

  async update(key: string, patch: TenantPatch, change: ChangeContext): Promise<Tenant> {
    const before = await this.require(key);
    const checked = applyTenantPatch(before, patch);
    if (!checked.ok) throw new TenantValidationError(checked.errors);
    const after: Tenant = { ...before, ...checked.value };
    return this.replace(before, after, 'update', change);
  }

  async pause(key: string, change: ChangeContext & { reason: string }): Promise<Tenant> {
    const problems = checkPauseReason(change.reason);
    if (problems.length > 0) throw new TenantValidationError(problems);
    const before = await this.require(key);
    const after: Tenant = { ...before, paused: { reason: change.reason.trim(), by: change.actor, at: change.now.toISOString() } };
    return this.replace(before, after, 'pause', change);
  }

  async resume(key: string, change: ChangeContext): Promise<Tenant> {
    const before = await this.require(key);
    return this.replace(before, { ...before, paused: null }, 'resume', change);
  }

  /**
   * Takes the tenant out of the registry; its checkpoints, incidents and runs stay (they are
   * evidence), and adding the key again continues from its checkpoints.
   */
  async remove(key: string, change: ChangeContext): Promise<Tenant> {
    const before = await this.require(key);
    // A transaction's delete cannot carry an ETag: the caller's is compared to what was just read.
    if (change.ifMatch && change.ifMatch !== before.etag) throw new TenantConflictError(key);
    const at = change.now.toISOString();
    try {
      await this.table.submitTransaction([
        ['delete', { partitionKey: escapeKey(key), rowKey: CONFIG_ROW }],
        ['create', auditRow({ key, action: 'remove', actor: change.actor, at, reason: change.reason ?? null, before, after: null })],
      ]);
    } catch (error) {
      if (isStatus(error, 412) || /UpdateConditionNotSatisfied/.test(String((error as Error).message))) throw new TenantConflictError(key);
      throw error;
    }
    return before;
  }

  async history(key: string, limit = 50): Promise<TenantAuditRecord[]> {
    await this.ensure();
    const records: TenantAuditRecord[] = [];
    const filter = `PartitionKey eq '${escapeKey(key).replace(/'/g, "''")}' and RowKey ge '${AUDIT_PREFIX}' and RowKey lt 'audit.'`;
    for await (const row of this.table.listEntities<Row>({ queryOptions: { filter } })) {
      const snapshot = (name: string): Tenant | null => {
        const value = text(row, name);
        return value ? (JSON.parse(value) as Tenant) : null;
      };
      records.push({
        key,
        action: (text(row, 'action') ?? 'update') as TenantAuditRecord['action'],
        actor: text(row, 'actor') ?? '',
        at: text(row, 'at') ?? '',
        reason: text(row, 'reason') || null,
        before: snapshot('before'),
        after: snapshot('after'),
      });
      if (records.length >= limit) break;
    }
    return records;
  }

  private async replace(before: Tenant, after: Tenant, action: TenantAuditRecord['action'], change: ChangeContext): Promise<Tenant> {
    const at = change.now.toISOString();
    const next: Tenant = { ...after, updatedAt: at, updatedBy: change.actor };
    const etag = change.ifMatch ?? before.etag ?? '*';
    try {
      await this.table.submitTransaction([
        ['update', tenantToRow(next), 'Replace', { etag }],
        ['create', auditRow({ key: before.key, action, actor: change.actor, at, reason: change.reason ?? null, before, after: next })],
      ]);
    } catch (error) {
      if (isStatus(error, 412) || /UpdateConditionNotSatisfied/.test(String((error as Error).message))) throw new TenantConflictError(before.key);
      throw error;
    }
    return (await this.get(before.key)) ?? next;
  }
}

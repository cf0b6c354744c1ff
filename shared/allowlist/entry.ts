/**
 * The allowlist entry: the model of one known-benign signer rule and the validation of what a
 * person (API body, CLI flags, import file) may write into one. An entry blinds a detection, so
 * validation is deliberately strict: every bad or unknown field is reported at once, an expiry is
 * mandatory unless `permanent: true` is asked for explicitly (a missing expiry is never
 * permanent), no condition may be a bare or near-bare wildcard that would silence everything, and a
 * signer subject or file pattern, which the attacker writes, never stands alone: it needs a device,
 * parent or thumbprint condition beside it.
 */
import { branchesNamedBy, LEGACY_BRANCH_IDS } from '../model/branches';
import { BRANCHES, TOOLS } from '../model/finding';
import { compileGlob, isGlobPattern } from './glob';

export const CONDITION_FIELDS = [
  'signerSubject',
  'thumbprint',
  'certificateFile',
  'deviceName',
  'account',
  'parentProcess',
  'branch',
  'tool',
] as const;
export type ConditionField = (typeof CONDITION_FIELDS)[number];

/** Each value is an exact, case-insensitive string or a glob with `*` and `?` (see glob.ts). */
export type AllowlistConditions = Partial<Record<ConditionField, string>>;

export type AllowlistScope = 'global' | { tenantId: string };

export interface AllowlistEntry {
  id: string;
  conditions: AllowlistConditions;
  scope: AllowlistScope;
  /** Why the signer is benign; required so a later reviewer can judge the entry. */
  reason: string;
  /** Who answers for the entry (a person or team). */
  owner: string;
  createdBy: string;
  createdAt: string;
  updatedBy: string;
  updatedAt: string;
  /** ISO 8601; null only for entries created with `permanent: true`. */
  expiresAt: string | null;
  /**
   * Set only by an explicit `permanent: true` (which needs the Allowlist.Permanent role through the
   * API). An entry without an expiry that is not marked permanent never matches.
   */
  permanent: boolean;
  enabled: boolean;
  hitCount: number;
  lastHitAt: string | null;
  /** Soft delete: the row stays for the audit trail and never matches again. */
  deleted: boolean;
  /** Storage ETag of the entry row; null for entries that never were stored (files, tests). */
  etag: string | null;
}

/** What a writer supplies; everything else in AllowlistEntry is set by the server. */
export interface AllowlistEntryInput {
  id?: string;
  conditions: AllowlistConditions;
  scope: AllowlistScope;
  reason: string;
  owner: string;
  expiresAt: string | null;
  permanent: boolean;
  enabled: boolean;
}

export interface FieldError {
  field: string;
  message: string;
}

export type ValidationResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export interface ValidateEntryOptions {
  now: Date;
  /** Longest allowed lifetime of a non-permanent entry; default 90 days. */
  maxLifetimeDays?: number;
  /** Accept a caller-chosen `id` (imports, PUT bodies); POST ids are always server-made. */
  allowId?: boolean;
  /**
   * Check that expiresAt lies in (now, now + max]. Off only when loading existing entries from
   * a file for local evaluation, where an expired entry is legitimate (it simply never matches).
   */
  enforceExpiryWindow?: boolean;
}

export const DEFAULT_MAX_LIFETIME_DAYS = 90;
export const MAX_CONDITION_LENGTH = 512;
export const MAX_REASON_LENGTH = 1000;
export const MAX_OWNER_LENGTH = 256;
export const MAX_TENANT_ID_LENGTH = 128;
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Fields of AllowlistEntry that only the server writes; named so errors can say so. */
export const READ_ONLY_FIELDS = [
  'createdBy',
  'createdAt',
  'updatedBy',
  'updatedAt',
  'hitCount',
  'lastHitAt',
  'deleted',
  'etag',
] as const;

const INPUT_FIELDS = ['id', 'conditions', 'scope', 'reason', 'owner', 'expiresAt', 'permanent', 'enabled'] as const;

/**
 * C0/C1 controls plus invisible formatting characters (zero-width, bidi overrides, BOM): a
 * reviewer reading an entry must see exactly what it matches ("Trojan Source"-style tricks).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/;

const ISO_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

const DAY_MS = 24 * 60 * 60 * 1000;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

function has(object: Record<string, unknown>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(object, key);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

/** Checks a required-or-optional text field; returns the trimmed string when valid. */
function checkText(
  errors: FieldError[],
  field: string,
  value: unknown,
  maxLength: number,
): string | undefined {
  if (typeof value !== 'string') {
    errors.push({ field, message: `must be a string, got ${describe(value)}` });
    return undefined;
  }
  const trimmed = value.trim();
  let ok = true;
  if (trimmed.length === 0) {
    errors.push({ field, message: 'must not be empty' });
    ok = false;
  }
  if (value.length > maxLength) {
    errors.push({ field, message: `must be at most ${maxLength} characters (got ${value.length})` });
    ok = false;
  }
  if (FORBIDDEN_CHARS.test(value)) {
    errors.push({ field, message: 'must not contain control or invisible formatting characters' });
    ok = false;
  }
  return ok ? trimmed : undefined;
}

/** Strict ISO 8601 date-time with offset; rejects impossible dates such as 2025-02-30. */
export function parseIsoDateTime(value: string): Date | null {
  const m = ISO_DATE_TIME.exec(value);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return null;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > daysInMonth) return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time);
}

function checkCondition(errors: FieldError[], field: ConditionField, value: unknown): string | undefined {
  const path = `conditions.${field}`;
  const text = checkText(errors, path, value, MAX_CONDITION_LENGTH);
  if (text === undefined) return undefined;
  const glob = isGlobPattern(text);
  if (glob && text.replace(/[*?]/g, '').length === 0) {
    errors.push({ field: path, message: 'must contain at least one literal character (a bare wildcard would match everything)' });
    return undefined;
  }
  if (glob && isNearlyEverything(text)) {
    errors.push({ field: path, message: `matches nearly every value (${JSON.stringify(text)}); name the device, process, account or file` });
    return undefined;
  }
  if (field === 'signerSubject' && !SUBJECT_START.test(text)) {
    errors.push({
      field: path,
      message: 'must start with the subject\'s first attribute (e.g. "CN=..."), not a wildcard: "*Name*" also matches "CN=Anything, OU=Name"',
    });
    return undefined;
  }
  if (field === 'branch' || field === 'tool') {
    const allowed: readonly string[] = field === 'branch' ? [...BRANCHES, ...Object.keys(LEGACY_BRANCH_IDS)] : TOOLS;
    const compiled = compileGlob(text);
    if (!allowed.some((candidate) => compiled.test(candidate))) {
      errors.push({ field: path, message: `must name or match one of: ${field === 'branch' ? BRANCHES.join(', ') : TOOLS.join(', ')}` });
      return undefined;
    }
    // An earlier lowercase id that stands for one branch is stored under the published name;
    // makecert-pvk2pfx (now two branches) is kept as written and matches both.
    if (field === 'branch' && !glob) {
      const named = branchesNamedBy(text);
      if (named.length === 1) return named[0];
    }
  }
  if (field === 'thumbprint' && !/^[0-9a-fA-F*?]+$/.test(text)) {
    errors.push({ field: path, message: 'must be hexadecimal digits (wildcards * and ? allowed)' });
    return undefined;
  }
  return text;
}

/** An attribute type, `=` and a literal first character: anchored at the start of the subject. */
const SUBJECT_START = /^[A-Za-z][A-Za-z0-9.]*=[^*?]/;

/**
 * Globs whose literal part says nothing: `*.*`, `*\\*`, `*.exe`, `*-*`. What is left after removing
 * wildcards is only separators, or a leading wildcard is followed by nothing but an extension.
 */
function isNearlyEverything(pattern: string): boolean {
  const literal = pattern.replace(/[*?]/g, '');
  if (!/[A-Za-z0-9]/.test(literal)) return true;
  return /^\*+\.[A-Za-z0-9]{1,5}\*?$/.test(pattern);
}

/**
 * Conditions whose values the attacker writes in the command line (a subject, a file name) can be
 * copied by anyone; one of these must pin the entry to where the benign activity happens.
 */
export const PINNING_FIELDS: readonly ConditionField[] = ['deviceName', 'parentProcess', 'thumbprint'];

/** Why these conditions are too weak to stand alone, or null. */
export function unpinnedProblem(conditions: AllowlistConditions): string | null {
  const attackerText = conditions.signerSubject !== undefined || conditions.certificateFile !== undefined;
  if (!attackerText || PINNING_FIELDS.some((f) => conditions[f] !== undefined)) return null;
  return 'a signerSubject or certificateFile condition needs a deviceName, parentProcess or thumbprint condition too (subjects and file names are chosen by whoever runs the tool)';
}

function checkConditions(errors: FieldError[], value: unknown): AllowlistConditions | undefined {
  if (!isPlainObject(value)) {
    errors.push({ field: 'conditions', message: `must be an object, got ${describe(value)}` });
    return undefined;
  }
  const conditions: AllowlistConditions = {};
  let ok = true;
  for (const key of Object.keys(value)) {
    if (!(CONDITION_FIELDS as readonly string[]).includes(key)) {
      errors.push({ field: `conditions.${key}`, message: `unknown condition; known: ${CONDITION_FIELDS.join(', ')}` });
      ok = false;
    }
  }
  for (const field of CONDITION_FIELDS) {
    if (!has(value, field)) continue;
    const checked = checkCondition(errors, field, value[field]);
    if (checked === undefined) ok = false;
    else conditions[field] = checked;
  }
  if (ok && Object.keys(conditions).length === 0) {
    errors.push({ field: 'conditions', message: 'at least one condition is required' });
    return undefined;
  }
  const unpinned = ok ? unpinnedProblem(conditions) : null;
  if (unpinned) {
    errors.push({ field: 'conditions', message: unpinned });
    return undefined;
  }
  return ok ? conditions : undefined;
}

function checkScope(errors: FieldError[], value: unknown): AllowlistScope | undefined {
  if (value === 'global') return 'global';
  if (!isPlainObject(value)) {
    errors.push({ field: 'scope', message: `must be "global" or { "tenantId": "..." }, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : describe(value)}` });
    return undefined;
  }
  let ok = true;
  for (const key of Object.keys(value)) {
    if (key !== 'tenantId') {
      errors.push({ field: `scope.${key}`, message: 'unknown field; a scope has only tenantId' });
      ok = false;
    }
  }
  if (!has(value, 'tenantId')) {
    errors.push({ field: 'scope.tenantId', message: 'is required for a tenant scope' });
    return undefined;
  }
  const tenantId = checkText(errors, 'scope.tenantId', value.tenantId, MAX_TENANT_ID_LENGTH);
  if (tenantId === undefined) return undefined;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(tenantId)) {
    errors.push({ field: 'scope.tenantId', message: 'must be a tenant GUID or domain name (letters, digits, dot, hyphen)' });
    return undefined;
  }
  return ok ? { tenantId } : undefined;
}

/** The conditions and scope alone (the page's preview runs before owner and reason are typed). */
export function validateConditions(conditions: unknown, scope: unknown = 'global'): ValidationResult<{ conditions: AllowlistConditions; scope: AllowlistScope }> {
  const errors: FieldError[] = [];
  const checked = checkConditions(errors, conditions);
  const checkedScope = checkScope(errors, scope);
  if (errors.length > 0 || checked === undefined || checkedScope === undefined) return { ok: false, errors };
  return { ok: true, value: { conditions: checked, scope: checkedScope } };
}

/**
 * Validates what a writer sent. Never throws, whatever `input` is; reports every bad field.
 * Server-maintained fields (createdBy, hitCount, ...) are errors too: silently ignoring them
 * would let a client believe it had set them.
 */
export function validateEntryInput(input: unknown, options: ValidateEntryOptions): ValidationResult<AllowlistEntryInput> {
  const errors: FieldError[] = [];
  if (!isPlainObject(input)) {
    return { ok: false, errors: [{ field: '', message: `the entry must be a JSON object, got ${describe(input)}` }] };
  }
  for (const key of Object.keys(input)) {
    if ((READ_ONLY_FIELDS as readonly string[]).includes(key)) {
      errors.push({ field: key, message: 'is maintained by the server and cannot be written' });
    } else if (!(INPUT_FIELDS as readonly string[]).includes(key) || (key === 'id' && !options.allowId)) {
      errors.push({ field: key, message: key === 'id' ? 'is assigned by the server' : 'unknown field' });
    }
  }

  let id: string | undefined;
  if (options.allowId && has(input, 'id')) {
    if (typeof input.id !== 'string' || !ID_PATTERN.test(input.id)) {
      errors.push({ field: 'id', message: 'must be 1-64 characters: letters, digits, ".", "_" or "-", starting with a letter or digit' });
    } else {
      id = input.id;
    }
  }

  const conditions = has(input, 'conditions')
    ? checkConditions(errors, input.conditions)
    : (errors.push({ field: 'conditions', message: 'is required' }), undefined);

  const scope = has(input, 'scope') ? checkScope(errors, input.scope) : 'global';

  const reason = has(input, 'reason')
    ? checkText(errors, 'reason', input.reason, MAX_REASON_LENGTH)
    : (errors.push({ field: 'reason', message: 'is required' }), undefined);

  const owner = has(input, 'owner')
    ? checkText(errors, 'owner', input.owner, MAX_OWNER_LENGTH)
    : (errors.push({ field: 'owner', message: 'is required' }), undefined);

  let enabled = true;
  if (has(input, 'enabled')) {
    if (typeof input.enabled === 'boolean') enabled = input.enabled;
    else errors.push({ field: 'enabled', message: `must be a boolean, got ${describe(input.enabled)}` });
  }

  let permanent = false;
  let permanentOk = true;
  if (has(input, 'permanent')) {
    if (typeof input.permanent === 'boolean') permanent = input.permanent;
    else {
      errors.push({ field: 'permanent', message: `must be a boolean, got ${describe(input.permanent)}` });
      permanentOk = false;
    }
  }

  let expiresAt: string | null | undefined;
  const maxDays = options.maxLifetimeDays ?? DEFAULT_MAX_LIFETIME_DAYS;
  const rawExpiry = has(input, 'expiresAt') ? input.expiresAt : undefined;
  if (permanent) {
    if (rawExpiry !== undefined && rawExpiry !== null) {
      errors.push({ field: 'expiresAt', message: 'must be null or omitted when permanent is true' });
    } else {
      expiresAt = null;
    }
  } else if (rawExpiry === undefined || rawExpiry === null) {
    if (permanentOk) {
      errors.push({ field: 'expiresAt', message: `is required (at most ${maxDays} days ahead); set "permanent": true to make an entry that never expires` });
    }
  } else if (typeof rawExpiry !== 'string') {
    errors.push({ field: 'expiresAt', message: `must be an ISO 8601 date-time string, got ${describe(rawExpiry)}` });
  } else {
    const date = parseIsoDateTime(rawExpiry);
    if (!date) {
      errors.push({ field: 'expiresAt', message: 'must be an ISO 8601 date-time with offset, e.g. 2025-06-30T00:00:00Z' });
    } else if (options.enforceExpiryWindow !== false && date.getTime() <= options.now.getTime()) {
      errors.push({ field: 'expiresAt', message: 'must be in the future' });
    } else if (options.enforceExpiryWindow !== false && date.getTime() > options.now.getTime() + maxDays * DAY_MS) {
      errors.push({ field: 'expiresAt', message: `must be at most ${maxDays} days ahead` });
    } else {
      expiresAt = date.toISOString();
    }
  }

  if (
    errors.length > 0 ||
    conditions === undefined ||
    scope === undefined ||
    reason === undefined ||
    owner === undefined ||
    expiresAt === undefined
  ) {
    return { ok: false, errors };
  }
  const value: AllowlistEntryInput = { conditions, scope, reason, owner, expiresAt, permanent, enabled };
  if (id !== undefined) value.id = id;
  return { ok: true, value };
}

/** Builds a new stored entry from validated input. */
export function newEntry(input: AllowlistEntryInput, meta: { id: string; actor: string; now: Date }): AllowlistEntry {
  const at = meta.now.toISOString();
  return {
    id: meta.id,
    conditions: { ...input.conditions },
    scope: typeof input.scope === 'string' ? input.scope : { tenantId: input.scope.tenantId },
    reason: input.reason,
    owner: input.owner,
    createdBy: meta.actor,
    createdAt: at,
    updatedBy: meta.actor,
    updatedAt: at,
    expiresAt: input.expiresAt,
    permanent: input.permanent && input.expiresAt === null,
    enabled: input.enabled,
    hitCount: 0,
    lastHitAt: null,
    deleted: false,
    etag: null,
  };
}

/** The scope as one comparable string: "global" or "tenant:<lower-cased id>". */
export function scopeKey(scope: AllowlistScope): string {
  return scope === 'global' ? 'global' : `tenant:${scope.tenantId.toLowerCase()}`;
}

/**
 * What an entry lacks that every entry written through the API, the CLI or an import has: an
 * owner, a reason, and an expiry or an explicit permanence. Such an entry was written around the
 * audited path (straight into the table); the hunt ignores it and raises a health alert.
 */
export function entryDefects(entry: AllowlistEntry): string[] {
  const defects: string[] = [];
  if (entry.owner.trim() === '') defects.push('no owner');
  if (entry.reason.trim() === '') defects.push('no reason');
  if (entry.expiresAt === null ? !entry.permanent : Number.isNaN(Date.parse(entry.expiresAt))) defects.push('no expiry');
  return defects;
}

/** Whether an entry can suppress anything at `now`. */
export function isEntryActive(entry: AllowlistEntry, now: Date): boolean {
  if (!entry.enabled || entry.deleted) return false;
  if (entry.expiresAt === null) return entry.permanent === true;
  const expiry = Date.parse(entry.expiresAt);
  return !Number.isNaN(expiry) && expiry > now.getTime();
}

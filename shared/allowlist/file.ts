/**
 * Allowlist files: reading JSON and CSV entry files (exports, templates, hand-written entries),
 * writing exports, and loading a file as ready-to-match entries for local evaluation (`explain
 * --allowlist`, `allowlist test`). The CSV is shaped for a Microsoft Sentinel watchlist: a header
 * row and a SearchKey column holding the entry id, which is what a finding's `suppressedBy`
 * carries, so Sentinel can join suppressed findings back to the entry that hid them.
 */
import { readFile } from 'node:fs/promises';
import type { AllowlistEntry, ConditionField, FieldError } from './entry';
import { DEFAULT_MAX_LIFETIME_DAYS, READ_ONLY_FIELDS, validateEntryInput } from './entry';

export type AllowlistFileFormat = 'json' | 'csv';

/** One record of a file, split into what a writer may set and the server-maintained rest. */
export interface FileRecord {
  /** 1-based position in the file, for messages. */
  position: number;
  /** Writable fields plus anything unknown (so validation reports it); as found if not an object. */
  input: unknown;
  /** Server-maintained fields as found (createdBy, hitCount, ...), kept for local loading. */
  meta: Partial<Record<(typeof READ_ONLY_FIELDS)[number], unknown>>;
}

export class AllowlistFileError extends Error {
  override readonly name = 'AllowlistFileError';
  constructor(
    readonly path: string,
    readonly problems: string[],
  ) {
    super(`${path}: ${problems.length === 1 ? problems[0] : `\n  ${problems.join('\n  ')}`}`);
  }
}

export function formatFromPath(path: string): AllowlistFileFormat {
  return /\.csv$/i.test(path) ? 'csv' : 'json';
}

// --------------------------------------------------------------------------------------------
// CSV (RFC 4180)
// --------------------------------------------------------------------------------------------

/** Column order of exports; SearchKey first as Sentinel watchlists expect a search key column. */
export const CSV_COLUMNS = [
  'SearchKey',
  'Id',
  'Enabled',
  'Scope',
  'TenantId',
  'SignerSubject',
  'Thumbprint',
  'CertificateFile',
  'DeviceName',
  'Account',
  'ParentProcess',
  'Branch',
  'Tool',
  'Reason',
  'Owner',
  'ExpiresAt',
  'Permanent',
  'CreatedBy',
  'CreatedAt',
  'UpdatedBy',
  'UpdatedAt',
  'HitCount',
  'LastHitAt',
  'Deleted',
] as const;

const CONDITION_COLUMN: Record<string, ConditionField> = {
  signersubject: 'signerSubject',
  thumbprint: 'thumbprint',
  certificatefile: 'certificateFile',
  devicename: 'deviceName',
  account: 'account',
  parentprocess: 'parentProcess',
  branch: 'branch',
  tool: 'tool',
};

function csvCell(value: string): string {
  return /[",\r\n]|^\s|\s$/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** Parses CSV text into rows of cells. Quoted cells may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  const endCell = (): void => {
    row.push(cell);
    cell = '';
  };
  const endRow = (): void => {
    endCell();
    if (!(row.length === 1 && row[0] === '')) rows.push(row);
    row = [];
  };
  for (; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else cell += ch;
    } else if (ch === '"' && cell === '') quoted = true;
    else if (ch === ',') endCell();
    else if (ch === '\n') endRow();
    else if (ch === '\r') {
      if (text[i + 1] === '\n') i++;
      endRow();
    } else cell += ch;
  }
  if (quoted) throw new Error('unterminated quoted cell at end of file');
  if (cell !== '' || row.length > 0) endRow();
  return rows;
}

export function entriesToCsv(entries: readonly AllowlistEntry[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of entries) {
    const c = e.conditions;
    const cells: Record<(typeof CSV_COLUMNS)[number], string> = {
      SearchKey: e.id,
      Id: e.id,
      Enabled: String(e.enabled),
      Scope: e.scope === 'global' ? 'global' : 'tenant',
      TenantId: e.scope === 'global' ? '' : e.scope.tenantId,
      SignerSubject: c.signerSubject ?? '',
      Thumbprint: c.thumbprint ?? '',
      CertificateFile: c.certificateFile ?? '',
      DeviceName: c.deviceName ?? '',
      Account: c.account ?? '',
      ParentProcess: c.parentProcess ?? '',
      Branch: c.branch ?? '',
      Tool: c.tool ?? '',
      Reason: e.reason,
      Owner: e.owner,
      ExpiresAt: e.expiresAt ?? '',
      Permanent: String(e.permanent),
      CreatedBy: e.createdBy,
      CreatedAt: e.createdAt,
      UpdatedBy: e.updatedBy,
      UpdatedAt: e.updatedAt,
      HitCount: String(e.hitCount),
      LastHitAt: e.lastHitAt ?? '',
      Deleted: String(e.deleted),
    };
    lines.push(CSV_COLUMNS.map((col) => csvCell(cells[col])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

function csvBoolean(value: string): unknown {
  if (/^true$/i.test(value)) return true;
  if (/^false$/i.test(value)) return false;
  return value; // left as text so validation names the field
}

/** CSV rows → raw records shaped like JSON ones (empty cells are absent). */
function csvRecords(text: string): Record<string, unknown>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  const columns = header.map((h) => h.trim());
  return rows.map((cells) => {
    const record: Record<string, unknown> = {};
    const conditions: Record<string, string> = {};
    let scope: string | undefined;
    let tenantId: string | undefined;
    columns.forEach((column, index) => {
      const value = cells[index] ?? '';
      if (value === '') return;
      const key = column.toLowerCase();
      const condition = CONDITION_COLUMN[key];
      if (condition) conditions[condition] = value;
      else if (key === 'searchkey') return; // derived from the id on export
      else if (key === 'id') record.id = value;
      else if (key === 'scope') scope = value;
      else if (key === 'tenantid') tenantId = value;
      else if (key === 'enabled' || key === 'permanent' || key === 'deleted') record[key] = csvBoolean(value);
      else if (key === 'hitcount') record.hitCount = Number(value);
      else if (['reason', 'owner', 'expiresat', 'createdby', 'createdat', 'updatedby', 'updatedat', 'lasthitat'].includes(key)) {
        const camel = { expiresat: 'expiresAt', createdby: 'createdBy', createdat: 'createdAt', updatedby: 'updatedBy', updatedat: 'updatedAt', lasthitat: 'lastHitAt' }[key] ?? key;
        record[camel] = value;
      } else record[column] = value; // unknown column: validation reports it by name
    });
    if (Object.keys(conditions).length > 0) record.conditions = conditions;
    if (tenantId !== undefined || (scope !== undefined && scope.toLowerCase() !== 'global')) {
      record.scope = tenantId !== undefined ? { tenantId } : scope;
    } else if (scope !== undefined) record.scope = 'global';
    return record;
  });
}

// --------------------------------------------------------------------------------------------
// JSON
// --------------------------------------------------------------------------------------------

/** Export records: the entry plus `permanent`, so an export imports back without edits. */
export function entriesToJson(entries: readonly AllowlistEntry[]): string {
  return `${JSON.stringify(entries.map((e) => ({ ...e, permanent: e.permanent })), null, 2)}\n`;
}

/** A JSON file holds an array of entries, `{ "entries": [...] }` (templates) or one entry. */
function jsonRecords(text: string): unknown[] {
  const parsed = JSON.parse(text) as unknown;
  if (Array.isArray(parsed)) return parsed;
  if (typeof parsed === 'object' && parsed !== null && Array.isArray((parsed as { entries?: unknown }).entries)) {
    return (parsed as { entries: unknown[] }).entries;
  }
  return [parsed];
}

// --------------------------------------------------------------------------------------------
// Reading

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
// --------------------------------------------------------------------------------------------

/** Parses a file's text into records; throws AllowlistFileError when the text itself is bad. */
export function parseAllowlistText(text: string, format: AllowlistFileFormat, path = '(input)'): FileRecord[] {
  let raw: unknown[];
  try {
    raw = format === 'csv' ? csvRecords(text) : jsonRecords(text);
  } catch (error) {
    throw new AllowlistFileError(path, [`not valid ${format.toUpperCase()}: ${(error as Error).message}`]);
  }
  return raw.map((item, index) => {
    const meta: FileRecord['meta'] = {};
    if (!isRecord(item)) return { position: index + 1, input: item, meta };
    const input: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(item)) {
      if ((READ_ONLY_FIELDS as readonly string[]).includes(key)) meta[key as (typeof READ_ONLY_FIELDS)[number]] = value;
      else input[key] = value;
    }
    return { position: index + 1, input, meta };
  });
}

export async function readAllowlistFile(path: string, format: AllowlistFileFormat = formatFromPath(path)): Promise<FileRecord[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new AllowlistFileError(path, [`cannot read: ${(error as Error).message}`]);
  }
  return parseAllowlistText(text, format, path);
}

export function describeErrors(position: number, errors: FieldError[]): string[] {
  return errors.map((e) => `entry ${position}: ${e.field || '(entry)'}: ${e.message}`);
}

export interface LoadAllowlistOptions {
  now?: Date;
  maxLifetimeDays?: number;
  /** Owner for records without one (templates); default "unassigned". */
  defaultOwner?: string;
}

const metaString = (value: unknown, fallback: string): string => (typeof value === 'string' ? value : fallback);

/**
 * Loads a JSON or CSV allowlist file as entries ready for compileAllowlist(), for local
 * evaluation only (nothing is stored). Lenient where local evaluation needs it and strict
 * elsewhere: a record without expiresAt gets the maximum lifetime from `now` (never permanence),
 * a record without owner gets `defaultOwner`, expired entries load (they simply never match);
 * any other invalid field fails the whole file with every problem listed.
 */
export async function loadAllowlistFile(path: string, options: LoadAllowlistOptions = {}): Promise<AllowlistEntry[]> {
  const now = options.now ?? new Date();
  const maxDays = options.maxLifetimeDays ?? DEFAULT_MAX_LIFETIME_DAYS;
  const records = await readAllowlistFile(path);
  const problems: string[] = [];
  const entries: AllowlistEntry[] = [];
  for (const { position, input, meta } of records) {
    let filled: unknown = input;
    if (isRecord(input)) {
      const copy: Record<string, unknown> = { ...input };
      if (!('owner' in copy)) copy.owner = options.defaultOwner ?? 'unassigned';
      if (!('expiresAt' in copy) && copy.permanent !== true) {
        copy.expiresAt = new Date(now.getTime() + maxDays * 86_400_000).toISOString();
      }
      filled = copy;
    }
    const result = validateEntryInput(filled, { now, maxLifetimeDays: maxDays, allowId: true, enforceExpiryWindow: false });
    if (!result.ok) {
      problems.push(...describeErrors(position, result.errors));
      continue;
    }
    const v = result.value;
    const createdAt = metaString(meta.createdAt, now.toISOString());
    entries.push({
      id: v.id ?? `file-entry-${position}`,
      conditions: v.conditions,
      scope: v.scope,
      reason: v.reason,
      owner: v.owner,
      createdBy: metaString(meta.createdBy, `file:${path}`),
      createdAt,
      updatedBy: metaString(meta.updatedBy, metaString(meta.createdBy, `file:${path}`)),
      updatedAt: metaString(meta.updatedAt, createdAt),
      expiresAt: v.expiresAt,
      permanent: v.permanent && v.expiresAt === null,
      enabled: v.enabled,
      hitCount: typeof meta.hitCount === 'number' ? meta.hitCount : 0,
      lastHitAt: typeof meta.lastHitAt === 'string' ? meta.lastHitAt : null,
      deleted: meta.deleted === true,
      etag: null,
    });
  }
  if (problems.length > 0) throw new AllowlistFileError(path, problems);
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.id)) problems.push(`duplicate id ${e.id}`);
    seen.add(e.id);
  }
  if (problems.length > 0) throw new AllowlistFileError(path, problems);
  return entries;
}

/**
 * The allowlist's settings, parsed from an environment-like map in ONE place (the HTTP functions
 * and the CLI both call this; nothing else in shared/allowlist reads process.env). The lead's
 * central config module can build an AllowlistSettings itself and skip this parser.
 */
import { DEFAULT_MAX_LIFETIME_DAYS } from './entry';

export interface AllowlistSettings {
  /** Storage connection string (AzureWebJobsStorage or STORAGE_CONNECTION); undefined if unset. */
  connectionString: string | undefined;
  /** Entries table (ALLOWLIST_TABLE, default "allowlist"). */
  table: string;
  /** Audit table (ALLOWLIST_AUDIT_TABLE, default "allowlistaudit"). */
  auditTable: string;
  /** Longest lifetime of a non-permanent entry (ALLOWLIST_MAX_LIFETIME_DAYS, default 90). */
  maxLifetimeDays: number;
  /**
   * Name of a local development principal with read and write roles, used only when a request
   * has no x-ms-client-principal header (ALLOWLIST_DEV_PRINCIPAL; unset = never).
   */
  devPrincipal: string | null;
}

export const ALLOWLIST_SETTING_NAMES = {
  table: 'ALLOWLIST_TABLE',
  auditTable: 'ALLOWLIST_AUDIT_TABLE',
  maxLifetimeDays: 'ALLOWLIST_MAX_LIFETIME_DAYS',
  devPrincipal: 'ALLOWLIST_DEV_PRINCIPAL',
  connection: ['STORAGE_CONNECTION', 'AzureWebJobsStorage'],
} as const;

const TABLE_NAME = /^[A-Za-z][A-Za-z0-9]{2,62}$/;

export class AllowlistSettingsError extends Error {
  override readonly name = 'AllowlistSettingsError';
}

export function allowlistSettingsFromEnv(env: Readonly<Record<string, string | undefined>>): AllowlistSettings {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v ? v : undefined;
  };
  const table = text(ALLOWLIST_SETTING_NAMES.table) ?? 'allowlist';
  const auditTable = text(ALLOWLIST_SETTING_NAMES.auditTable) ?? 'allowlistaudit';
  for (const [name, value] of [
    [ALLOWLIST_SETTING_NAMES.table, table],
    [ALLOWLIST_SETTING_NAMES.auditTable, auditTable],
  ] as const) {
    if (!TABLE_NAME.test(value)) problems.push(`${name}="${value}" is not a valid table name (3-63 letters/digits, starting with a letter)`);
  }
  if (table.toLowerCase() === auditTable.toLowerCase()) problems.push('the entries and audit tables must differ');
  const rawDays = text(ALLOWLIST_SETTING_NAMES.maxLifetimeDays);
  let maxLifetimeDays = DEFAULT_MAX_LIFETIME_DAYS;
  if (rawDays !== undefined) {
    const days = Number(rawDays);
    if (!Number.isInteger(days) || days < 1 || days > 3650) {
      problems.push(`${ALLOWLIST_SETTING_NAMES.maxLifetimeDays}="${rawDays}" must be a whole number of days from 1 to 3650`);
    } else {
      maxLifetimeDays = days;
    }
  }
  if (problems.length > 0) throw new AllowlistSettingsError(`invalid allowlist settings: ${problems.join('; ')}`);
  return {
    connectionString: ALLOWLIST_SETTING_NAMES.connection.map(text).find((v) => v !== undefined),
    table,
    auditTable,
    maxLifetimeDays,
    devPrincipal: text(ALLOWLIST_SETTING_NAMES.devPrincipal) ?? null,
  };
}

/**
 * The allowlist's settings, taken from the central settings (shared/config/settings.ts reads and
 * validates the environment once; this module only picks the allowlist's part).
 */
import type { Settings } from '../config/settings';

export interface AllowlistSettings {
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

export function allowlistSettingsOf(settings: Settings): AllowlistSettings {
  return {
    table: settings.tables.allowlist,
    auditTable: settings.tables.allowlistAudit,
    maxLifetimeDays: settings.allowlist.maxLifetimeDays,
    devPrincipal: settings.allowlist.devPrincipal,
  };
}

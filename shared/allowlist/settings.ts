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
  /**
   * Same-origin path of the sign-in endpoint the page redirects a browser without a session to
   * (ALLOWLIST_SIGN_IN_PATH: App Service authentication's /.auth/login/aad); null = answer 401.
   */
  signInPath: string | null;
  /** Recent-findings table (RECENT_FINDINGS_TABLE, default "recentfindings"). */
  recentFindingsTable: string;
  /** Days of stored findings a breadth estimate and the page's preview look at (ALLOWLIST_PREVIEW_LOOKBACK_DAYS, 30). */
  previewLookbackDays: number;
  /** An entry hiding more than this share of them needs an explicit confirmation (ALLOWLIST_MAX_SHARE_PERCENT, 5). */
  maxSharePercent: number;
}

export function allowlistSettingsOf(settings: Settings): AllowlistSettings {
  return {
    table: settings.tables.allowlist,
    auditTable: settings.tables.allowlistAudit,
    maxLifetimeDays: settings.allowlist.maxLifetimeDays,
    devPrincipal: settings.allowlist.devPrincipal,
    signInPath: settings.allowlist.signInPath,
    recentFindingsTable: settings.tables.recentFindings,
    previewLookbackDays: settings.allowlist.previewLookbackDays,
    maxSharePercent: settings.allowlist.maxSharePercent,
  };
}

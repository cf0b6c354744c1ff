/**
 * How long the growing tables keep their rows (RETENTION_* settings), and the rules a setting must
 * follow: audit rows are kept longest, and incidents outlive a backfill. Pure: the config module
 * validates with it, shared/retention/purge.ts applies it.
 */

export interface RetentionSettings {
  incidentDays: number;
  recentStepDays: number;
  runDays: number;
  deliveryDays: number;
  auditDays: number;
}

export const DEFAULT_RETENTION: RetentionSettings = { incidentDays: 90, recentStepDays: 7, runDays: 30, deliveryDays: 30, auditDays: 400 };

/**
 * The shortest incident retention that keeps a backfill from re-announcing a purged incident:
 * Defender keeps 30 days of telemetry, plus a grouping window.
 */
export const MIN_INCIDENT_RETENTION_DAYS = 35;

/** Problems with a set of retention settings, naming the setting. */
export function retentionProblems(settings: RetentionSettings): string[] {
  const problems: string[] = [];
  if (settings.incidentDays < MIN_INCIDENT_RETENTION_DAYS) {
    problems.push(`RETENTION_INCIDENT_DAYS must be at least ${MIN_INCIDENT_RETENTION_DAYS} (a backfill reaches 30 days back)`);
  }
  const longest = Math.max(settings.incidentDays, settings.recentStepDays, settings.runDays, settings.deliveryDays);
  if (settings.auditDays < longest) problems.push(`RETENTION_AUDIT_DAYS must be the longest retention (at least ${longest} days)`);
  return problems;
}

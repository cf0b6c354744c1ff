/**
 * The recent-findings table: every finding a hunt cycle saw, suppressed or not, kept for a
 * look-back of days so an allowlist entry can be judged against what it would have hidden (its
 * breadth, the page's preview) and an entry's page can list what it suppressed recently.
 *
 * Layout: PartitionKey = the finding's UTC day (`yyyy-mm-dd`), RowKey = escaped `tenant|findingId`.
 * A look-back is one range query over day partitions, and a purge deletes whole old days. A row
 * holds the finding as bounded JSON (shared/incidents/bound.ts, `raw` dropped first), the entry
 * that suppressed it, and the incident it went into (id, severity, chain), so a preview can say
 * whether an entry would have hidden a HIGH incident or a chain. Re-seen findings (overlapping
 * windows) replace their row: the last word on a finding wins.
 */
import type { TableClient, TableEntityResult, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { Finding, Severity } from '../model/finding';
import { SEVERITIES } from '../model/finding';
import { boundedFindingJson } from '../incidents/bound';
import { submitInBatches } from '../incidents/tables';
import { compositeKey } from '../storage/keys';
import type { RecentFinding } from './breadth';

/** Bound of a stored finding's JSON: plenty for the facts a condition reads. */
const FINDING_JSON_CHARS = 12_000;
const DAY_MS = 86_400_000;

export interface RecordedFinding {
  finding: Finding;
  incident: RecentFinding['incident'];
}

export interface ListRecentOptions {
  since: Date;
  until: Date;
  /** Only this tenant's findings; all tenants when absent. */
  tenantId?: string | null;
  /** Only findings suppressed by this entry. */
  suppressedBy?: string;
  /** Only findings that went into this incident. */
  incidentId?: string;
  /** Read at most this many rows (newest days first); `truncated` says when more were there. */
  limit?: number;
}

function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

function parseRow(row: TableEntityResult<Record<string, unknown>>): RecentFinding | null {
  try {
    const finding = JSON.parse(typeof row.finding === 'string' ? row.finding : '') as Finding;
    if (typeof finding !== 'object' || finding === null || typeof finding.id !== 'string') return null;
    const severity = row.incidentSeverity;
    const incidentId = typeof row.incidentId === 'string' && row.incidentId !== '' ? row.incidentId : null;
    return {
      finding: { ...finding, suppressedBy: typeof row.suppressedBy === 'string' && row.suppressedBy !== '' ? row.suppressedBy : null },
      tenantId: typeof row.tenantId === 'string' ? row.tenantId : '',
      incident: incidentId
        ? { id: incidentId, severity: SEVERITIES.includes(severity as Severity) ? (severity as Severity) : 'informational', chain: row.chain === true }
        : null,
    };
  } catch {
    // A row that does not parse is skipped: the preview is an estimate, never a reason to fail.
    return null;
  }
}

/** Findings remembered as written, per store instance (a warm function instance re-sees overlap). */
const MAX_REMEMBERED = 50_000;

export class RecentFindingsStore {
  private ready: Promise<void> | undefined;
  /**
   * Row key → what was last written for it. An overlapping window re-sees the same findings every
   * cycle; rewriting unchanged rows would cost a transaction per hundred of them each time.
   */
  private readonly written = new Map<string, string>();

  constructor(private readonly table: TableClient) {}

  ensure(): Promise<void> {
    this.ready ??= this.table.createTable().then(
      () => undefined,
      (error: unknown) => {
        this.ready = undefined;
        throw error;
      },
    );
    return this.ready;
  }

  /** Upserts one row per finding (the newest call wins for a finding seen twice). */
  async record(tenantId: string, items: readonly RecordedFinding[], now: Date = new Date()): Promise<void> {
    if (items.length === 0) return;
    await this.ensure();
    const byKey = new Map<string, TransactionAction>();
    const signatures = new Map<string, string>();
    for (const { finding, incident } of items) {
      const time = Date.parse(finding.timestamp);
      const partitionKey = dayOf(Number.isNaN(time) ? now.getTime() : time);
      const rowKey = compositeKey(tenantId, finding.id);
      const key = `${partitionKey}/${rowKey}`;
      const signature = `${finding.suppressedBy ?? ''}|${incident?.id ?? ''}|${incident?.severity ?? ''}|${incident?.chain === true}`;
      if (this.written.get(key) === signature) continue;
      signatures.set(key, signature);
      byKey.set(key, [
        'upsert',
        {
          partitionKey,
          rowKey,
          tenantId,
          ruleId: finding.ruleId,
          timestamp: finding.timestamp,
          suppressedBy: finding.suppressedBy ?? '',
          incidentId: incident?.id ?? '',
          incidentSeverity: incident?.severity ?? '',
          chain: incident?.chain ?? false,
          finding: boundedFindingJson({ ...finding, raw: {} }, FINDING_JSON_CHARS),
        },
        'Replace',
      ]);
    }
    if (byKey.size === 0) return;
    await submitInBatches(this.table, [...byKey.values()]);
    if (this.written.size + signatures.size > MAX_REMEMBERED) this.written.clear();
    for (const [key, signature] of signatures) this.written.set(key, signature);
  }

  /** Findings whose day lies in [since, until], newest day first. */
  async list(options: ListRecentOptions): Promise<{ findings: RecentFinding[]; truncated: boolean }> {
    await this.ensure();
    const limit = options.limit ?? 20_000;
    const from = dayOf(options.since.getTime());
    const to = dayOf(options.until.getTime());
    let filter = odata`PartitionKey ge ${from} and PartitionKey le ${to}`;
    if (options.tenantId) filter += ` and ${odata`tenantId eq ${options.tenantId}`}`;
    if (options.suppressedBy) filter += ` and ${odata`suppressedBy eq ${options.suppressedBy}`}`;
    if (options.incidentId) filter += ` and ${odata`incidentId eq ${options.incidentId}`}`;
    const findings: RecentFinding[] = [];
    const since = options.since.getTime();
    const until = options.until.getTime();
    for await (const row of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const parsed = parseRow(row);
      if (!parsed) continue;
      const time = Date.parse(parsed.finding.timestamp);
      if (!Number.isNaN(time) && (time < since || time > until)) continue;
      if (findings.length >= limit) return { findings, truncated: true };
      findings.push(parsed);
    }
    return { findings, truncated: false };
  }

  /** Deletes every day before the one of `cutoff`; returns how many rows went. */
  async purgeBefore(cutoff: Date): Promise<number> {
    await this.ensure();
    const day = dayOf(cutoff.getTime());
    const actions: TransactionAction[] = [];
    for await (const row of this.table.listEntities<Record<string, unknown>>({
      queryOptions: { filter: odata`PartitionKey lt ${day}`, select: ['PartitionKey', 'RowKey'] },
    })) {
      if (row.partitionKey && row.rowKey) actions.push(['delete', { partitionKey: row.partitionKey, rowKey: row.rowKey }]);
    }
    await submitInBatches(this.table, actions);
    return actions.length;
  }
}

/** [now - days, now]. */
export function lookback(now: Date, days: number): { since: Date; until: Date } {
  return { since: new Date(now.getTime() - days * DAY_MS), until: now };
}

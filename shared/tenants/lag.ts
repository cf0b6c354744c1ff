/**
 * One line of the per-tenant lag table (`codesign-hunt status`): how far behind the tenant's
 * oldest rule checkpoint is, when a job last succeeded, what last went wrong, and where its
 * Graph call budget stands. Pure, so the CLI and tests share it.
 */
import type { CheckpointState } from '../hunt/checkpointStore';
import { callsInLastMinute, type QuotaState } from './quota';
import type { TenantJobStatus } from './status';
import type { Tenant } from './tenant';

export type TenantState = 'active' | 'paused' | 'backoff' | 'unhealthy';

export interface LagRow {
  tenant: string;
  state: TenantState;
  /** The oldest checkpoint among the tenant's rules; null when a rule was never hunted. */
  checkpoint: string | null;
  /** now - that checkpoint; null when a rule was never hunted. */
  lagMs: number | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  /** Rules whose health state is unhealthy, with why ('failures', 'lag'). */
  unhealthy: string[];
  quota: { callsLastMinute: number; limit: number; heldUntil: string | null };
  backoffUntil: string | null;
}

export function lagRowOf(input: {
  tenant: Tenant;
  checkpoints: readonly CheckpointState[];
  status: TenantJobStatus | null;
  quota: QuotaState;
  limit: number;
  now: Date;
}): LagRow {
  const { tenant, checkpoints, status, quota, now } = input;
  const never = checkpoints.some((c) => c.checkpoint === null) || checkpoints.length === 0;
  const oldest = never ? null : checkpoints.reduce<Date | null>((min, c) => (c.checkpoint && (!min || c.checkpoint < min) ? c.checkpoint : min), null);
  const unhealthy = checkpoints.filter((c) => c.unhealthy).map((c) => `${c.ruleId}:${c.unhealthy}`);
  const inBackoff = !!status?.backoffUntil && Date.parse(status.backoffUntil) > now.getTime();
  const state: TenantState = tenant.paused ? 'paused' : inBackoff ? 'backoff' : unhealthy.length > 0 ? 'unhealthy' : 'active';
  return {
    tenant: tenant.key,
    state,
    checkpoint: oldest?.toISOString() ?? null,
    lagMs: oldest ? now.getTime() - oldest.getTime() : null,
    lastSuccessAt: status?.lastSuccessAt ?? null,
    lastError: tenant.paused ? `paused: ${tenant.paused.reason}` : (status?.lastError ?? null),
    unhealthy,
    quota: {
      callsLastMinute: callsInLastMinute(quota, now.getTime()),
      limit: input.limit,
      heldUntil: quota.blockedUntil !== null && quota.blockedUntil > now.getTime() ? new Date(quota.blockedUntil).toISOString() : null,
    },
    backoffUntil: inBackoff ? (status?.backoffUntil ?? null) : null,
  };
}

function minutes(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3_600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The table as text, worst lag first (never hunted counts as worst). */
export function formatLagTable(rows: readonly LagRow[], now: Date): string {
  const sorted = [...rows].sort((a, b) => (b.lagMs ?? Infinity) - (a.lagMs ?? Infinity) || a.tenant.localeCompare(b.tenant));
  const header = ['tenant', 'state', 'last success', 'lag', 'last error', 'quota'];
  const cells = sorted.map((row) => [
    row.tenant,
    row.state === 'backoff' && row.backoffUntil ? `backoff until ${row.backoffUntil}` : row.state,
    row.lastSuccessAt ? `${row.lastSuccessAt} (${minutes(now.getTime() - Date.parse(row.lastSuccessAt))} ago)` : 'never',
    row.lagMs === null ? 'never hunted' : minutes(row.lagMs),
    (row.lastError ?? '-').replace(/\s+/g, ' ').slice(0, 80),
    `${row.quota.callsLastMinute}/${row.quota.limit} per min${row.quota.heldUntil ? `, held until ${row.quota.heldUntil}` : ''}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: readonly string[]): string => c.map((x, i) => x.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}

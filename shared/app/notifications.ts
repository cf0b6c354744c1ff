/**
 * The notification path as seen from the hunt and the allowlist: announcements become one queue
 * message per subscribed channel (shared/notify routes them), enqueued durably before the caller
 * moves on. Health alerts and allowlist changes take the same path, and are also logged with a
 * marker so that a deployment without a channel for them still leaves a trace.
 */
import { createHash } from 'node:crypto';
import { entryDiff } from '../allowlist/diff';
import { CONDITION_FIELDS, scopeKey } from '../allowlist/entry';
import type { AllowlistChange, AllowlistChangeNotifier } from '../allowlist/notifier';
import type { IgnoredEntry } from '../allowlist/store';
import type { HealthEvent, HealthStage } from '../hunt/cycle';
import type { Channel } from '../notify/channels';
import { routeAnnouncements } from '../notify/channels';
import type { AllowlistChangePayload, Announcement, HealthPayload } from '../notify/message';
import type { DeliveryQueuePort } from '../notify/queue';
import type { Logger } from './logger';

export const HEALTH_ALERT_MARKER = 'HUNT_HEALTH_ALERT';

export interface NotificationPath {
  channels: readonly Channel[];
  queue: Pick<DeliveryQueuePort, 'enqueue'>;
  digestThreshold: number;
  now: () => Date;
}

/** Routes and enqueues; returns how many queue messages were written. */
export async function enqueueAnnouncements(path: NotificationPath, announcements: readonly Announcement[]): Promise<number> {
  if (announcements.length === 0) return 0;
  const messages = routeAnnouncements(announcements, path.channels, { digestThreshold: path.digestThreshold });
  if (messages.length > 0) await path.queue.enqueue(messages);
  return messages.length;
}

function healthPayload(event: HealthEvent): HealthPayload {
  const code = event.kind === 'unhealthy' ? `hunt-unhealthy:${event.reasons.join('+')}` : `hunt-${event.kind}`;
  // One alert per bout of ill health: the key includes when the bout started.
  const key = createHash('sha256').update(`${event.tenantId}|${event.ruleId}|${code}|${event.since}`).digest('hex').slice(0, 32);
  // The tenant is named: a provider's SOC channel hears the health of every customer tenant.
  const summary =
    event.kind === 'unhealthy'
      ? `Hunting ${event.ruleId} is unhealthy (${event.reasons.join(', ')}) in tenant ${event.tenantId}`
      : event.kind === 'recovered'
        ? `Hunting ${event.ruleId} recovered in tenant ${event.tenantId}`
        : event.kind === 'rows-rejected'
          ? `Hunting ${event.ruleId}: ${event.count} result row${event.count === 1 ? '' : 's'} could not be read and ${event.count === 1 ? 'was' : 'were'} skipped`
          : `Hunting ${event.ruleId}: telemetry of tenant ${event.tenantId} older than Defender's retention was never hunted`;
  return {
    key,
    code,
    level: event.kind === 'recovered' ? 'warning' : 'error',
    summary,
    channelId: null,
    notificationId: null,
    at: new Date().toISOString(),
    details: { tenantId: event.tenantId, ruleId: event.ruleId, detail: event.detail, since: event.since },
  };
}

export function createHealthStage(path: NotificationPath, log: Logger): HealthStage {
  return {
    async announce(event) {
      const payload = { ...healthPayload(event), at: path.now().toISOString() };
      const fields = { marker: HEALTH_ALERT_MARKER, ...payload.details, code: payload.code };
      if (event.kind === 'recovered') log.warn(`${HEALTH_ALERT_MARKER}: ${payload.summary}`, fields);
      else log.error(`${HEALTH_ALERT_MARKER}: ${payload.summary}`, fields);
      await enqueueAnnouncements(path, [{ kind: 'health', health: payload }]);
    },
  };
}

export const IGNORED_ENTRIES_CODE = 'allowlist-entries-ignored';

/**
 * The health alert for allowlist entries the hunt ignores (written around the audited path). One
 * alert per distinct set of entries and problems: the key, hence the notification id, repeats while
 * nothing changes, and the delivery ledger sends it once.
 */
export function ignoredEntriesAlert(tenantId: string, ignored: readonly IgnoredEntry[], now: Date): HealthPayload {
  const sorted = [...ignored].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const described = sorted.map((i) => `${i.id} (${i.problems.join(', ')})`);
  const key = createHash('sha256').update(`${tenantId}|${IGNORED_ENTRIES_CODE}|${described.join('|')}`).digest('hex').slice(0, 32);
  return {
    key,
    code: IGNORED_ENTRIES_CODE,
    level: 'error',
    summary: `${sorted.length} allowlist entr${sorted.length === 1 ? 'y is' : 'ies are'} ignored because they were not written through the audited path: ${described.slice(0, 10).join('; ')}${sorted.length > 10 ? '; …' : ''}`,
    channelId: null,
    notificationId: null,
    at: now.toISOString(),
    details: { tenantId, entries: sorted.map((i) => i.id).join(', ').slice(0, 1000), count: sorted.length },
  };
}

export function changePayload(change: AllowlistChange): AllowlistChangePayload {
  const entry = change.after ?? change.before;
  const action = change.action === 'create' ? 'added' : change.action === 'update' ? 'updated' : 'removed';
  const conditions: Record<string, string> = {};
  for (const field of CONDITION_FIELDS) {
    const value = entry?.conditions[field];
    if (value !== undefined) conditions[field] = value;
  }
  const override = change.override ?? null;
  return {
    changeId: createHash('sha256').update(`${change.entryId}|${change.action}|${change.at}`).digest('hex').slice(0, 32),
    action,
    entryId: change.entryId,
    actor: change.actor,
    reason: change.reason,
    signer: { subject: entry?.conditions.signerSubject ?? null, thumbprint: entry?.conditions.thumbprint ?? null },
    expiresAt: entry?.expiresAt ?? null,
    at: change.at,
    conditions,
    enabled: entry?.enabled ?? false,
    permanent: entry?.permanent ?? false,
    scope: entry ? scopeKey(entry.scope) : 'global',
    changes: entryDiff(change.before, change.after),
    override: override ? { confirmed: [...override.confirmed], matched: override.matched, total: override.total, chains: override.chains, high: override.high } : null,
  };
}

/** Allowlist changes as queue messages for the channels that subscribe to them. */
export function createQueueChangeNotifier(path: NotificationPath): AllowlistChangeNotifier {
  return {
    async announce(change) {
      await enqueueAnnouncements(path, [{ kind: 'allowlist-change', change: changePayload(change) }]);
    },
  };
}

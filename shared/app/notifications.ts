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
import { changeAudience, changeTenants, type MissedTenant, type RegistryChannels } from '../tenants/changeAudience';
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

export const CHANGE_UNANNOUNCED_CODE = 'allowlist-change-tenant-unannounced';

/**
 * The health alert for a change a tenant's channels did not hear (the registry could not be
 * read, or names a channel that is not defined). One per change and tenants missed.
 */
export function changeUnannouncedAlert(payload: AllowlistChangePayload, missed: readonly MissedTenant[], now: Date): HealthPayload {
  const tenants = missed.map((m) => m.tenantId);
  const key = createHash('sha256').update(`${payload.changeId}|${CHANGE_UNANNOUNCED_CODE}|${tenants.join('|')}`).digest('hex').slice(0, 32);
  const why = missed.map((m) => `tenant ${m.tenantId}: ${m.problem}`).join('; ');
  return {
    key,
    code: CHANGE_UNANNOUNCED_CODE,
    level: 'error',
    summary: `Allowlist entry ${payload.entryId} was ${payload.action} by ${payload.actor}, but the channels of tenant ${tenants.join(', ')} were not told (${why})`.slice(0, 1000),
    channelId: null,
    notificationId: null,
    at: now.toISOString(),
    details: { tenantId: tenants.join(', '), entryId: payload.entryId, changeId: payload.changeId, problem: why.slice(0, 1000) },
  };
}

/**
 * Allowlist changes for a deployment that may hunt many tenants: each change goes to the channels
 * of the tenants its entry is scoped to (before and after) as well as to the deployment's, and
 * never to another tenant's (shared/tenants/changeAudience.ts). The registry is read for every
 * change; if it cannot be read the change (already stored and audited) still goes to the
 * deployment's channels as last known, and a health alert names the tenants whose channels missed it.
 */
export function createTenantChangeNotifier(
  path: NotificationPath & { registry: () => Promise<RegistryChannels>; log: Logger },
): AllowlistChangeNotifier {
  let lastKnown: RegistryChannels | null = null;
  return {
    async announce(change) {
      const payload = changePayload(change);
      let registry: RegistryChannels | null;
      let problem: string | null = null;
      try {
        registry = lastKnown = await path.registry();
      } catch (error) {
        registry = lastKnown;
        problem = `the tenant registry cannot be read: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`;
      }
      const audience = changeAudience(changeTenants([change.before?.scope, change.after?.scope]), path.channels, registry, problem);
      await enqueueAnnouncements({ ...path, channels: audience.channels }, [{ kind: 'allowlist-change', change: payload }]);
      if (audience.missed.length === 0) return;
      const alert = changeUnannouncedAlert(payload, audience.missed, path.now());
      path.log.error(`${HEALTH_ALERT_MARKER}: ${alert.summary}`, { marker: HEALTH_ALERT_MARKER, ...alert.details, code: alert.code });
      await enqueueAnnouncements({ ...path, channels: audience.deployment }, [{ kind: 'health', health: alert }]);
    },
  };
}

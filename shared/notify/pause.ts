/**
 * Pausing a channel that keeps failing, and what waits meanwhile. A receiver that is down for a
 * day should cost a probe per step of the retry schedule, not every message's attempts, and
 * should get what waited as a digest when it is back, not a flood.
 *
 * The state lives on the channel's `~channel` ledger row (ETag-guarded): consecutive failures, and
 * while paused, until when and which notification holds the one probe. The policy is pure
 * (`decideChannelFailure` in retry.ts); this module applies it:
 * - `channelGate`: before a post. Paused and not due: hold the message. Due: one notification takes
 *   the probe and posts; others keep waiting.
 * - `recordFailure` / `recordSuccess`: after a post. The third failure in a row pauses the channel;
 *   a success clears the count and, if the channel was paused, releases what waited.
 * - `planRelease` (pure): what waited, as messages to enqueue: for Teams (and the demo folder) one
 *   digest per 50 incidents at their latest revisions; for webhooks each incident's latest
 *   revision, as it was (same id, same body). Health alerts and allowlist changes go as they were.
 * - When the schedule is spent (about 27 hours), what waited goes to the poison queue with one
 *   health alert, and the channel starts afresh.
 */
import type { Channel } from './channels';
import type { ChannelStatus, ClaimToken, DeliveryLedger, DeliveryRecord } from './ledger';
import { freshChannelStatus } from './ledger';
import {
  DIGEST_MAX_ITEMS,
  NOTIFICATION_MESSAGE_VERSION,
  digestItemOf,
  digestNotificationId,
  digestPayloadOf,
  type DigestItem,
  type NotificationMessage,
} from './message';
import { decideChannelFailure, type RetryPolicy } from './retry';

/** What the gate and the recorders need of the deliverer's dependencies. */
export interface PauseDeps {
  ledger: DeliveryLedger;
  random: () => number;
}

export type Gate =
  | { action: 'open' }
  /** The channel is paused and due: this notification is its probe. */
  | { action: 'probe' }
  | { action: 'hold'; until: Date };

const MAX_ROUNDS = 6;

/** Reads, changes and writes the channel's status until the write wins (ETag) or `change` says stop. */
async function updateStatus<T>(
  ledger: DeliveryLedger,
  channelId: string,
  now: Date,
  change: (status: ChannelStatus) => { result: T; next?: ChannelStatus },
): Promise<T> {
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const status = (await ledger.getChannelStatus(channelId)) ?? freshChannelStatus();
    const { result, next } = change(status);
    if (!next) return result;
    if (await ledger.updateChannelStatus(channelId, next, now)) return result;
  }
  throw new Error(`ledger contention on the status of channel ${channelId}`);
}

function isPaused(status: ChannelStatus): status is ChannelStatus & { pausedUntil: string } {
  return status.pausedUntil !== null;
}

/**
 * Before posting `notificationId` to a channel: open when the channel is not paused; hold while
 * it is paused; once the pause is over, exactly one notification (per lease) probes it.
 */
export async function channelGate(
  deps: PauseDeps,
  channelId: string,
  notificationId: string,
  options: { now: Date; leaseMs: number; status?: ChannelStatus | null },
): Promise<Gate> {
  const { now } = options;
  const first = options.status;
  if (first !== undefined && (first === null || !isPaused(first))) return { action: 'open' };
  return updateStatus<Gate>(deps.ledger, channelId, now, (status) => {
    if (!isPaused(status)) return { result: { action: 'open' } };
    const until = Date.parse(status.pausedUntil);
    if (now.getTime() < until) return { result: { action: 'hold', until: new Date(until) } };
    const probeUntil = status.probeUntil ? Date.parse(status.probeUntil) : 0;
    if (status.probeHolder && status.probeHolder !== notificationId && probeUntil > now.getTime()) {
      return { result: { action: 'hold', until: new Date(probeUntil) } };
    }
    const next = { ...status, probeHolder: notificationId, probeUntil: new Date(now.getTime() + options.leaseMs).toISOString() };
    return { result: { action: 'probe' }, next };
  });
}

export type FailureOutcome =
  | { action: 'retry-message'; failures: number }
  | { action: 'hold'; until: Date; failures: number; newlyPaused: boolean }
  | { action: 'give-up'; failures: number };

/** After a retryable failure of a post to the channel: count it, and pause the channel if it keeps failing. */
export async function recordFailure(deps: PauseDeps, channelId: string, policy: RetryPolicy, now: Date): Promise<FailureOutcome> {
  return updateStatus<FailureOutcome>(deps.ledger, channelId, now, (status) => {
    const failures = status.failures + 1;
    const decision = decideChannelFailure(failures, policy, deps.random);
    if (decision.action === 'retry-message') return { result: { action: 'retry-message', failures }, next: { ...status, failures } };
    if (decision.action === 'give-up') {
      const next = { ...status, failures: 0, pausedSince: null, pausedUntil: null, probeHolder: null, probeUntil: null };
      return { result: { action: 'give-up', failures }, next };
    }
    const until = new Date(now.getTime() + decision.delaySeconds * 1000);
    const next: ChannelStatus = {
      ...status,
      failures,
      pausedSince: status.pausedSince ?? now.toISOString(),
      pausedUntil: until.toISOString(),
      probeHolder: null,
      probeUntil: null,
    };
    return { result: { action: 'hold', until, failures, newlyPaused: !isPaused(status) }, next };
  });
}

/** After a successful post: the failure count starts again; returns whether the channel was paused. */
export async function recordSuccess(deps: PauseDeps, channelId: string, now: Date, status?: ChannelStatus | null): Promise<{ wasPaused: boolean }> {
  // The common case (nothing failed before) costs no write.
  if (status !== undefined && (status === null || (status.failures === 0 && !isPaused(status)))) return { wasPaused: false };
  return updateStatus(deps.ledger, channelId, now, (current) => {
    if (current.failures === 0 && !isPaused(current)) return { result: { wasPaused: false } };
    const next = { ...current, failures: 0, pausedSince: null, pausedUntil: null, probeHolder: null, probeUntil: null };
    return { result: { wasPaused: isPaused(current) }, next };
  });
}

/** Keeps the message in the ledger until its channel recovers; the queue message is acknowledged. */
export async function holdMessage(ledger: DeliveryLedger, token: ClaimToken, message: NotificationMessage, now: Date, reason: string): Promise<void> {
  await ledger.settle(token, 'held', { now, reason, message });
}

// ---------------------------------------------------------------------------------------------
// Release

export interface ReleasePlan {
  /** To enqueue, in this order (the first one is what a probe posts). */
  messages: NotificationMessage[];
  /** What becomes of each held row once `messages` are enqueued. */
  rows: Array<{ notificationId: string; state: 'retrying' | 'superseded'; reason: string }>;
}

function latest<T extends { revision: number }>(map: Map<string, T>, key: string, candidate: T): void {
  const current = map.get(key);
  if (!current || candidate.revision > current.revision) map.set(key, candidate);
}

function newestCreatedAt(messages: readonly NotificationMessage[]): string {
  return messages.map((m) => m.createdAt).reduce((a, b) => (a > b ? a : b), '');
}

/**
 * What waited for a channel, as messages to send now (pure). Every incident that waited is shown at
 * its latest revision, once; the ids and bodies depend only on what waited, so planning the same
 * held rows again gives the same messages.
 */
export function planRelease(held: readonly NotificationMessage[], channel: Pick<Channel, 'id' | 'type'>): ReleasePlan {
  const sorted = [...held].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.notificationId.localeCompare(b.notificationId));
  const other = sorted.filter((m) => m.kind !== 'incident' && m.kind !== 'digest');
  const plan: ReleasePlan = { messages: [], rows: [] };
  const keep = (m: NotificationMessage): void => {
    plan.messages.push({ ...m, attempt: 1 });
    plan.rows.push({ notificationId: m.notificationId, state: 'retrying', reason: 'released' });
  };

  if (channel.type === 'webhook') {
    // Receivers need each incident whole: its latest revision, as it was signed.
    const byIncident = new Map<string, { revision: number; message: NotificationMessage }>();
    for (const m of sorted) if (m.kind === 'incident') latest(byIncident, m.payload.incident.id, { revision: m.payload.incident.revision, message: m });
    const chosen = new Set([...byIncident.values()].map((c) => c.message.notificationId));
    for (const m of sorted) {
      if (m.kind === 'incident' && !chosen.has(m.notificationId)) {
        const newer = byIncident.get(m.payload.incident.id)?.revision ?? 0;
        plan.rows.push({ notificationId: m.notificationId, state: 'superseded', reason: `superseded-while-held-by-revision-${newer}` });
      } else if (m.kind === 'incident' || m.kind === 'digest') {
        keep(m);
      }
    }
    for (const m of other) keep(m);
    return plan;
  }

  const items = new Map<string, DigestItem>();
  for (const m of sorted) {
    if (m.kind === 'incident') latest(items, m.payload.incident.id, digestItemOf(m.payload.event, m.payload.incident));
    if (m.kind === 'digest') for (const item of m.payload.items) latest(items, item.incidentId, item);
  }
  const incidentMessages = sorted.filter((m) => m.kind === 'incident' || m.kind === 'digest');
  const only = incidentMessages[0];
  if (items.size === 1 && incidentMessages.length === 1 && only) {
    keep(only);
  } else if (items.size > 0) {
    const all = [...items.values()].sort((a, b) => a.incidentId.localeCompare(b.incidentId));
    const createdAt = newestCreatedAt(incidentMessages);
    for (let i = 0; i < all.length; i += DIGEST_MAX_ITEMS) {
      const chunk = all.slice(i, i + DIGEST_MAX_ITEMS);
      const notificationId = digestNotificationId(chunk.map((c) => ({ incidentId: c.incidentId, event: c.event, revision: c.revision })));
      plan.messages.push({
        version: NOTIFICATION_MESSAGE_VERSION,
        kind: 'digest',
        channelId: channel.id,
        notificationId,
        attempt: 1,
        createdAt,
        payload: digestPayloadOf(chunk),
      });
    }
    const digestIds = new Set(plan.messages.map((m) => m.notificationId));
    for (const m of incidentMessages) {
      // A held digest that is itself one of the release digests (a probe that failed) is sent again.
      if (digestIds.has(m.notificationId)) plan.rows.push({ notificationId: m.notificationId, state: 'retrying', reason: 'released' });
      else plan.rows.push({ notificationId: m.notificationId, state: 'superseded', reason: 'released-in-digest' });
    }
  }
  for (const m of other) keep(m);
  return plan;
}

/** Held rows of a channel with their messages (a row whose message cannot be read is left alone). */
export async function heldOf(ledger: DeliveryLedger, channelId: string): Promise<Array<DeliveryRecord & { message: NotificationMessage }>> {
  const rows = await ledger.list({ state: 'held', channelId, limit: 5000 });
  return rows.filter((r): r is DeliveryRecord & { message: NotificationMessage } => r.message !== null);
}

/** Settles a held row read by `heldOf` (ETag of that read; a row that moved meanwhile is left alone). */
export async function settleHeld(
  ledger: DeliveryLedger,
  record: DeliveryRecord,
  state: 'retrying' | 'superseded' | 'failed',
  info: { now: Date; reason: string },
): Promise<boolean> {
  const token: ClaimToken = { channelId: record.channelId, notificationId: record.notificationId, etag: record.etag, record };
  return ledger.settle(token, state, { now: info.now, reason: info.reason, message: record.message ?? undefined });
}

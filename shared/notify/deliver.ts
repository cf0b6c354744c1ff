/**
 * Delivering one notification message to its channel: claim it in the ledger, post it, record
 * the result, and turn failures into a delayed re-enqueue, the poison queue or a parked row plus
 * a health alert. Used by the queue-triggered function and by the in-process drain.
 *
 * Guarantees (the queue hands a message over at least once, and a worker can die anywhere):
 * - a notification whose ledger row is `delivered` is never posted again;
 * - two workers never post the same notification at once (ETag-guarded claim with a lease);
 * - nothing is dropped silently: every message ends `delivered`, in the queue again, or in the
 *   ledger as `failed`/`parked`/`disabled-channel` (replayable) with a health alert;
 * - revisions of an incident reach a channel in order: a revision older than one the channel
 *   already received is not posted (ledger `superseded`, saying which revision it lost to), and
 *   while one revision of an incident is being posted to a channel, another waits for it;
 * - a channel that keeps failing is paused rather than spending every message's attempts: its
 *   messages wait in the ledger (`held`), one probe goes out per step of the retry schedule (about
 *   27 hours in all), and when it answers again what waited is released, as a digest for Teams
 *   (shared/notify/pause.ts, recovery.ts).
 *
 * The crash decision. A row left in `sending` with an expired lease means a worker claimed it
 * and then died or failed to record the result: whether the POST reached the receiver is
 * unknown. Teams Workflows have no idempotency key, so reposting could show the incident twice.
 * We therefore never repost to Teams in that case: the row is parked as `uncertain` and a health
 * alert asks a human to look at the channel and run `deliveries replay <id>` if the card is
 * missing. Nothing is lost (the message is in the ledger) and nothing is posted twice. The same
 * applies to a Teams request that timed out or was reset after sending. Webhooks are reposted
 * with the same webhook-id: at worst a receiver sees that id twice, which Standard Webhooks
 * receivers deduplicate. A failure to record `delivered` after a successful post is rethrown (the
 * worker is then in the same state as after a crash, and the lease settles it).
 */
import type { Clock } from '../clock';
import { raiseHealth, type DeliveryLog, type LogFields } from './alerts';
import { channelFingerprint, channelSecrets, type Channel } from './channels';
import type { ClaimToken, DeliveryLedger, DeliveryState, RevisionToken } from './ledger';
import type { NotificationKind, NotificationMessage } from './message';
import { channelGate, holdMessage, recordFailure, recordSuccess } from './pause';
import { giveUpHeld, releaseHeld } from './recovery';
import type { DeliveryQueuePort } from './queue';
import { decideRetry, defaultRetryPolicy, type RetryPolicy } from './retry';
import type { Sender, SendOutcome } from './send';
import type { StageHook } from '../stages';
import { buildTeamsPayload } from './teamsCard';
import { buildWebhookRequest } from './webhook';
import { writeFolderDelivery } from './localFolderSender';

export type { DeliveryLog, LogFields } from './alerts';

export interface DeliveryDeps {
  channels: readonly Channel[];
  ledger: DeliveryLedger;
  queue: DeliveryQueuePort;
  send: Sender;
  clock: Clock;
  log: DeliveryLog;
  random: () => number;
  retry?: RetryPolicy;
  /** How long a claim blocks other workers; must exceed a post's timeout with margin. */
  leaseMs?: number;
  cardMaxBytes?: number;
  writeFolder?: typeof writeFolderDelivery;
  /** Reached between durable steps (shared/stages.ts): the fault-injection test's kill points. */
  onStage?: StageHook;
}

interface OutcomeBase {
  channelId: string;
  notificationId: string;
  kind: NotificationKind;
  attempt: number;
}

export type DeliveryOutcome = OutcomeBase &
  (
    | { status: 'delivered'; httpStatus: number | null }
    /** The ledger already said delivered: acknowledged without posting. */
    | { status: 'duplicate' }
    /** Failed, parked or disabled earlier: acknowledged; only a replay changes that. */
    | { status: 'settled'; state: DeliveryState }
    | { status: 'requeued'; reason: 'retryable' | 'in-flight'; delaySeconds: number; code: string | null }
    | { status: 'failed'; code: string; httpStatus: number | null }
    /** Not posted: the channel already received revision `deliveredRevision` of the incident. */
    | { status: 'superseded'; deliveredRevision: number }
    /** Not posted: the channel is paused; the message waits in the ledger until it recovers. */
    | { status: 'held'; until: string }
    | { status: 'parked'; reason: 'uncertain' | 'unknown-channel' }
    | { status: 'channel-disabled'; newlyDisabled: boolean }
  );

export const DEFAULT_LEASE_MS = 120_000;

/** Replaces every secret (channel urls, their query strings, webhook secrets) with [redacted]. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  // Longest first, so a url is redacted whole before its query string is.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret && out.includes(secret)) out = out.split(secret).join('[redacted]');
  }
  return out;
}

export function redactingLog(log: DeliveryLog, secrets: readonly string[]): DeliveryLog {
  const clean = (fields?: LogFields): LogFields | undefined => {
    if (!fields) return fields;
    const out: LogFields = {};
    for (const [k, v] of Object.entries(fields)) out[k] = typeof v === 'string' ? redactText(v, secrets) : v;
    return out;
  };
  return {
    info: (m, f) => log.info(redactText(m, secrets), clean(f)),
    warn: (m, f) => log.warn(redactText(m, secrets), clean(f)),
    error: (m, f) => log.error(redactText(m, secrets), clean(f)),
  };
}

function describe(outcome: SendOutcome): string {
  return outcome.kind === 'success' ? `http-${outcome.status}` : outcome.code;
}

async function post(message: NotificationMessage, channel: Channel, deps: DeliveryDeps): Promise<SendOutcome> {
  const now = deps.clock.now();
  if (channel.type === 'folder') {
    try {
      await (deps.writeFolder ?? writeFolderDelivery)(channel, message, now, { cardMaxBytes: deps.cardMaxBytes });
      return { kind: 'success', status: 200 };
    } catch {
      return { kind: 'retryable', status: null, code: 'folder-write-failed', retryAfterSeconds: null, maybeDelivered: false };
    }
  }
  let request: { url: string; body: string; headers: Record<string, string> };
  try {
    if (channel.type === 'teams') {
      const built = buildTeamsPayload(message, { maxBytes: deps.cardMaxBytes });
      request = { url: channel.url, body: JSON.stringify(built.payload), headers: { 'content-type': 'application/json' } };
    } else {
      const webhook = buildWebhookRequest(message, channel.secret, now);
      request = { url: channel.url, body: webhook.body, headers: { ...webhook.headers } };
    }
  } catch {
    return { kind: 'permanent', status: null, code: 'payload-build-failed' };
  }
  try {
    return await deps.send(request);
  } catch {
    // The sender classifies everything itself; an exception here is a bug, and the request may
    // have gone out, so it counts as "maybe delivered".
    return { kind: 'retryable', status: null, code: 'sender-error', retryAfterSeconds: null, maybeDelivered: true };
  }
}

export async function deliverMessage(message: NotificationMessage, deps: DeliveryDeps): Promise<DeliveryOutcome> {
  const log = redactingLog(deps.log, channelSecrets(deps.channels));
  const policy = deps.retry ?? defaultRetryPolicy();
  const now = deps.clock.now();
  const base: OutcomeBase = { channelId: message.channelId, notificationId: message.notificationId, kind: message.kind, attempt: message.attempt };
  const fields: LogFields = { channel: message.channelId, notification: message.notificationId, kind: message.kind, attempt: message.attempt };
  const channel = deps.channels.find((c) => c.id === message.channelId) ?? null;
  const alertsAllowed = message.kind !== 'health'; // a failing health alert does not raise another

  const claim = await deps.ledger.claim(message, {
    now,
    leaseMs: deps.leaseMs ?? DEFAULT_LEASE_MS,
    takeOverExpired: channel !== null && channel.type !== 'teams',
  });

  if (claim.outcome === 'settled') {
    if (claim.record.state === 'delivered') {
      log.info('already delivered; acknowledged without posting', fields);
      return { ...base, status: 'duplicate' };
    }
    log.info(`already ${claim.record.state}; acknowledged (replay to deliver again)`, fields);
    return { ...base, status: 'settled', state: claim.record.state };
  }
  if (claim.outcome === 'in-flight') {
    const delaySeconds = Math.max(1, Math.ceil((claim.leaseUntil.getTime() - now.getTime()) / 1000) + 1);
    await deps.queue.enqueue([message], { delaySeconds });
    log.info('another worker holds this notification; checking again after its lease', { ...fields, delaySeconds });
    return { ...base, status: 'requeued', reason: 'in-flight', delaySeconds, code: null };
  }
  if (claim.outcome === 'expired') {
    if (alertsAllowed) {
      await raiseHealth(deps, log, {
        code: 'delivery-uncertain',
        level: 'error',
        summary:
          'A Teams post was interrupted and may or may not have appeared. It was not posted again, to avoid a duplicate. ' +
          'Check the channel, and if the card is missing run: deliveries replay <notification>.',
        channelId: message.channelId,
        notificationId: message.notificationId,
      });
    }
    await deps.ledger.parkExpired(claim.record, 'uncertain', now);
    log.warn('interrupted delivery parked as uncertain (not reposted)', fields);
    return { ...base, status: 'parked', reason: 'uncertain' };
  }

  const token = claim.token;
  const ctx: DeliveryContext = { message, deps, log, alertsAllowed, base, fields };
  await deps.onStage?.('delivery-claimed');
  if (claim.takeover) log.warn('an earlier attempt ended without a result; posting again with the same webhook-id', fields);

  if (!channel) {
    if (alertsAllowed) {
      await raiseHealth(deps, log, {
        code: 'delivery-unknown-channel',
        level: 'error',
        summary: 'A notification is addressed to a channel that is not in the channels setting. It is parked; restore the channel and replay it.',
        channelId: message.channelId,
        notificationId: message.notificationId,
      });
    }
    await deps.ledger.settle(token, 'parked', { now, reason: 'unknown-channel' });
    return { ...base, status: 'parked', reason: 'unknown-channel' };
  }

  const fingerprint = channelFingerprint(channel);
  const status = await deps.ledger.getChannelStatus(channel.id);
  if (status?.disabled && status.urlFingerprint === fingerprint) {
    await deps.ledger.settle(token, 'disabled-channel', { now, reason: 'channel-disabled' });
    log.warn('channel is disabled (it answered 410 Gone); not posting', fields);
    return { ...base, status: 'channel-disabled', newlyDisabled: false };
  }

  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  const gate = await channelGate(deps, channel.id, message.notificationId, { now, leaseMs, status });
  if (gate.action === 'hold') {
    await holdMessage(deps.ledger, token, message, now, 'channel-paused');
    log.info('channel paused: the notification waits until it recovers', { ...fields, until: gate.until.toISOString() });
    return { ...base, status: 'held', until: gate.until.toISOString() };
  }

  let order: RevisionToken | null = null;
  if (message.kind === 'incident') {
    const ordered = await takeRevisionTurn(ctx, token, channel, now, leaseMs);
    if ('status' in ordered) return ordered;
    order = ordered.order;
  }

  const outcome = await post(message, channel, deps);
  await deps.onStage?.('delivery-posted');
  const code = describe(outcome);
  const done = deps.clock.now();
  // Recorded before the notification's own row: after a crash in between, a redelivery finds the
  // revision posted (and does not post it again) rather than an older revision finding it missing.
  if (order) await deps.ledger.endRevision(order, outcome.kind === 'success', done);
  await deps.onStage?.('revision-recorded');

  switch (outcome.kind) {
    case 'success':
      // If this write fails the error propagates: the queue redelivers, and the lease logic
      // above settles it without a second Teams post.
      if (message.kind === 'digest') {
        // A digest shows each incident at a revision: an older one must not follow it either.
        for (const item of message.payload.items) {
          const shown = { channelId: channel.id, incidentId: item.incidentId, revision: item.revision, notificationId: message.notificationId };
          await deps.ledger.endRevision(shown, true, done);
        }
      }
      await deps.ledger.markDelivered(token, { now: done, httpStatus: outcome.status, message });
      await deps.onStage?.('delivery-recorded');
      log.info('delivered', { ...fields, status: outcome.status });
      if ((await recordSuccess(deps, channel.id, done, gate.action === 'open' ? status : undefined)).wasPaused) {
        await releaseHeld(deps, channel, log, done);
      }
      return { ...base, status: 'delivered', httpStatus: outcome.status };

    case 'gone':
      if (alertsAllowed) {
        await raiseHealth(
          deps,
          log,
          {
            code: 'channel-gone',
            level: 'error',
            summary:
              'The channel answered 410 Gone (the workflow or endpoint was deleted) and is now disabled. ' +
              'Put a new url in the channels setting; notifications held meanwhile can be replayed.',
            channelId: channel.id,
            notificationId: message.notificationId,
          },
          [channel.id],
        );
      }
      await deps.ledger.disableChannel(channel.id, fingerprint, 'http-410', done);
      await deps.ledger.settle(token, 'disabled-channel', { now: done, reason: 'http-410', httpStatus: 410 });
      log.error('channel gone (410); channel disabled', fields);
      return { ...base, status: 'channel-disabled', newlyDisabled: true };

    case 'retryable': {
      if (channel.type === 'teams' && outcome.maybeDelivered) {
        // The request may have been posted (timeout or reset after sending): same as a crash.
        if (alertsAllowed) {
          await raiseHealth(deps, log, {
            code: 'delivery-uncertain',
            level: 'error',
            summary:
              `A Teams post ended without an answer (${code}), so it may or may not have appeared. It was not posted again, to avoid a duplicate. ` +
              'Check the channel, and if the card is missing run: deliveries replay <notification>.',
            channelId: channel.id,
            notificationId: message.notificationId,
          });
        }
        await deps.ledger.settle(token, 'parked', { now: done, reason: `uncertain-${code}`, httpStatus: outcome.status });
        log.warn('Teams post without an answer parked as uncertain (not reposted)', { ...fields, code });
        return { ...base, status: 'parked', reason: 'uncertain' };
      }
      const channelFailure = await recordFailure(deps, channel.id, policy, done);
      if (channelFailure.action === 'hold') {
        await holdMessage(deps.ledger, token, message, done, `channel-paused-${code}`);
        if (channelFailure.newlyPaused && alertsAllowed) {
          await raiseHealth(
            deps,
            log,
            {
              code: 'channel-paused',
              level: 'error',
              summary:
                `The channel failed ${channelFailure.failures} times in a row (${code}) and is paused: notifications for it wait and are ` +
                `delivered when it answers again (tried again at ${channelFailure.until.toISOString()}, then on a schedule over more than a day).`,
              channelId: channel.id,
              notificationId: message.notificationId,
              details: { failures: channelFailure.failures, until: channelFailure.until.toISOString(), reason: code },
            },
            [channel.id],
          );
        }
        log.warn('channel keeps failing: paused, the notification waits', { ...fields, code, until: channelFailure.until.toISOString() });
        return { ...base, status: 'held', until: channelFailure.until.toISOString() };
      }
      if (channelFailure.action === 'give-up') {
        await giveUpHeld(deps, channel, log, done, code);
        return fail(ctx, token, `channel-unreachable-${code}`, outcome.status);
      }
      // The ledger's attempt wins over the message's: a redelivered older copy must not reset the count.
      const attempt = Math.max(message.attempt, token.record.attempt);
      const decision = decideRetry(attempt, policy, deps.random, outcome.retryAfterSeconds);
      if (decision.action === 'retry') {
        const next: NotificationMessage = { ...message, attempt: decision.nextAttempt };
        await deps.ledger.settle(token, 'retrying', { now: done, reason: code, httpStatus: outcome.status, message: next });
        await deps.queue.enqueue([next], { delaySeconds: decision.delaySeconds });
        log.warn('delivery failed; retry scheduled', { ...fields, code, delaySeconds: decision.delaySeconds, nextAttempt: decision.nextAttempt });
        return { ...base, status: 'requeued', reason: 'retryable', delaySeconds: decision.delaySeconds, code };
      }
      return fail(ctx, token, `attempts-exhausted-${code}`, outcome.status);
    }

    case 'permanent':
      return fail(ctx, token, code, outcome.status);
  }
}

/**
 * An incident message's turn on its channel: a revision the channel already has (or newer) is
 * settled as superseded, one whose incident is being posted by another notification waits, and
 * otherwise the incident is held on the channel until `endRevision`.
 */
async function takeRevisionTurn(
  ctx: DeliveryContext,
  token: ClaimToken,
  channel: Channel,
  now: Date,
  leaseMs: number,
): Promise<DeliveryOutcome | { order: RevisionToken }> {
  const { message, deps, log, base, fields } = ctx;
  if (message.kind !== 'incident') throw new Error('revision order applies to incident messages');
  const { id: incidentId, revision } = message.payload.incident;
  const begun = await deps.ledger.beginRevision(channel.id, incidentId, revision, message.notificationId, { now, leaseMs });
  if (begun.outcome === 'go') return { order: begun.token };
  if (begun.outcome === 'stale') {
    if (begun.deliveredId === message.notificationId) {
      // This very notification was posted and its result not recorded (a crash): not again.
      await deps.ledger.markDelivered(token, { now, reason: 'recorded-after-restart' });
      log.info('already posted (revision recorded); acknowledged without posting', fields);
      return { ...base, status: 'duplicate' };
    }
    await deps.ledger.settle(token, 'superseded', { now, reason: `stale-revision-${revision}-after-${begun.delivered}` });
    log.info('not posted: the channel already has a newer revision of the incident', { ...fields, revision, deliveredRevision: begun.delivered });
    return { ...base, status: 'superseded', deliveredRevision: begun.delivered };
  }
  // Release this claim so the message can be claimed again when it comes back.
  const delaySeconds = Math.max(1, Math.ceil((begun.until.getTime() - now.getTime()) / 1000) + 1);
  await deps.ledger.settle(token, 'retrying', { now, reason: 'revision-in-flight', message });
  await deps.queue.enqueue([message], { delaySeconds });
  log.info('another revision of this incident is being posted to the channel; waiting for it', { ...fields, delaySeconds });
  return { ...base, status: 'requeued', reason: 'in-flight', delaySeconds, code: null };
}

interface DeliveryContext {
  message: NotificationMessage;
  deps: DeliveryDeps;
  log: DeliveryLog;
  alertsAllowed: boolean;
  base: OutcomeBase;
  fields: LogFields;
}

async function fail(ctx: DeliveryContext, token: ClaimToken, code: string, httpStatus: number | null): Promise<DeliveryOutcome> {
  const { message, deps, log, alertsAllowed, base, fields } = ctx;
  const done = deps.clock.now();
  // Alert and poison first: if recording `failed` then fails, a redelivery repeats these
  // (deduplicated by id) instead of losing them.
  if (alertsAllowed) {
    await raiseHealth(deps, log, {
      code: 'delivery-failed',
      level: 'error',
      summary: `A notification could not be delivered (${code}). It is in the poison queue and the ledger; fix the channel and replay it.`,
      channelId: message.channelId,
      notificationId: message.notificationId,
      details: { reason: code, httpStatus, attempts: message.attempt },
    });
  }
  await deps.queue.poison(message, { code, status: httpStatus });
  await deps.ledger.settle(token, 'failed', { now: done, reason: code, httpStatus });
  log.error('delivery failed permanently; moved to the poison queue', { ...fields, code, status: httpStatus });
  return { ...base, status: 'failed', code, httpStatus };
}

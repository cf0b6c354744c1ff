/**
 * What happens to the notifications that waited for a paused channel: released when it recovers
 * (as planned by `planRelease`: a digest for Teams, each incident's latest revision for webhooks),
 * or, when the retry schedule is spent, moved to the poison queue with one health alert.
 */
import { raiseHealth, type AlertDeps, type DeliveryLog } from './alerts';
import type { Channel } from './channels';
import type { DeliveryLedger } from './ledger';
import type { DeliveryQueuePort } from './queue';
import { heldOf, planRelease, settleHeld } from './pause';

export interface RecoveryDeps extends AlertDeps {
  ledger: DeliveryLedger;
  queue: DeliveryQueuePort;
}

/**
 * Enqueues what waited for the channel and settles the held rows. Enqueued first: a crash in
 * between sends the same messages again (same ids: the ledger drops the repeats) rather than none.
 */
export async function releaseHeld(deps: RecoveryDeps, channel: Channel, log: DeliveryLog, now: Date): Promise<{ held: number; sent: number }> {
  const held = await heldOf(deps.ledger, channel.id);
  if (held.length === 0) return { held: 0, sent: 0 };
  const plan = planRelease(
    held.map((h) => h.message),
    channel,
  );
  await deps.queue.enqueue(plan.messages);
  for (const row of plan.rows) {
    const record = held.find((h) => h.notificationId === row.notificationId);
    if (!record) continue;
    const message = row.state === 'retrying' ? { ...record.message, attempt: 1 } : record.message;
    // Released messages start their attempts afresh: waiting for the channel spent none of them.
    await settleHeld(deps.ledger, { ...record, message }, row.state, { now, reason: row.reason });
  }
  log.warn('channel recovered: what waited was released', { channel: channel.id, held: held.length, messages: plan.messages.length });
  await raiseHealth(deps, log, {
    code: 'channel-resumed',
    level: 'warning',
    summary:
      `The channel answers again. ${held.length} notification(s) that waited while it was paused are being delivered ` +
      `as ${plan.messages.length} message(s) (incidents at their latest revision; a digest for Teams).`,
    channelId: channel.id,
    notificationId: null,
    details: { held: held.length, messages: plan.messages.length },
  });
  return { held: held.length, sent: plan.messages.length };
}

/**
 * The channel failed for the whole retry schedule (more than a day): everything that waited goes
 * to the poison queue (replayable) and the ledger as failed, with one health alert naming the count.
 */
export async function giveUpHeld(deps: RecoveryDeps, channel: Channel, log: DeliveryLog, now: Date, code: string): Promise<number> {
  const held = await heldOf(deps.ledger, channel.id);
  for (const record of held) {
    await deps.queue.poison(record.message, { code: `channel-unreachable-${code}`, status: null });
    await settleHeld(deps.ledger, record, 'failed', { now, reason: `channel-unreachable-${code}` });
  }
  await raiseHealth(
    deps,
    log,
    {
      code: 'channel-unreachable',
      level: 'error',
      summary:
        `The channel kept failing (${code}) for the whole retry schedule, more than a day. ${held.length} notification(s) that waited ` +
        'are in the poison queue and the ledger; fix the channel and replay them (deliveries replay).',
      channelId: channel.id,
      notificationId: null,
      details: { failed: held.length, reason: code },
    },
    [channel.id],
  );
  return held.length;
}

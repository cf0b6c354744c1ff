/**
 * Delivery wiring from the central settings: the notification queue, the delivery ledger, the
 * channels and the HTTP sender (shared/notify), plus an in-process drain so the CLI and the demo
 * deliver through exactly the code the queue-triggered function runs.
 */
import type { Settings } from '../config/settings';
import { deliverMessage, type DeliveryLog } from '../notify/deliver';
import { probeDueChannels } from '../notify/probe';
import type { DrainSummary } from '../notify/queue';
import { createDeliveryDeps, deliverySettingsOf, type WiredDeliveryDeps } from '../notify/settings';
import type { Logger } from './logger';

/** Delivery logs carry only string/number/boolean fields; ours accepts any properties. */
export function deliveryLogOf(log: Logger): DeliveryLog {
  return { info: (m, f) => log.info(m, f), warn: (m, f) => log.warn(m, f), error: (m, f) => log.error(m, f) };
}

export function createDeliveryRuntime(
  settings: Settings,
  log: Logger,
  overrides: Parameters<typeof createDeliveryDeps>[2] = {},
): WiredDeliveryDeps {
  return createDeliveryDeps(deliverySettingsOf(settings), deliveryLogOf(log), overrides);
}

/**
 * Delivers every visible queued notification in this process (CLI, demo), then probes channels
 * whose pause is over (what they release is drained too).
 */
export async function drainNotifications(deps: WiredDeliveryDeps): Promise<DrainSummary> {
  const drain = () => deps.queue.drain((message) => deliverMessage(message, deps), { maxDequeueCount: 5 });
  const first = await drain();
  if ((await probeDueChannels(deps)).probed.length === 0) return first;
  const second = await drain();
  return { handled: first.handled + second.handled, failed: first.failed + second.failed, poisoned: first.poisoned + second.poisoned };
}

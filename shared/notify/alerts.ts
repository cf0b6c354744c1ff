/**
 * Health alerts raised by delivery itself (a notification that failed, a channel paused, gone or
 * recovered): routed like any announcement to the channels that subscribe to health, and always
 * logged, so a deployment without a health channel still leaves a trace.
 */
import type { Clock } from '../clock';
import { routeAnnouncements, type Channel } from './channels';
import type { HealthPayload } from './message';
import type { DeliveryQueuePort } from './queue';

export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface DeliveryLog {
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface AlertDeps {
  channels: readonly Channel[];
  queue: Pick<DeliveryQueuePort, 'enqueue'>;
  clock: Clock;
}

export type DeliveryAlert = Omit<HealthPayload, 'key' | 'at' | 'details'> & { details?: HealthPayload['details'] };

/** Routes a health alert to the channels that subscribe to health (but `excludeChannelIds`), and logs it. */
export async function raiseHealth(deps: AlertDeps, log: DeliveryLog, alert: DeliveryAlert, excludeChannelIds: readonly string[] = []): Promise<void> {
  const health: HealthPayload = {
    ...alert,
    // The notification id covers the key and the time of this raise (see healthNotificationId).
    key: `${alert.code}|${alert.channelId ?? ''}|${alert.notificationId ?? ''}`,
    at: deps.clock.now().toISOString(),
    details: alert.details ?? {},
  };
  log.error(`health alert ${health.code}: ${health.summary}`, { code: health.code, channel: health.channelId, notification: health.notificationId });
  const messages = routeAnnouncements([{ kind: 'health', health }], deps.channels, { excludeChannelIds });
  if (messages.length === 0) {
    log.error('no channel subscribes to health alerts; the alert is only in this log', { code: health.code });
    return;
  }
  await deps.queue.enqueue(messages);
}

/**
 * The `deliver` function: one notification message from the queue `%NOTIFICATION_QUEUE%`
 * (connection `Storage`), delivered by shared/notify/deliver.ts. Kept thin: decoding, logging
 * through the invocation context (redacted), and the dependency cache. Retries are re-enqueued
 * messages with a visibility delay, not host retries; the handler throws only when storage
 * itself fails, and then the host's own retry/poison (host.json `maxDequeueCount`) applies.
 */
import { app, type InvocationContext, type StorageQueueHandler } from '@azure/functions';
import { deliverMessage, type DeliveryDeps, type DeliveryLog, type DeliveryOutcome, type LogFields } from '../shared/notify/deliver';
import { MessageFormatError, decodeQueueMessage, type NotificationMessage } from '../shared/notify/message';
import type { WiredDeliveryDeps } from '../shared/notify/settings';

export function contextLog(context: InvocationContext): DeliveryLog {
  const fmt = (fields?: LogFields) => (fields ? [fields] : []);
  return {
    info: (m, f) => context.info(m, ...fmt(f)),
    warn: (m, f) => context.warn(m, ...fmt(f)),
    error: (m, f) => context.error(m, ...fmt(f)),
  };
}

/** The handler core, exported for tests: `deps` without `log` (the context provides it). */
export async function handleDeliveryQueueEntry(
  entry: unknown,
  context: InvocationContext,
  deps: Omit<DeliveryDeps, 'log'>,
): Promise<DeliveryOutcome | null> {
  const log = contextLog(context);
  const dequeueCount = context.triggerMetadata?.dequeueCount;
  if (typeof dequeueCount === 'number' && dequeueCount > 1) {
    log.warn('message handed over again by the host (an earlier invocation failed)', { dequeueCount });
  }
  let message: NotificationMessage;
  try {
    message = decodeQueueMessage(entry);
  } catch (error) {
    if (!(error instanceof MessageFormatError)) throw error;
    // Retrying cannot fix a malformed message: keep it verbatim in the poison queue.
    await deps.queue.poisonRaw(typeof entry === 'string' ? entry : JSON.stringify(entry) ?? '');
    log.error('malformed notification message moved to the poison queue', { problem: error.message });
    return null;
  }
  return deliverMessage(message, { ...deps, log });
}

let cached: Promise<WiredDeliveryDeps> | undefined;

function depsFromEnvironment(context: InvocationContext): Promise<WiredDeliveryDeps> {
  cached ??= (async () => {
    // Loaded on the first invocation, not at indexing: settings, identity and storage clients.
    const { createDeliveryDeps, readDeliverySettings } = await import('../shared/notify/settings');
    const deps = createDeliveryDeps(readDeliverySettings(process.env), contextLog(context));
    await deps.ensureStorage();
    return deps;
  })().catch((error: unknown) => {
    cached = undefined; // a settings or storage error is retried on the next invocation
    throw error;
  });
  return cached;
}

export const deliverHandler: StorageQueueHandler = async (entry, context) => {
  await handleDeliveryQueueEntry(entry, context, await depsFromEnvironment(context));
};

app.storageQueue('deliver', {
  queueName: '%NOTIFICATION_QUEUE%',
  connection: 'Storage',
  handler: deliverHandler,
});

/**
 * The notification queue on Azure Storage queues: enqueueing (base64 JSON, what the Functions
 * queue trigger expects by default), delayed re-enqueue for retries (visibility timeout), the
 * poison queue `<queue>-poison` (the same name the Functions host uses after maxDequeueCount, so
 * one place holds everything that needs a human), listing and replaying poison messages, and an
 * in-process `drain` for the CLI and the demo that behaves like the host: receive, handle,
 * delete on success, leave for redelivery on error, poison after too many dequeues.
 */
import { QueueClient } from '@azure/storage-queue';
import {
  MessageFormatError,
  QUEUE_MESSAGE_MAX_CHARS,
  decodeQueueMessage,
  encodeQueueMessage,
  type NotificationMessage,
} from './message';
import { MAX_VISIBILITY_SECONDS } from './retry';

/** What the deliverer needs from a queue (NotificationQueue implements it; tests can fake it). */
export interface DeliveryQueuePort {
  enqueue(messages: readonly NotificationMessage[], options?: { delaySeconds?: number }): Promise<void>;
  poison(message: NotificationMessage, reason: { code: string; status: number | null }): Promise<void>;
  /** A message that could not even be decoded: kept verbatim for inspection. */
  poisonRaw(text: string): Promise<void>;
}

export interface PoisonEntry {
  messageId: string;
  insertedOn: string | null;
  dequeueCount: number;
  message: NotificationMessage | null;
  /** Set when the text is not a valid notification message. */
  problem: string | null;
}

export interface DrainOptions {
  /** Stop after this many handled messages (default: until the queue has no visible messages). */
  maxMessages?: number;
  /** How long a received message stays invisible while handled (seconds). */
  visibilityTimeoutSeconds?: number;
  /** Like host.json maxDequeueCount: a message that failed this often goes to the poison queue. */
  maxDequeueCount?: number;
  /** Told about each handler failure (the message stays queued); callers log it, redacted. */
  onError?: (error: unknown, meta: { messageId: string; dequeueCount: number; notificationId: string }) => void;
}

export interface DrainSummary {
  handled: number;
  failed: number;
  poisoned: number;
}

export type DrainHandler = (message: NotificationMessage, meta: { messageId: string; dequeueCount: number }) => Promise<unknown>;

export const DEFAULT_QUEUE_NAME = 'notifications';
/** Sends in flight at once when enqueueing many notifications. */
export const ENQUEUE_CONCURRENCY = 16;

export function poisonQueueName(queueName: string): string {
  return `${queueName}-poison`;
}

function base64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

export class NotificationQueue implements DeliveryQueuePort {
  constructor(
    readonly queue: QueueClient,
    readonly poisonQueue: QueueClient,
  ) {}

  static fromConnectionString(connectionString: string, queueName: string): NotificationQueue {
    return new NotificationQueue(
      new QueueClient(connectionString, queueName),
      new QueueClient(connectionString, poisonQueueName(queueName)),
    );
  }

  async ensureQueues(): Promise<void> {
    await this.queue.createIfNotExists();
    await this.poisonQueue.createIfNotExists();
  }

  async enqueue(messages: readonly NotificationMessage[], options: { delaySeconds?: number } = {}): Promise<void> {
    const visibilityTimeout = options.delaySeconds ? Math.min(Math.max(0, Math.ceil(options.delaySeconds)), MAX_VISIBILITY_SECONDS - 60) : undefined;
    const texts = messages.map((message) => {
      const text = encodeQueueMessage(message);
      if (text.length > QUEUE_MESSAGE_MAX_CHARS) throw new Error(`notification ${message.notificationId} is too large for the queue`);
      return text;
    });
    // The queue service has no batch send: a bounded number of sends in flight keeps a busy cycle
    // (hundreds of incidents) from paying one round trip after another. Any failure rejects the
    // whole call, so the caller does not move its checkpoint; re-sent messages are deduplicated
    // downstream by the delivery ledger.
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < texts.length) {
        const text = texts[next++] ?? '';
        // TTL -1: a message waiting out a long backoff must not silently expire (the default is 7 days).
        await this.queue.sendMessage(text, { visibilityTimeout, messageTimeToLive: -1 });
      }
    };
    await Promise.all(Array.from({ length: Math.min(ENQUEUE_CONCURRENCY, texts.length) }, worker));
  }

  async poison(message: NotificationMessage, reason: { code: string; status: number | null }): Promise<void> {
    await this.poisonQueue.sendMessage(encodeQueueMessage({ ...message, lastError: reason }), { messageTimeToLive: -1 });
  }

  async poisonRaw(text: string): Promise<void> {
    const encoded = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? text : base64(text);
    await this.poisonQueue.sendMessage(encoded.slice(0, QUEUE_MESSAGE_MAX_CHARS), { messageTimeToLive: -1 });
  }

  /** Peeks the poison queue (the service returns at most 32 messages per peek). */
  async listPoison(): Promise<PoisonEntry[]> {
    const response = await this.poisonQueue.peekMessages({ numberOfMessages: 32 });
    return response.peekedMessageItems.map((item) => {
      let message: NotificationMessage | null = null;
      let problem: string | null = null;
      try {
        message = decodeQueueMessage(item.messageText);
      } catch (error) {
        problem = error instanceof MessageFormatError ? error.message : 'undecodable';
      }
      return { messageId: item.messageId, insertedOn: item.insertedOn?.toISOString() ?? null, dequeueCount: item.dequeueCount, message, problem };
    });
  }

  /**
   * Moves poison messages back to the main queue with `attempt` reset to 1 (all of them, or the
   * one with `messageId`). Undecodable messages stay. Returns how many were moved.
   */
  async replayPoison(filter: { messageId?: string } = {}): Promise<number> {
    let moved = 0;
    // Messages we skip stay invisible until the end, so the loop sees each message once.
    const skipped: Array<{ messageId: string; popReceipt: string }> = [];
    try {
      for (;;) {
        const batch = await this.poisonQueue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 300 });
        if (batch.receivedMessageItems.length === 0) break;
        for (const item of batch.receivedMessageItems) {
          let message: NotificationMessage | null = null;
          if (!filter.messageId || item.messageId === filter.messageId) {
            try {
              message = decodeQueueMessage(item.messageText);
            } catch {
              message = null;
            }
          }
          if (!message) {
            skipped.push({ messageId: item.messageId, popReceipt: item.popReceipt });
            continue;
          }
          const { lastError: _lastError, ...rest } = message;
          await this.enqueue([{ ...rest, attempt: 1, replay: true }]);
          await this.poisonQueue.deleteMessage(item.messageId, item.popReceipt);
          moved++;
        }
      }
    } finally {
      for (const s of skipped) await this.poisonQueue.updateMessage(s.messageId, s.popReceipt, undefined, 0).catch(() => undefined);
    }
    return moved;
  }

  async approximateCount(): Promise<number> {
    return (await this.queue.getProperties()).approximateMessagesCount ?? 0;
  }

  /**
   * Handles visible messages in-process until none is visible (or maxMessages). Messages that a
   * retry re-enqueued with a delay are not visible yet, so they are left for a later drain.
   */
  async drain(handler: DrainHandler, options: DrainOptions = {}): Promise<DrainSummary> {
    const summary: DrainSummary = { handled: 0, failed: 0, poisoned: 0 };
    const maxDequeue = options.maxDequeueCount ?? 5;
    const visibilityTimeout = options.visibilityTimeoutSeconds ?? 60;
    for (;;) {
      if (options.maxMessages !== undefined && summary.handled + summary.failed >= options.maxMessages) break;
      const batch = await this.queue.receiveMessages({ numberOfMessages: 16, visibilityTimeout });
      if (batch.receivedMessageItems.length === 0) break;
      for (const item of batch.receivedMessageItems) {
        let message: NotificationMessage;
        try {
          message = decodeQueueMessage(item.messageText);
        } catch {
          await this.poisonRaw(item.messageText);
          await this.queue.deleteMessage(item.messageId, item.popReceipt);
          summary.poisoned++;
          continue;
        }
        try {
          await handler(message, { messageId: item.messageId, dequeueCount: item.dequeueCount });
          await this.queue.deleteMessage(item.messageId, item.popReceipt);
          summary.handled++;
        } catch (error) {
          summary.failed++;
          options.onError?.(error, { messageId: item.messageId, dequeueCount: item.dequeueCount, notificationId: message.notificationId });
          if (item.dequeueCount >= maxDequeue) {
            await this.poisonQueue.sendMessage(item.messageText, { messageTimeToLive: -1 });
            await this.queue.deleteMessage(item.messageId, item.popReceipt);
            summary.poisoned++;
          } else {
            // Like the host: make it visible again now (the host's own retry has no delay either).
            await this.queue.updateMessage(item.messageId, item.popReceipt, undefined, 0);
          }
        }
      }
    }
    return summary;
  }
}

/**
 * Delivery settings and the wiring of the real dependencies (storage queue, ledger table, HTTP
 * sender, channels) from them. Shared by the queue-triggered function and the CLI; the central
 * config can build `DeliverySettings` itself and call `createDeliveryDeps`.
 *
 * Settings (app settings / environment):
 *   NOTIFICATION_QUEUE       queue name (default "notifications"; poison: "<name>-poison")
 *   DELIVERIES_TABLE         ledger table (default "deliveries")
 *   NOTIFY_CHANNELS          JSON array of channels; a secret (urls and whsec_ secrets)
 *   TEAMS_DIGEST_THRESHOLD   incidents per cycle above which a Teams channel gets a digest (10)
 *   DELIVERY_MAX_ATTEMPTS    attempts per notification before the poison queue (8: about 27 hours)
 *   DELIVERY_TIMEOUT_MS      per-attempt HTTP timeout (10000; or DELIVERY_TIMEOUT_SECONDS)
 *   DELIVERY_ALLOW_LOOPBACK  "true" only in tests: http:// and loopback receivers
 *   NOTIFY_ALLOW_FOLDER      "true" only for the demo: the folder channel type
 *   Storage                  connection string of the storage account (the trigger's connection), or
 *   Storage__queueServiceUri + Storage__tableServiceUri (+ optional Storage__clientId): managed identity
 */
import { systemClock } from '../clock';
import { loadSettings, type Settings, type StorageConnection } from '../config/settings';
import { StorageFactory } from '../storage/clients';
import { parseChannels, type Channel } from './channels';
import type { DeliveryDeps, DeliveryLog } from './deliver';
import { TableDeliveryLedger } from './ledger';
import { NotificationQueue, poisonQueueName } from './queue';
import { defaultRetryPolicy } from './retry';
import { createHttpSender } from './send';

export const DEFAULT_DELIVERIES_TABLE = 'deliveries';

export interface DeliverySettings {
  queueName: string;
  tableName: string;
  channelsJson: string | undefined;
  digestThreshold: number;
  maxAttempts: number;
  timeoutMs: number;
  allowLoopbackForTests: boolean;
  allowFolderChannels: boolean;
  storage: StorageConnection | null;
}

export class DeliverySettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliverySettingsError';
  }
}

/**
 * Delivery settings from the environment, through the central settings module (the one place
 * that reads and validates the environment; a bad value throws its ConfigError naming it).
 */
export function readDeliverySettings(env: Record<string, string | undefined>): DeliverySettings {
  return deliverySettingsOf(loadSettings(env));
}

export function deliverySettingsOf(settings: Settings): DeliverySettings {
  return {
    queueName: settings.delivery.queueName,
    tableName: settings.tables.deliveries,
    channelsJson: settings.delivery.channelsJson,
    digestThreshold: settings.delivery.digestThreshold,
    maxAttempts: settings.delivery.maxAttempts,
    timeoutMs: settings.delivery.timeoutMs,
    allowLoopbackForTests: settings.delivery.allowLoopbackForTests,
    allowFolderChannels: settings.delivery.allowFolderChannels,
    storage: settings.storage,
  };
}

/** Queue, poison queue and ledger table, through the same storage factory as every other client. */
export function createStorageClients(settings: DeliverySettings): { queue: NotificationQueue; ledger: TableDeliveryLedger } {
  const storage = settings.storage;
  if (!storage) throw new DeliverySettingsError('no storage connection: set Storage (connection string) or Storage__queueServiceUri and Storage__tableServiceUri');
  const factory = new StorageFactory(storage);
  return {
    queue: new NotificationQueue(factory.queue(settings.queueName), factory.queue(poisonQueueName(settings.queueName))),
    ledger: new TableDeliveryLedger(factory.table(settings.tableName)),
  };
}

export type WiredDeliveryDeps = DeliveryDeps & {
  queue: NotificationQueue;
  ledger: TableDeliveryLedger;
  settings: DeliverySettings;
  /** Creates the queue, poison queue and table if missing (idempotent). */
  ensureStorage(): Promise<void>;
};

/** Real dependencies from settings; `overrides` replace any of them (tests, demo). */
export function createDeliveryDeps(
  settings: DeliverySettings,
  log: DeliveryLog,
  overrides: Partial<Omit<DeliveryDeps, 'queue' | 'ledger'>> = {},
): WiredDeliveryDeps {
  const channels: Channel[] = parseChannels(settings.channelsJson, {
    allowLoopbackForTests: settings.allowLoopbackForTests,
    allowFolder: settings.allowFolderChannels,
  });
  const { queue, ledger } = createStorageClients(settings);
  const send = createHttpSender({ clock: systemClock, timeoutMs: settings.timeoutMs, allowLoopbackForTests: settings.allowLoopbackForTests });
  return {
    channels,
    ledger,
    queue,
    send,
    clock: systemClock,
    log,
    random: Math.random,
    retry: defaultRetryPolicy(settings.maxAttempts),
    // The lease must outlast one post (timeout) plus the ledger writes around it.
    leaseMs: Math.max(60_000, settings.timeoutMs * 3 + 30_000),
    ...overrides,
    settings,
    ensureStorage: async () => {
      await queue.ensureQueues();
      await ledger.ensureTable();
    },
  };
}

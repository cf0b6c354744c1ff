/**
 * Allowlist wiring from the central settings: the entries and audit tables (connection string or
 * managed identity), and a change notifier that logs every change with its marker and queues an
 * `allowlist-change` notification for the channels that subscribe to it, so that blinding a
 * detection is always seen by someone.
 */
import type { AllowlistApiDeps } from '../allowlist/api';
import { createAllowlistDeps } from '../allowlist/api';
import { RecentFindingsStore } from '../allowlist/recentFindings';
import { createLogChangeNotifier, type AllowlistChangeNotifier } from '../allowlist/notifier';
import { allowlistSettingsOf } from '../allowlist/settings';
import { systemClock, type Clock } from '../clock';
import type { Settings } from '../config/settings';
import { parseChannels } from '../notify/channels';
import { NotificationQueue } from '../notify/queue';
import { StorageFactory } from '../storage/clients';
import type { Logger } from './logger';
import { createQueueChangeNotifier } from './notifications';

export function createAllowlistRuntime(
  settings: Settings,
  log: Logger,
  options: { clock?: Clock; warn?: (...args: unknown[]) => void } = {},
): AllowlistApiDeps & { ensure(): Promise<void> } {
  const storage = new StorageFactory(settings.storage);
  const clock = options.clock ?? systemClock;
  const channels = parseChannels(settings.delivery.channelsJson, {
    allowLoopbackForTests: settings.delivery.allowLoopbackForTests,
    allowFolder: settings.delivery.allowFolderChannels,
  });
  const queue = new NotificationQueue(
    storage.queue(settings.delivery.queueName),
    storage.queue(`${settings.delivery.queueName}-poison`),
  );
  const logged = createLogChangeNotifier({ warn: options.warn ?? ((...args: unknown[]) => log.warn(args.map(String).join(' '))) });
  const queued = createQueueChangeNotifier({ channels, queue, digestThreshold: settings.delivery.digestThreshold, now: () => clock.now() });
  const notifier: AllowlistChangeNotifier = {
    async announce(change) {
      await logged.announce(change);
      if (channels.length > 0) {
        // In Azure the Bicep creates the queues and the API's identity may only send messages
        // (Storage Queue Data Message Sender, infra/app/rbac.bicep): creating them would be refused.
        if (settings.storage.kind === 'connection-string') await queue.ensureQueues();
        await queued.announce(change);
      }
    },
  };
  const deps = createAllowlistDeps(allowlistSettingsOf(settings), {
    tables: { entries: storage.table(settings.tables.allowlist), audit: storage.table(settings.tables.allowlistAudit) },
    clock,
    notifier,
    recentFindings: new RecentFindingsStore(storage.table(settings.tables.recentFindings)),
  });
  return { ...deps, ensure: () => deps.store.ensureTables() };
}

/**
 * Allowlist wiring from the central settings: the entries and audit tables (connection string or
 * managed identity), and a change notifier that logs every change with its marker and queues an
 * `allowlist-change` notification for the channels that subscribe to it (in registry mode: the
 * deployment's, and those of the tenant the entry is scoped to), so that blinding a detection is
 * always seen by someone, and by the customer whose findings it hides.
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
import { StorageFactory, type StoragePolicy } from '../storage/clients';
import { readRegistryChannels } from '../tenants/changeAudience';
import { TenantStore } from '../tenants/store';
import type { Logger } from './logger';
import { createTenantChangeNotifier } from './notifications';

export interface AllowlistRuntimeOptions {
  clock?: Clock;
  warn?: (...args: unknown[]) => void;
  /** Extra storage pipeline policies (tests inject faults with them). */
  storagePolicies?: StoragePolicy[];
}

export function createAllowlistRuntime(
  settings: Settings,
  log: Logger,
  options: AllowlistRuntimeOptions = {},
): AllowlistApiDeps & { ensure(): Promise<void>; notifier: AllowlistChangeNotifier } {
  const storage = new StorageFactory(settings.storage, options.storagePolicies ? { policies: options.storagePolicies } : {});
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
  // In registry mode a tenant's entry is also announced on that tenant's channels; the API's
  // identity may only read the registry (Storage Table Data Reader), so it is never created here.
  const registry = new TenantStore(storage.table(settings.tables.tenants));
  const queued = createTenantChangeNotifier({
    channels,
    queue,
    digestThreshold: settings.delivery.digestThreshold,
    now: () => clock.now(),
    registry: () => readRegistryChannels(registry),
    log,
  });
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
  return { ...deps, notifier, ensure: () => deps.store.ensureTables() };
}

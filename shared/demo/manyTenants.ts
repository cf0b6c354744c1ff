/**
 * Many tenants on one machine, with the production code path: a storage account (Azurite), the
 * local Graph for many tenants (each token's tenant gets its own rows; each tenant throttled on
 * its own), the tenant registry, the timer's fan-out onto a real hunt-jobs queue, and workers in
 * this process that drain it as the queue trigger does, each job running the production tenant
 * worker. Only the adapters differ: tokens are local (one per tenant, cached like Entra's), Graph
 * is local. The tenants benchmark and the tests build on it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHuntFanOut, type FanOutResult, type HuntFanOut } from '../app/huntFanOut';
import { createTenantHunts, type TenantHunts, type TenantJobResult } from '../app/huntTenant';
import type { Logger } from '../app/logger';
import type { Clock } from '../clock';
import { loadSettings, type Settings } from '../config/settings';
import { CheckpointStore } from '../hunt/checkpointStore';
import type { TokenCredentialOptions } from '../hunting/credentials';
import { LocalTenantCredential, startTenantGraphServer, type LocalTenant, type TenantGraphServer } from '../hunting/tenantGraphServer';
import type { HuntingQueryResults } from '../hunting/types';
import { parseChannels } from '../notify/channels';
import { NotificationQueue } from '../notify/queue';
import { findProjectRoot } from '../rules/loadRules';
import type { RuleDefinition } from '../rules/rule';
import { StorageFactory, type StoragePolicy } from '../storage/clients';
import type { DrainJobsSummary } from '../tenants/jobs';
import type { Tenant, TenantInput } from '../tenants/tenant';

/** A valid Standard Webhooks secret for the local channels (they are never delivered to). */
const LOCAL_WEBHOOK_SECRET = 'whsec_Y29kZXNpZ24taHVudC10ZXN0LXNlY3JldC1mb3ItdGhlLWhhcm5lc3M=';
export const LOCAL_PROVIDER_APP = '9d2b8f0e-0000-4000-8000-00000000c0de';

/**
 * What one Functions instance runs at once for a queue trigger (host.json): batchSize plus
 * newBatchThreshold. The local workers use it, so tests and the benchmark run as configured.
 */
export function configuredQueueConcurrency(): number {
  const host = JSON.parse(readFileSync(join(findProjectRoot(), 'host.json'), 'utf8')) as { extensions?: { queues?: { batchSize?: number; newBatchThreshold?: number } } };
  const queues = host.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return batchSize + (queues.newBatchThreshold ?? Math.floor(batchSize / 2));
}

export interface LocalTenantWorldOptions {
  /** Storage connection string (Azurite). */
  storage: string;
  clock: Clock;
  log: Logger;
  /** A name for each table and queue (tests: unique per test). */
  name: (purpose: string) => string;
  /** Runs one job; a test's virtual clock counts running jobs through it. */
  participate?: <T>(work: () => Promise<T>) => Promise<T>;
  /** Tenants that get a channel of their own (`<key>-hook`) besides the provider's `soc`. */
  channelsFor?: string[];
  env?: Record<string, string>;
  rules?: RuleDefinition[];
  storagePolicies?: StoragePolicy[];
}

export interface LocalTenantWorld {
  env: Record<string, string>;
  settings: Settings;
  server: TenantGraphServer;
  /** The local Graph's tenants by Entra tenant id (data and faults; may change while running). */
  graphTenants: Map<string, LocalTenant>;
  storage: StorageFactory;
  fanOut: HuntFanOut;
  hunts: TenantHunts;
  notifications: NotificationQueue;
  checkpoints: CheckpointStore;
  results: TenantJobResult[];
  addTenant(tenant: { key: string; tid: string; rows?: HuntingQueryResults; entry?: Partial<TenantInput> }): Promise<Tenant>;
  tick(): Promise<FanOutResult>;
  drain(concurrency: number): Promise<DrainJobsSummary>;
  close(): Promise<void>;
}

export async function createLocalTenantWorld(options: LocalTenantWorldOptions): Promise<LocalTenantWorld> {
  const { clock, log } = options;
  const graphTenants = new Map<string, LocalTenant>();
  const server = await startTenantGraphServer({ tenants: graphTenants, now: () => clock.now().getTime() });
  const channelKeys = options.channelsFor ?? [];
  const webhook = (id: string, host: string) => ({ id, type: 'webhook', url: `https://${host}/hook`, minSeverity: 'informational', kinds: ['incident', 'health'], secret: LOCAL_WEBHOOK_SECRET });
  const env: Record<string, string> = {
    Storage: options.storage,
    TENANT_ID: 'default',
    CHECKPOINTS_TABLE: options.name('ckpt'),
    INCIDENTS_TABLE: options.name('inc'),
    ALLOWLIST_TABLE: options.name('allow'),
    ALLOWLIST_AUDIT_TABLE: options.name('audit'),
    DELIVERIES_TABLE: options.name('deliv'),
    RECENT_STEPS_TABLE: options.name('steps'),
    RECENT_FINDINGS_TABLE: options.name('rfind'),
    TENANTS_TABLE: options.name('tenants'),
    NOTIFICATION_QUEUE: options.name('ntf'),
    HUNT_JOBS_QUEUE: options.name('jobs'),
    PROVIDER_APP_CLIENT_ID: LOCAL_PROVIDER_APP,
    // Never read: tokens come from the local credential below.
    GRAPH_CLIENT_CERTIFICATE_PATH: 'local-tokens-need-no-certificate',
    HUNT_INITIAL_LOOKBACK_MINUTES: '60',
    NOTIFY_CHANNELS: JSON.stringify([webhook('soc', 'soc.example.com'), ...channelKeys.map((key) => webhook(`${key}-hook`, `${key}.example.com`))]),
    ...options.env,
  };
  const settings = loadSettings(env);
  const storage = new StorageFactory(settings.storage, { policies: options.storagePolicies });
  const notifications = new NotificationQueue(storage.queue(settings.delivery.queueName), storage.queue(`${settings.delivery.queueName}-poison`));
  await notifications.ensureQueues();
  const credentialFactory = (o: TokenCredentialOptions) => new LocalTenantCredential('tenantId' in o ? o.tenantId : '', { now: () => clock.now().getTime() });
  const fanOut = createHuntFanOut(settings, env, { storage, credentialFactory, now: () => clock.now().getTime() });
  await fanOut.services.ensure();
  const hunts = createTenantHunts({
    settings,
    env,
    log,
    channels: parseChannels(settings.delivery.channelsJson),
    queue: notifications,
    services: fanOut.services,
    clock,
    ...(options.rules ? { rules: options.rules } : {}),
    ...(options.storagePolicies ? { storagePolicies: options.storagePolicies } : {}),
    random: () => 0.5,
  });
  const participate = options.participate ?? (<T>(work: () => Promise<T>) => work());
  const results: TenantJobResult[] = [];

  return {
    env,
    settings,
    server,
    graphTenants,
    storage,
    fanOut,
    hunts,
    notifications,
    checkpoints: new CheckpointStore(storage.table(settings.tables.checkpoints)),
    results,
    addTenant(tenant) {
      graphTenants.set(tenant.tid, { data: tenant.rows ?? { schema: [], results: [] } });
      return fanOut.services.store.add(
        {
          key: tenant.key,
          entraTenantId: tenant.tid,
          graphBaseUrl: server.baseUrl,
          channelIds: channelKeys.includes(tenant.key) ? [`${tenant.key}-hook`, 'soc'] : ['soc'],
          ...tenant.entry,
        },
        { actor: 'local', now: clock.now() },
      );
    },
    async tick() {
      const result = await fanOut.tick(log, clock.now());
      if (!result) throw new Error('the registry is empty: the timer would hunt the single tenant of the settings');
      return result;
    },
    drain(concurrency) {
      return fanOut.jobs.drain(async (job) => results.push(await participate(() => hunts.run(job))), {
        concurrency,
        visibilityTimeoutSeconds: 600,
      });
    },
    close: () => server.close(),
  };
}

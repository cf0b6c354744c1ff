/**
 * Many tenants end to end for tests: real Table and Queue Storage on the run's Azurite (unique
 * names), the local Graph for many tenants (each token's tenant gets its own rows, each tenant
 * throttled on its own), the registry, the timer's fan-out onto a real hunt-jobs queue, and
 * workers in this process that drain it like the queue trigger, each job running the production
 * tenant worker. Time is a virtual clock shared by every worker: it moves only when every job in
 * progress is waiting (pacing, Retry-After, backoff), so what one worker waits never reorders
 * another's calls, and nothing sleeps for real.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHuntFanOut, type FanOutResult, type HuntFanOut } from '../../shared/app/huntFanOut';
import { createTenantHunts, type TenantHunts, type TenantJobResult } from '../../shared/app/huntTenant';
import { memoryLogger } from '../../shared/app/logger';
import type { Clock } from '../../shared/clock';
import { loadSettings, type Settings } from '../../shared/config/settings';
import { CheckpointStore } from '../../shared/hunt/checkpointStore';
import type { TokenCredentialOptions } from '../../shared/hunting/credentials';
import { LocalTenantCredential, localTenantId, startTenantGraphServer, type LocalTenant, type TenantGraphServer } from '../../shared/hunting/tenantGraphServer';
import type { HuntingQueryResults } from '../../shared/hunting/types';
import { decodeQueueMessage, type NotificationMessage } from '../../shared/notify/message';
import { NotificationQueue } from '../../shared/notify/queue';
import { parseChannels } from '../../shared/notify/channels';
import { loadRules } from '../../shared/rules/loadRules';
import { StorageFactory } from '../../shared/storage/clients';
import type { DrainJobsSummary } from '../../shared/tenants/jobs';
import type { Tenant, TenantInput } from '../../shared/tenants/tenant';
import { azuriteConnectionString, uniqueName } from './azurite';

export const PROVIDER_APP = '9d2b8f0e-0000-4000-8000-00000000c0de';
export const TEST_PROVIDER_PEM = fs.readFileSync(path.resolve(__dirname, '../fixtures/tenants/test-provider.pem'), 'utf8');
const WEBHOOK_SECRET = 'whsec_Y29kZXNpZ24taHVudC10ZXN0LXNlY3JldC1mb3ItdGhlLWhhcm5lc3M=';

/** Virtual time shared by concurrent workers: it advances only when every job in progress waits. */
export class VirtualClock implements Clock {
  private sleepers: { at: number; resolve: () => void }[] = [];
  private busy = 0;
  constructor(private current: number) {}

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.sleepers.push({ at: this.current + ms, resolve });
      this.maybeAdvance();
    });
  }

  /** Runs a job: while it runs, time only moves when it (and every other job) waits. */
  async participate<T>(work: () => Promise<T>): Promise<T> {
    this.busy++;
    try {
      return await work();
    } finally {
      this.busy--;
      this.maybeAdvance();
    }
  }

  /** Between ticks, with no job in progress. */
  advanceTo(at: number): void {
    if (this.busy > 0) throw new Error('advanceTo while jobs are running');
    this.current = Math.max(this.current, at);
  }

  private maybeAdvance(): void {
    if (this.sleepers.length === 0 || this.sleepers.length < this.busy) return;
    const next = Math.min(...this.sleepers.map((s) => s.at));
    this.current = Math.max(this.current, next);
    const due = this.sleepers.filter((s) => s.at <= this.current);
    this.sleepers = this.sleepers.filter((s) => s.at > this.current);
    for (const sleeper of due) sleeper.resolve();
  }
}

export interface WorldTenant {
  key: string;
  tid: string;
  rows?: HuntingQueryResults;
  /** Extra fields of the registry entry (rules, overrides, credential). */
  entry?: Partial<TenantInput>;
}

export interface TenantWorld {
  env: Record<string, string>;
  settings: Settings;
  clock: VirtualClock;
  log: ReturnType<typeof memoryLogger>;
  server: TenantGraphServer;
  /** The local Graph's tenants by Entra tenant id (data and faults; may change while running). */
  graphTenants: Map<string, LocalTenant>;
  fanOut: HuntFanOut;
  hunts: TenantHunts;
  notifications: NotificationQueue;
  checkpoints: CheckpointStore;
  storage: StorageFactory;
  results: TenantJobResult[];
  addTenant(tenant: WorldTenant): Promise<Tenant>;
  tick(): Promise<FanOutResult>;
  /** Drains the hunt-jobs queue with `concurrency` workers (default: host.json's per-instance concurrency). */
  drain(concurrency?: number): Promise<DrainJobsSummary>;
  notificationMessages(): Promise<NotificationMessage[]>;
  close(): Promise<void>;
}

/** What one Functions instance runs at once for a queue trigger: batchSize + newBatchThreshold (host.json). */
export function hostQueueConcurrency(): number {
  const host = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../host.json'), 'utf8')) as { extensions?: { queues?: { batchSize?: number; newBatchThreshold?: number } } };
  const queues = host.extensions?.queues ?? {};
  const batchSize = queues.batchSize ?? 16;
  return batchSize + (queues.newBatchThreshold ?? Math.floor(batchSize / 2));
}

const RULES = loadRules();

export async function createTenantWorld(options: { now: Date; env?: Record<string, string>; channelsFor?: string[] }): Promise<TenantWorld> {
  const clock = new VirtualClock(options.now.getTime());
  const graphTenants = new Map<string, LocalTenant>();
  const server = await startTenantGraphServer({ tenants: graphTenants, now: () => clock.now().getTime() });
  const channelKeys = options.channelsFor ?? [];
  const env: Record<string, string> = {
    Storage: azuriteConnectionString(),
    TENANT_ID: 'default',
    CHECKPOINTS_TABLE: uniqueName('ckpt'),
    INCIDENTS_TABLE: uniqueName('inc'),
    ALLOWLIST_TABLE: uniqueName('allow'),
    ALLOWLIST_AUDIT_TABLE: uniqueName('audit'),
    DELIVERIES_TABLE: uniqueName('deliv'),
    RECENT_STEPS_TABLE: uniqueName('steps'),
    RECENT_FINDINGS_TABLE: uniqueName('rfind'),
    TENANTS_TABLE: uniqueName('tenants'),
    NOTIFICATION_QUEUE: uniqueName('ntf'),
    HUNT_JOBS_QUEUE: uniqueName('jobs'),
    GRAPH_CLIENT_ID: PROVIDER_APP,
    GRAPH_CLIENT_CERTIFICATE: TEST_PROVIDER_PEM,
    HUNT_INITIAL_LOOKBACK_MINUTES: '60',
    NOTIFY_CHANNELS: JSON.stringify([
      { id: 'soc', type: 'webhook', url: 'https://soc.example.com/hook', minSeverity: 'informational', kinds: ['incident', 'health'], secret: WEBHOOK_SECRET },
      ...channelKeys.map((key) => ({ id: `${key}-hook`, type: 'webhook', url: `https://${key}.example.com/hook`, minSeverity: 'informational', kinds: ['incident', 'health'], secret: WEBHOOK_SECRET })),
    ]),
    ...options.env,
  };
  const settings = loadSettings(env);
  const log = memoryLogger();
  const storage = new StorageFactory(settings.storage);
  const notifications = new NotificationQueue(storage.queue(settings.delivery.queueName), storage.queue(`${settings.delivery.queueName}-poison`));
  await notifications.ensureQueues();
  const credentialFactory = (o: TokenCredentialOptions) => new LocalTenantCredential('tenantId' in o ? o.tenantId : '', { now: () => clock.now().getTime() });
  const fanOut = createHuntFanOut(settings, env, { storage, credentialFactory, now: () => clock.now().getTime() });
  const hunts = createTenantHunts({
    settings,
    env,
    log,
    channels: parseChannels(settings.delivery.channelsJson),
    queue: notifications,
    services: fanOut.services,
    clock,
    rules: RULES,
    random: () => 0.5,
  });
  const checkpoints = new CheckpointStore(storage.table(settings.tables.checkpoints));
  const results: TenantJobResult[] = [];

  return {
    env,
    settings,
    clock,
    log,
    server,
    graphTenants,
    fanOut,
    hunts,
    notifications,
    checkpoints,
    storage,
    results,
    async addTenant(tenant) {
      graphTenants.set(tenant.tid, { data: tenant.rows ?? { schema: [], results: [] } });
      await fanOut.services.ensure();
      return fanOut.services.store.add(
        {
          key: tenant.key,
          entraTenantId: tenant.tid,
          graphBaseUrl: server.baseUrl,
          channelIds: channelKeys.includes(tenant.key) ? [`${tenant.key}-hook`, 'soc'] : ['soc'],
          ...tenant.entry,
        },
        { actor: 'test', now: clock.now() },
      );
    },
    async tick() {
      const result = await fanOut.tick(log, clock.now());
      if (!result) throw new Error('the registry is empty: the timer would hunt the single tenant');
      return result;
    },
    drain(concurrency = hostQueueConcurrency()) {
      return fanOut.jobs.drain(async (job) => results.push(await clock.participate(() => hunts.run(job))), {
        concurrency,
        visibilityTimeoutSeconds: 600,
      });
    },
    async notificationMessages() {
      const messages: NotificationMessage[] = [];
      for (;;) {
        const batch = await notifications.queue.receiveMessages({ numberOfMessages: 32, visibilityTimeout: 600 });
        if (batch.receivedMessageItems.length === 0) return messages;
        for (const item of batch.receivedMessageItems) messages.push(decodeQueueMessage(item.messageText));
      }
    },
    close: () => server.close(),
  };
}

export { localTenantId };

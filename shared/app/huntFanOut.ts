/**
 * The timer's work when the tenant registry holds tenants: enqueue one hunt job per due tenant on
 * the hunt-jobs queue, and nothing else. The hunting itself happens in the queue-triggered
 * huntTenant function, scaled out by Azure Functions; this never loops over tenants doing it.
 * Paused tenants and tenants waiting out their own backoff get no job; a registry row that cannot
 * be read raises a health alert (it is not hunted half-configured).
 */
import type { Settings } from '../config/settings';
import { StorageFactory } from '../storage/clients';
import { HuntJobQueue, huntJobFor, planFanOut, slotOf } from '../tenants/jobs';
import { resolveTenantMode, type TenantMode } from '../tenants/registry';
import type { Logger } from './logger';
import { HEALTH_ALERT_MARKER } from './notifications';
import { createTenantServices, type TenantServices, type TenantServicesOptions } from './tenants';

export interface FanOutResult {
  slot: string;
  enqueued: string[];
  paused: string[];
  backingOff: string[];
  unreadable: string[];
}

export async function fanOutHuntJobs(
  mode: Extract<TenantMode, { kind: 'registry' }>,
  deps: { services: Pick<TenantServices, 'statuses'>; jobs: Pick<HuntJobQueue, 'enqueue'>; log: Logger; now: Date },
): Promise<FanOutResult> {
  const { log, now } = deps;
  const slot = slotOf(now);
  for (const bad of mode.unreadable) {
    log.error(`${HEALTH_ALERT_MARKER}: Hunting tenant ${bad.key} is not possible: its registry row cannot be read (${bad.problem})`, {
      marker: HEALTH_ALERT_MARKER,
      code: 'tenant-unreadable',
      tenantId: bad.key,
    });
  }
  const plan = planFanOut(mode.tenants, await deps.services.statuses.readAll(), now);
  await deps.jobs.enqueue(plan.due.map((tenant) => huntJobFor(tenant.key, slot, now)));
  const result: FanOutResult = {
    slot,
    enqueued: plan.due.map((t) => t.key),
    paused: plan.paused.map((t) => t.key),
    backingOff: plan.backingOff.map((t) => t.key),
    unreadable: mode.unreadable.map((u) => u.key),
  };
  log.info(`hunt fan-out ${slot}: ${result.enqueued.length} job(s) enqueued, ${result.paused.length} paused, ${result.backingOff.length} backing off`, {
    slot,
    enqueued: result.enqueued.length,
    paused: result.paused,
    backingOff: result.backingOff,
    unreadable: result.unreadable,
  });
  return result;
}

export interface HuntFanOut {
  services: TenantServices;
  jobs: HuntJobQueue;
  /** One timer tick: null in single-tenant mode (the timer hunts as before), else the jobs enqueued. */
  tick(log: Logger, now: Date): Promise<FanOutResult | null>;
}

/** The registry, the job status rows and the hunt-jobs queue, wired once per instance. */
export function createHuntFanOut(settings: Settings, env: Record<string, string | undefined>, options: TenantServicesOptions = {}): HuntFanOut {
  const storage = options.storage ?? new StorageFactory(settings.storage);
  const services = createTenantServices(settings, env, { ...options, storage });
  const jobs = new HuntJobQueue(storage.queue(settings.tenants.jobsQueue), storage.queue(`${settings.tenants.jobsQueue}-poison`));
  let ready: Promise<void> | null = null;
  return {
    services,
    jobs,
    async tick(log, now) {
      ready ??= Promise.all([services.ensure(), jobs.ensure()]).then(
        () => undefined,
        (error: unknown) => {
          ready = null;
          throw error;
        },
      );
      await ready;
      const mode = await resolveTenantMode(settings, services.store);
      return mode.kind === 'single' ? null : fanOutHuntJobs(mode, { services, jobs, log, now });
    },
  };
}

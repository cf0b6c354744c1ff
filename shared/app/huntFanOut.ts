/**
 * The timer's work when the tenant registry holds tenants: enqueue one hunt job per due tenant on
 * the hunt-jobs queue, and nothing else. The hunting itself happens in the queue-triggered
 * huntTenant function, scaled out by Azure Functions; this never loops over tenants doing it.
 * Paused tenants and tenants waiting out their own backoff get no job; a registry row that cannot
 * be read raises a health alert (it is not hunted half-configured).
 */
import type { Logger } from './logger';
import { HEALTH_ALERT_MARKER } from './notifications';
import type { TenantServices } from './tenants';
import { huntJobFor, planFanOut, slotOf, type HuntJobQueue } from '../tenants/jobs';
import type { TenantMode } from '../tenants/registry';

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

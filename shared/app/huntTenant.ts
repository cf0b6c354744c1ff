/**
 * One tenant's hunt job, as the queue-triggered huntTenant function runs it: that tenant's rules
 * through today's cycle (runHuntCycle, via the hunt runtime built for the tenant: its settings
 * and overrides, its Graph source and token, its channels, and its shared call counter as the
 * pacer), then the tenant's job status. A duplicate of a slot that already ran is dropped; a
 * paused or removed tenant is not hunted. A failing tenant is recorded and the job still ends
 * well, so the queue does not retry what only the next tick (after its backoff) should retry;
 * only a failure to hunt or record at all (storage) fails the invocation for a queue retry.
 */
import { systemClock, type Clock } from '../clock';
import { ConfigError, type Settings } from '../config/settings';
import type { RunRecord } from '../hunt/runRecord';
import type { Channel } from '../notify/channels';
import type { DeliveryQueuePort } from '../notify/queue';
import { loadRules } from '../rules/loadRules';
import type { RuleDefinition } from '../rules/rule';
import type { StoragePolicy } from '../storage/clients';
import { diagnoseRunError, type TenantProblem } from '../tenants/diagnose';
import type { HuntJob } from '../tenants/jobs';
import { quotaPolicy } from '../tenants/quota';
import { channelsForTenant, settingsForTenant, UnknownChannelError } from '../tenants/registry';
import { afterJob, alreadyCompleted, jobOutcomeOf, type JobOutcome, type TenantJobStatus } from '../tenants/status';
import type { Tenant } from '../tenants/tenant';
import { createHuntRuntime, type HuntRuntime } from './huntRuntime';
import type { Logger } from './logger';
import { HEALTH_ALERT_MARKER } from './notifications';
import type { TenantServices } from './tenants';

export interface TenantHuntOptions {
  settings: Settings;
  env: Record<string, string | undefined>;
  log: Logger;
  /** Every channel of NOTIFY_CHANNELS; each tenant hears only through the ones it names. */
  channels: readonly Channel[];
  queue: Pick<DeliveryQueuePort, 'enqueue'>;
  services: TenantServices;
  clock?: Clock;
  rules?: RuleDefinition[];
  storagePolicies?: StoragePolicy[];
  random?: () => number;
}

export interface TenantJobResult {
  job: HuntJob;
  outcome: JobOutcome;
  records: RunRecord[];
  status: TenantJobStatus | null;
}

export interface TenantHunts {
  run(job: HuntJob): Promise<TenantJobResult>;
}

/** Every log line of a tenant's job carries its key: the custom dimension queries group by. */
export function tenantLogger(log: Logger, tenantId: string): Logger {
  const add = (properties?: Record<string, unknown>): Record<string, unknown> => ({ tenantId, ...properties });
  return {
    info: (message, properties) => log.info(message, add(properties)),
    warn: (message, properties) => log.warn(message, add(properties)),
    error: (message, properties) => log.error(message, add(properties)),
  };
}

function lagMinutes(records: readonly RunRecord[], now: Date): number | null {
  const checkpoints = records.map((r) => (r.checkpointAfter ? Date.parse(r.checkpointAfter) : NaN));
  if (checkpoints.length === 0 || checkpoints.some(Number.isNaN)) return null;
  return Math.round((now.getTime() - Math.min(...checkpoints)) / 60_000);
}

export function createTenantHunts(options: TenantHuntOptions): TenantHunts {
  const clock = options.clock ?? systemClock;
  const { services } = options;
  /** Runtimes per tenant, rebuilt when the registry entry changes (its ETag). */
  const runtimes = new Map<string, { etag: string | null; runtime: HuntRuntime }>();
  // Loaded once for every tenant's runtime (each would otherwise read rules/ again).
  const rules = options.rules ?? loadRules();
  let storageReady: Promise<void> | null = null;

  function runtimeFor(tenant: Tenant, log: Logger): HuntRuntime {
    const cached = runtimes.get(tenant.key);
    if (cached && cached.etag === tenant.etag) return cached.runtime;
    const settings = settingsForTenant(options.env, tenant);
    const unknown = settings.ruleIds.filter((id) => !rules.some((rule) => rule.id === id));
    if (unknown.length > 0) throw new ConfigError([`the tenant's rules name ${unknown.join(', ')}, not in rules/ (known: ${rules.map((r) => r.id).join(', ')})`]);
    const runtime = createHuntRuntime({
      settings,
      log,
      channels: channelsForTenant(options.channels, tenant, 'registry'),
      queue: options.queue,
      clock,
      source: services.sourceFor(tenant),
      pacer: services.counters.forTenant(tenant.key, quotaPolicy(settings.hunt.maxCallsPerMinute)),
      rules,
      ...(options.storagePolicies ? { storagePolicies: options.storagePolicies } : {}),
      ...(options.random ? { random: options.random } : {}),
    });
    runtimes.set(tenant.key, { etag: tenant.etag, runtime });
    return runtime;
  }

  async function record(job: HuntJob, startedAt: Date, outcome: JobOutcome, error: string | null, problem: TenantProblem | null): Promise<TenantJobStatus> {
    return services.statuses.update(job.tenant, (previous) => afterJob(previous, { jobId: job.jobId, slot: job.slot, startedAt, finishedAt: clock.now(), outcome, error, problem }));
  }

  return {
    async run(job) {
      const log = tenantLogger(options.log, job.tenant);
      const previous = await services.statuses.read(job.tenant);
      if (alreadyCompleted(previous, job.slot)) {
        log.info(`hunt job ${job.jobId} dropped: its slot already ran`, { jobId: job.jobId });
        return { job, outcome: 'duplicate', records: [], status: previous };
      }
      const tenant = await services.store.get(job.tenant);
      if (!tenant) {
        log.warn(`hunt job ${job.jobId} dropped: the tenant is no longer in the registry`, { jobId: job.jobId });
        return { job, outcome: 'not-registered', records: [], status: previous };
      }
      if (tenant.paused) {
        log.info(`hunt job ${job.jobId} dropped: the tenant is paused (${tenant.paused.reason})`, { jobId: job.jobId });
        return { job, outcome: 'paused', records: [], status: previous };
      }
      const startedAt = clock.now();
      let runtime: HuntRuntime;
      try {
        runtime = runtimeFor(tenant, log);
      } catch (error) {
        if (!(error instanceof ConfigError || error instanceof UnknownChannelError)) throw error;
        // The tenant's own configuration is wrong: its alert, its status; no retry will fix it.
        const message = error.message;
        log.error(`${HEALTH_ALERT_MARKER}: Hunting tenant ${tenant.key} cannot start: ${message}`, { marker: HEALTH_ALERT_MARKER, code: 'tenant-configuration', jobId: job.jobId });
        const status = await record(job, startedAt, 'failed', message, 'configuration');
        return { job, outcome: 'failed', records: [], status };
      }
      storageReady ??= runtime.ensureStorage().catch((error: unknown) => {
        storageReady = null;
        throw error;
      });
      await storageReady;

      const records = await runtime.runAll();
      const complete = records.length === runtime.rules.length;
      const outcome: JobOutcome = complete ? jobOutcomeOf(records) : 'failed';
      const error = records.find((r) => r.error && r.outcome !== 'succeeded')?.error ?? (complete ? null : 'a rule could not record its run (see the log)');
      const status = await record(job, startedAt, outcome, error, diagnoseRunError(error)?.problem ?? null);
      const properties = {
        jobId: job.jobId,
        slot: job.slot,
        outcome,
        rules: records.length,
        lagMinutes: lagMinutes(records, clock.now()),
        consecutiveFailures: status.consecutiveFailures,
        backoffUntil: status.backoffUntil,
        problem: status.lastProblem,
        durationMs: clock.now().getTime() - startedAt.getTime(),
      };
      const text = `hunt-tenant ${tenant.key} ${outcome}: ${records.length} rule(s)`;
      if (outcome === 'failed' || outcome === 'throttled') log.error(text, properties);
      else log.info(text, properties);
      // A rule that could not even record its run: storage trouble; let the queue retry the job.
      if (!complete) throw new Error(`hunt job ${job.jobId}: ${runtime.rules.length - records.length} rule(s) did not complete`);
      return { job, outcome, records, status };
    },
  };
}

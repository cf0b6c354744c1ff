/**
 * The `huntTenant` function: one tenant's hunt job from the queue `%HUNT_JOBS_QUEUE%` (connection
 * `Storage`), enqueued by the `hunt` timer when the tenant registry holds tenants. Azure Functions
 * runs as many as host.json allows per instance and scales instances out; each job runs that
 * tenant's rules through the same cycle as the timer (shared/app/huntTenant.ts). The handler
 * throws only when the job could not be hunted or recorded at all, so the host retries it (and
 * parks it in `<queue>-poison` after maxDequeueCount); a failing tenant is a recorded outcome.
 */
import { app, type InvocationContext, type StorageQueueHandler } from '@azure/functions';
import type { TenantHunts, TenantJobResult } from '../shared/app/huntTenant';
import { contextLogger, type Logger } from '../shared/app/logger';
import { HuntJobFormatError, parseHuntJob } from '../shared/tenants/jobs';

export interface HuntTenantDeps {
  hunts(log: Logger): Promise<TenantHunts>;
}

let cached: Promise<TenantHunts> | undefined;

/** Production wiring, on the first invocation: settings, delivery queue, registry, credentials. */
export const defaultHuntTenantDeps: HuntTenantDeps = {
  hunts(log) {
    cached ??= (async () => {
      const [{ loadSettings }, { createDeliveryRuntime }, { createTenantServices }, { createTenantHunts }] = await Promise.all([
        import('../shared/config/settings'),
        import('../shared/app/deliveryRuntime'),
        import('../shared/app/tenants'),
        import('../shared/app/huntTenant'),
      ]);
      const settings = loadSettings(process.env);
      const delivery = createDeliveryRuntime(settings, log);
      const services = createTenantServices(settings, process.env);
      await Promise.all([delivery.ensureStorage(), services.ensure()]);
      return createTenantHunts({ settings, env: process.env, log, channels: delivery.channels, queue: delivery.queue, services });
    })().catch((error: unknown) => {
      cached = undefined; // a settings or storage error is retried on the next invocation
      throw error;
    });
    return cached;
  },
};

export async function huntTenantHandler(entry: unknown, context: InvocationContext, deps: HuntTenantDeps = defaultHuntTenantDeps): Promise<TenantJobResult | null> {
  const log = contextLogger(context);
  let job;
  try {
    job = parseHuntJob(entry);
  } catch (error) {
    if (!(error instanceof HuntJobFormatError)) throw error;
    // Nothing will make it readable, and the next tick enqueues a fresh job for every due tenant.
    log.error(`hunt job dropped: ${error.message}`);
    return null;
  }
  const dequeueCount = context.triggerMetadata?.dequeueCount;
  if (typeof dequeueCount === 'number' && dequeueCount > 1) {
    log.warn(`hunt job ${job.jobId} handed over again (an earlier invocation failed or its instance stopped): it resumes from the checkpoints`, { tenantId: job.tenant, dequeueCount });
  }
  return (await deps.hunts(log)).run(job);
}

const handler: StorageQueueHandler = async (entry, context) => {
  await huntTenantHandler(entry, context);
};

app.storageQueue('huntTenant', {
  queueName: '%HUNT_JOBS_QUEUE%',
  connection: 'Storage',
  handler,
});

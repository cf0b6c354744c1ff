/**
 * The `hunt` timer: one hunt cycle of every enabled rule on the schedule in HUNT_SCHEDULE
 * (NCRONTAB, default every 10 minutes). A past-due timer (the app was down or scaled to zero)
 * needs no special catch-up: the checkpoint makes the next window start where the last one
 * ended, and the lease keeps an overlapping execution from hunting the same window.
 * With tenants in the registry (docs/tenants.md) the timer only enqueues one hunt job per due
 * tenant; the queue-triggered huntTenant function hunts them.
 */
import { app, type InvocationContext, type Timer } from '@azure/functions';
import type { FanOutResult, HuntFanOut } from '../shared/app/huntFanOut';
import type { HuntRuntime } from '../shared/app/huntRuntime';
import { contextLogger, type Logger } from '../shared/app/logger';
import type { RunRecord } from '../shared/hunt/runRecord';

export interface HuntHandlerDeps {
  /** Builds the runtime for this invocation's logger (cached runtimes are fine). */
  runtime(log: Logger): Promise<HuntRuntime>;
  /** Registry mode: enqueues the tick's hunt jobs and returns what it did; null: single tenant. */
  fanOut?(log: Logger): Promise<FanOutResult | null>;
}

let prepared: Promise<void> | null = null;
let fanOut: Promise<HuntFanOut> | null = null;

/** Production wiring: settings validated once per instance; tables and queues created once. */
export const defaultHuntDeps: HuntHandlerDeps = {
  async runtime(log) {
    // Loaded on the first invocation, not when the host indexes the functions: identity, Graph,
    // storage and rule loading stay out of the cold start of every instance.
    const [{ describeSettings, loadSettings }, { createDeliveryRuntime }, { createHuntRuntime }] = await Promise.all([
      import('../shared/config/settings'),
      import('../shared/app/deliveryRuntime'),
      import('../shared/app/huntRuntime'),
    ]);
    const settings = loadSettings(process.env);
    const delivery = createDeliveryRuntime(settings, log);
    const runtime = createHuntRuntime({ settings, log, channels: delivery.channels, queue: delivery.queue, delivery });
    prepared ??= Promise.all([delivery.ensureStorage(), runtime.ensureStorage()]).then(() => {
      log.info('codesign-hunt settings', describeSettings(settings));
    });
    await prepared.catch((error: unknown) => {
      prepared = null;
      throw error;
    });
    return runtime;
  },
  async fanOut(log) {
    fanOut ??= (async () => {
      const [{ loadSettings }, { createHuntFanOut }] = await Promise.all([import('../shared/config/settings'), import('../shared/app/huntFanOut')]);
      return createHuntFanOut(loadSettings(process.env), process.env);
    })().catch((error: unknown) => {
      fanOut = null;
      throw error;
    });
    return (await fanOut).tick(log, new Date());
  },
};

export async function huntHandler(timer: Timer, context: InvocationContext, deps: HuntHandlerDeps = defaultHuntDeps): Promise<RunRecord[]> {
  const log = contextLogger(context);
  if (timer.isPastDue) {
    log.warn('hunt timer is past due: this cycle continues from the stored checkpoint, backfilling any gap in chunks');
  }
  if (await deps.fanOut?.(log)) return [];
  const runtime = await deps.runtime(log);
  const records = await runtime.runAll();
  // Upkeep rides on the schedule: probing channels paused by failed deliveries.
  await runtime.housekeeping();
  const failed = records.filter((r) => r.outcome === 'failed' || r.outcome === 'throttled');
  if (records.length < runtime.rules.length || failed.length > 0) {
    // Throwing marks the invocation failed in Application Insights; the next timer tick retries.
    throw new Error(`hunt: ${failed.length + runtime.rules.length - records.length} rule(s) did not complete: ${failed.map((r) => `${r.ruleId}: ${r.error ?? r.outcome}`).join('; ')}`);
  }
  return records;
}

app.timer('hunt', {
  schedule: '%HUNT_SCHEDULE%',
  runOnStartup: false,
  useMonitor: true,
  handler: (timer, context) => huntHandler(timer, context).then(() => undefined),
});

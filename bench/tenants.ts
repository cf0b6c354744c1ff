/**
 * Many tenants (issue #16): 200 tenants x 1 rule x 50 rows each, hunted through the production
 * path (registry, the timer's fan-out onto the hunt-jobs queue, the tenant worker, Table and
 * Queue Storage on Azurite, the local Graph for many tenants with a token per tenant) by workers
 * in this process. Prints tenants per minute per worker for 1, 2 and 4 workers, how it grows
 * with the workers, and whether all tenants finish within one 10-minute interval with the queue
 * trigger's configured concurrency (host.json batchSize + newBatchThreshold per instance).
 *
 * `npm run bench -- --only=tenants [--tenants=N]` (not part of the default run: it takes minutes).
 */
import { streamLogger } from '../shared/app/logger';
import { systemClock } from '../shared/clock';
import sample from '../shared/demo/sample-hunting-results.json';
import { configuredQueueConcurrency, createLocalTenantWorld } from '../shared/demo/manyTenants';
import { normaliseHuntingResults } from '../shared/hunting/graphClient';
import { busyDeviceRows, localTenantId } from '../shared/hunting/tenantGraphServer';
import { loadRules } from '../shared/rules/loadRules';
import { startAzurite, type AzuriteInstance } from '../shared/storage/azurite';
import { fmt, log, now, type BenchSection, type MetricRow } from './common';

const INTERVAL_MINUTES = 10;

export interface TenantsRun {
  workers: number;
  tenants: number;
  seconds: number;
  tenantsPerMinute: number;
  tenantsPerMinutePerWorker: number;
  /** CPU of this process (the workers; Azurite is another process) per tenant job. */
  cpuMsPerTenant: number;
  failed: number;
}

export interface TenantsRaw {
  rowsPerTenant: number;
  configuredConcurrency: number;
  runs: TenantsRun[];
}

let counter = 0;
const name = (purpose: string): string => `${purpose}${Date.now().toString(36)}${(counter++).toString(36)}`.replace(/[^a-z0-9]/g, '');

async function runOnce(azurite: AzuriteInstance, tenants: number, rows: number, workers: number): Promise<TenantsRun> {
  const start = systemClock.now().getTime();
  const data = busyDeviceRows(normaliseHuntingResults(sample), rows, start - 55 * 60_000, start - 10 * 60_000);
  const world = await createLocalTenantWorld({
    storage: azurite.connectionString,
    clock: systemClock,
    log: streamLogger(() => undefined, { quiet: true }),
    name,
    rules: loadRules(),
  });
  try {
    for (let i = 0; i < tenants; i++) await world.addTenant({ key: `tenant-${String(i).padStart(4, '0')}`, tid: localTenantId(i + 1), rows: data });
    await world.tick();
    const started = now();
    const cpu = process.cpuUsage();
    const drained = await world.drain(workers);
    const seconds = (now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const cpuMsPerTenant = (used.user + used.system) / 1000 / Math.max(1, drained.handled);
    const failed = world.results.filter((r) => r.outcome !== 'succeeded').length + drained.failed;
    const tenantsPerMinute = (drained.handled / seconds) * 60;
    return { workers, tenants: drained.handled, seconds, tenantsPerMinute, tenantsPerMinutePerWorker: tenantsPerMinute / workers, cpuMsPerTenant, failed };
  } finally {
    await world.close();
  }
}

export async function benchTenants(options: { tenants: number; rows: number; workers: number[] }): Promise<BenchSection<TenantsRaw>> {
  const azurite = await startAzurite();
  const configured = configuredQueueConcurrency();
  const runs: TenantsRun[] = [];
  try {
    for (const workers of [...options.workers, configured]) {
      const run = await runOnce(azurite, options.tenants, options.rows, workers);
      log(
        `tenants: ${run.tenants} tenants with ${workers} worker(s) in ${fmt(run.seconds, 1)} s: ${fmt(run.tenantsPerMinute, 0)} tenants/min, ` +
          `${fmt(run.tenantsPerMinutePerWorker, 1)} per worker, ${fmt(run.cpuMsPerTenant, 0)} ms CPU per tenant${run.failed ? `, ${run.failed} FAILED` : ''}`,
      );
      runs.push(run);
    }
  } finally {
    await azurite.stop();
  }
  const one = runs.find((r) => r.workers === 1);
  const rows: MetricRow[] = runs.slice(0, options.workers.length).map((run) => ({
    id: `tenants.perWorker.${run.workers}`,
    metric: `tenants/min per worker, ${run.workers} worker(s)`,
    value: run.tenantsPerMinutePerWorker,
    unit: '/min',
    target: '-',
    pass: null,
    note: `${fmt(run.tenantsPerMinute, 0)} tenants/min in all${one && run !== one ? `, ${fmt(run.tenantsPerMinute / one.tenantsPerMinute, 2)}x one worker` : ''}, ${fmt(run.cpuMsPerTenant, 0)} ms CPU/tenant`,
  }));
  const atConfigured = runs[runs.length - 1];
  if (atConfigured) {
    rows.push({
      id: 'tenants.interval',
      metric: `${atConfigured.tenants} tenants at the configured concurrency (${configured})`,
      value: atConfigured.seconds / 60,
      unit: 'min',
      target: `< ${INTERVAL_MINUTES}`,
      pass: atConfigured.failed === 0 && atConfigured.tenants === options.tenants && atConfigured.seconds / 60 < INTERVAL_MINUTES,
      note: `${fmt(atConfigured.tenantsPerMinute, 0)} tenants/min on one instance`,
    });
  }
  return {
    rows,
    raw: { rowsPerTenant: options.rows, configuredConcurrency: configured, runs },
    notes: [
      `tenants: ${options.tenants} tenants x 1 rule x ${options.rows} rows, one job per tenant through the hunt-jobs queue. The workers share this process's event loop and one Azurite, ` +
        `so on a machine whose CPU they already fill more workers cannot add throughput; in Azure each instance brings its own CPU, and the queue trigger adds instances`,
    ],
  };
}

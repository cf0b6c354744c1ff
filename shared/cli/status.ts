/**
 * `codesign-hunt status [--json] [--now ISO]`: the per-tenant lag table, worst first: tenant,
 * state (active, paused, backoff, unhealthy), last success, lag of its oldest rule checkpoint,
 * last error and where its Graph call budget stands. In single-tenant mode the one tenant of the
 * settings, from its checkpoints and run records.
 */
import { createTenantServices } from '../app/tenants';
import { ConfigError, loadSettings } from '../config/settings';
import { CheckpointStore } from '../hunt/checkpointStore';
import { StorageFactory } from '../storage/clients';
import { formatLagTable, lagRowOf, type LagRow } from '../tenants/lag';
import { quotaPolicy } from '../tenants/quota';
import { resolveTenantMode, settingsForTenant } from '../tenants/registry';
import type { TenantJobStatus } from '../tenants/status';
import { parseOptions, UsageError, type CliIo } from './io';

/** Without a status row (single-tenant mode) the run records say when it last succeeded. */
async function statusFromRuns(checkpoints: CheckpointStore, tenant: string, ruleIds: readonly string[]): Promise<TenantJobStatus | null> {
  let lastSuccessAt: string | null = null;
  let lastError: string | null = null;
  let lastErrorAt = '';
  for (const ruleId of ruleIds) {
    for (const run of await checkpoints.listRuns(tenant, ruleId, 20)) {
      if ((run.outcome === 'succeeded' || run.outcome === 'partial') && (!lastSuccessAt || run.finishedAt > lastSuccessAt)) lastSuccessAt = run.finishedAt;
      if (run.error && run.startedAt > lastErrorAt) {
        lastError = run.error;
        lastErrorAt = run.startedAt;
      }
    }
  }
  if (lastErrorAt && lastSuccessAt && lastSuccessAt > lastErrorAt) lastError = null;
  return {
    key: tenant,
    lastJobId: null,
    lastCompletedSlot: null,
    lastStartedAt: null,
    lastFinishedAt: null,
    lastOutcome: null,
    lastSuccessAt,
    lastError,
    lastProblem: null,
    consecutiveFailures: 0,
    backoffUntil: null,
    etag: null,
  };
}

export async function runStatusCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['now'], flags: ['json'] });
  if (positional.length > 0) throw new UsageError('status takes no arguments');
  const now = values.now ? new Date(values.now) : new Date();
  if (Number.isNaN(now.getTime())) throw new UsageError('--now must be an ISO 8601 time');
  const settings = loadSettings(io.env);
  const storage = new StorageFactory(settings.storage);
  const services = createTenantServices(settings, io.env, { storage });
  await services.ensure();
  const checkpoints = new CheckpointStore(storage.table(settings.tables.checkpoints));
  await checkpoints.ensure();
  const mode = await resolveTenantMode(settings, services.store);
  const tenants = mode.kind === 'single' ? [mode.tenant] : mode.tenants;
  const statuses = mode.kind === 'single' ? new Map<string, TenantJobStatus>() : await services.statuses.readAll();

  const rows: LagRow[] = [];
  for (const tenant of tenants) {
    let tenantSettings = settings;
    let configProblem: string | null = null;
    try {
      if (mode.kind === 'registry') tenantSettings = settingsForTenant(io.env, tenant);
    } catch (error) {
      // One tenant's bad override must not hide every other tenant's line.
      if (!(error instanceof ConfigError)) throw error;
      configProblem = `configuration: ${error.problems.join('; ')}`;
    }
    const ruleIds = tenant.ruleIds ?? tenantSettings.ruleIds;
    const states = await Promise.all(ruleIds.map((ruleId) => checkpoints.read(tenant.key, ruleId)));
    const policy = quotaPolicy(tenantSettings.hunt.maxCallsPerMinute);
    const row = lagRowOf({
      tenant,
      checkpoints: states,
      status: statuses.get(tenant.key) ?? (await statusFromRuns(checkpoints, tenant.key, ruleIds)),
      quota: await services.counters.forTenant(tenant.key, policy).current(now.getTime()),
      limit: policy.maxCallsPerMinute,
      now,
    });
    rows.push(configProblem ? { ...row, lastError: configProblem } : row);
  }
  if (flags.has('json')) {
    io.stdout(`${JSON.stringify({ mode: mode.kind, at: now.toISOString(), tenants: rows, unreadable: mode.kind === 'registry' ? mode.unreadable : [] })}\n`);
  } else {
    io.stdout(`${formatLagTable(rows, now)}\n`);
    if (mode.kind === 'registry') for (const bad of mode.unreadable) io.stdout(`${bad.key}: UNREADABLE registry row, not hunted: ${bad.problem}\n`);
  }
  return mode.kind === 'registry' && mode.unreadable.length > 0 ? 1 : 0;
}

/**
 * `runs [--tenant KEY] [--rule ID] [--limit N] [--json]`: the most recent hunt cycles from the run
 * records, newest first: when, which windows, what was found and how each ended. `--tenant` reads
 * another tenant's records (default: TENANT_ID), with its rules when it is in the registry.
 */
import { loadSettings } from '../config/settings';
import { CheckpointStore } from '../hunt/checkpointStore';
import { StorageFactory } from '../storage/clients';
import { TenantStore } from '../tenants/store';
import { settingsForTenant } from '../tenants/registry';
import { parseOptions, UsageError, type CliIo } from './io';

export async function runRunsCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['rule', 'limit', 'storage', 'tenant'], flags: ['json'] });
  if (positional.length > 0) throw new UsageError('runs takes no arguments');
  const limit = values.limit ? Number(values.limit) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  const env = values.storage ? { ...io.env, Storage: values.storage } : io.env;
  const settings = loadSettings(env);
  const storage = new StorageFactory(settings.storage);
  const store = new CheckpointStore(storage.table(settings.tables.checkpoints));
  await store.ensure();
  const tenantId = values.tenant ?? settings.tenantId;
  const registered = values.tenant ? await new TenantStore(storage.table(settings.tables.tenants)).get(values.tenant) : null;
  const ruleIds = values.rule ? [values.rule] : registered ? settingsForTenant(env, registered).ruleIds : settings.ruleIds;
  for (const ruleId of ruleIds) {
    const state = await store.read(tenantId, ruleId);
    const runs = await store.listRuns(tenantId, ruleId, limit);
    if (flags.has('json')) {
      io.stdout(`${JSON.stringify({ tenantId, ruleId, checkpoint: state.checkpoint, health: state.unhealthy || 'healthy', runs })}\n`);
      continue;
    }
    io.stdout(
      `${tenantId} / ${ruleId}: checkpoint ${state.checkpoint?.toISOString() ?? 'never set'}, ` +
        `${state.unhealthy ? `UNHEALTHY (${state.unhealthy}) since ${state.unhealthySince?.toISOString() ?? '?'}` : 'healthy'}, ` +
        `${state.consecutiveFailures} failure(s) in a row\n`,
    );
    if (runs.length === 0) io.stdout('  no runs recorded\n');
    for (const run of runs) {
      const windows = run.windows.length ? `${run.windows[0]?.start} .. ${run.windows[run.windows.length - 1]?.end}` : 'no window';
      io.stdout(
        `  ${run.startedAt}  ${run.outcome.padEnd(9)} ${windows}  rows ${run.counts.rows ?? 0}, findings ${run.counts.findings ?? 0}, ` +
          `suppressed ${run.counts.suppressed ?? 0}, new incidents ${run.counts.incidentsNew ?? 0}${run.error ? `  (${run.error})` : ''}\n`,
      );
    }
  }
  return 0;
}

/**
 * `runs [--rule ID] [--limit N] [--json]`: the most recent hunt cycles from the run records, newest
 * first: when, which windows, what was found and how each ended.
 */
import { loadSettings } from '../config/settings';
import { CheckpointStore } from '../hunt/checkpointStore';
import { StorageFactory } from '../storage/clients';
import { parseOptions, UsageError, type CliIo } from './io';

export async function runRunsCommand(argv: string[], io: CliIo): Promise<number> {
  const { positional, values, flags } = parseOptions(argv, { values: ['rule', 'limit', 'storage'], flags: ['json'] });
  if (positional.length > 0) throw new UsageError('runs takes no arguments');
  const limit = values.limit ? Number(values.limit) : 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be a whole number from 1 to 1000');
  const env = values.storage ? { ...io.env, Storage: values.storage } : io.env;
  const settings = loadSettings(env);
  const store = new CheckpointStore(new StorageFactory(settings.storage).table(settings.tables.checkpoints));
  await store.ensure();
  const ruleIds = values.rule ? [values.rule] : settings.ruleIds;
  for (const ruleId of ruleIds) {
    const state = await store.read(settings.tenantId, ruleId);
    const runs = await store.listRuns(settings.tenantId, ruleId, limit);
    if (flags.has('json')) {
      io.stdout(`${JSON.stringify({ tenantId: settings.tenantId, ruleId, checkpoint: state.checkpoint, health: state.unhealthy || 'healthy', runs })}\n`);
      continue;
    }
    io.stdout(
      `${settings.tenantId} / ${ruleId}: checkpoint ${state.checkpoint?.toISOString() ?? 'never set'}, ` +
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

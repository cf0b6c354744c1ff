/**
 * Replay: the whole hunt pipeline, offline, over a saved results file, as the scheduled cycles
 * would have seen those rows. The file's rows are served as the hunting source, answering each
 * window by ingestion time exactly as Defender does; a clock steps through the rule's schedule
 * from the first row's arrival until every held-back update is due; each step runs the real hunt
 * cycle (createHuntRuntime, the same wiring as the function app) on in-memory tables. So the
 * incidents, their ids and their announcements are the ones the deployed app makes from the same
 * rows (test/integration/incidents/replayEqualsDeployment.test.ts holds it to that), and a team
 * can try a tuning change (settings, allowlist, code) on last week's export before deploying it.
 */
import type { Clock } from '../clock';
import type { Settings } from '../config/settings';
import { loadSettings } from '../config/settings';
import { compileAllowlist, suppress } from '../allowlist/matcher';
import type { AllowlistEntry } from '../allowlist/entry';
import { rowsForQuery } from '../demo/windowedReplay';
import type { SuppressionStage } from '../hunt/cycle';
import type { RunRecord } from '../hunt/runRecord';
import type { HuntingQueryResults, HuntingSource } from '../hunting/types';
import type { Finding } from '../model/finding';
import { SEVERITIES } from '../model/finding';
import { CONFIDENCES, type Incident } from '../model/incident';
import type { Channel } from '../notify/channels';
import type { NotificationMessage } from '../notify/message';
import type { DeliveryQueuePort } from '../notify/queue';
import { loadRules } from '../rules/loadRules';
import type { RuleDefinition } from '../rules/rule';
import { MemoryTables } from '../storage/memoryTable';
import { IncidentCollector } from '../incidents/collect';
import { createHuntRuntime } from './huntRuntime';
import type { Logger } from './logger';

/** The cycles a schedule runs over a file: when the first one runs, how often, how many. */
export interface ReplaySchedule {
  /** `now` of the first cycle. */
  start: Date;
  intervalMs: number;
  cycles: number;
  /** The first cycle's look-back: it starts at the earliest arrival, as a steady schedule would. */
  initialLookbackMs: number;
}

function arrivalOf(row: Record<string, unknown>): number {
  const value = row.IngestionTime ?? row.ingestionTime ?? row.Timestamp ?? row.timestamp;
  return typeof value === 'string' || typeof value === 'number' ? Date.parse(String(value)) : Number.NaN;
}

/**
 * The schedule that sees every row of `results`: cycles every `intervalMs` (aligned to it, as the
 * timer is), the first one as soon as the earliest row is past the ingestion delay, the last one
 * once the latest row is hunted and a held-back update (`updateIntervalMs`) has gone out.
 */
export function replaySchedule(
  results: HuntingQueryResults,
  options: { intervalMs: number; ingestionDelayMs: number; updateIntervalMs: number },
): ReplaySchedule | null {
  let first = Number.POSITIVE_INFINITY;
  let last = Number.NEGATIVE_INFINITY;
  for (const row of results.results) {
    const t = arrivalOf(row);
    if (Number.isNaN(t)) continue;
    first = Math.min(first, t);
    last = Math.max(last, t);
  }
  if (!Number.isFinite(first)) return null;
  const { intervalMs, ingestionDelayMs, updateIntervalMs } = options;
  const startMs = Math.floor((first + ingestionDelayMs) / intervalMs) * intervalMs + intervalMs;
  const endMs = last + ingestionDelayMs + intervalMs + updateIntervalMs;
  const cycles = Math.max(1, Math.ceil((endMs - startMs) / intervalMs) + 1);
  return { start: new Date(startMs), intervalMs, cycles, initialLookbackMs: startMs - ingestionDelayMs - first + 60_000 };
}

/** Answers each query with the file's rows whose arrival falls in the query's window. */
export function fileHuntingSource(results: HuntingQueryResults): HuntingSource {
  return {
    async runHuntingQuery(request, signal) {
      signal?.throwIfAborted();
      return structuredClone(rowsForQuery(results, request.query));
    },
  };
}

/** The environment replay runs with: the caller's settings, with storage, Graph and rules its own. */
export function replayEnvironment(env: NodeJS.ProcessEnv, ruleId: string, schedule: ReplaySchedule | null): NodeJS.ProcessEnv {
  return {
    ...env,
    // Never used (tables are in memory, the source is the file), but settings require them.
    Storage: 'UseDevelopmentStorage=true',
    GRAPH_BASE_URL: 'http://127.0.0.1',
    GRAPH_AUTH: 'none',
    HUNT_RULES: ruleId,
    NOTIFY_CHANNELS: '[]',
    ...(schedule ? { HUNT_INITIAL_LOOKBACK_MINUTES: String(Math.ceil(schedule.initialLookbackMs / 60_000)) } : {}),
  };
}

/** A clock the replay moves: a cycle never waits in real time (pacing and retries advance it). */
export function steppingClock(start: Date): Clock & { set(at: Date): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms) => void (now += ms),
    set: (at) => void (now = Math.max(now, at.getTime())),
  };
}

/** A notification queue that keeps what is enqueued, in order. */
export class CollectingQueue implements Pick<DeliveryQueuePort, 'enqueue'> {
  readonly messages: NotificationMessage[] = [];
  async enqueue(messages: readonly NotificationMessage[]): Promise<void> {
    this.messages.push(...messages);
  }
}

export interface ReplayOptions {
  results: HuntingQueryResults;
  ruleId: string;
  /** Settings as the deployment would have them (INCIDENT_*, TENANT_ID, ...). */
  env: NodeJS.ProcessEnv;
  /** Entries to suppress with instead of a stored allowlist. */
  allowlist?: readonly AllowlistEntry[];
  /** Channels the announcements are routed to (the CLI's `--out` folder channel). */
  channels?: readonly Channel[];
  log: Logger;
  rules?: RuleDefinition[];
}

export interface ReplayOutcome {
  settings: Settings;
  schedule: ReplaySchedule | null;
  /** Every incident, as the store holds it at the end, with every finding id it ever took. */
  incidents: Incident[];
  /** What the cycles saw after suppression, in order (a finding seen twice is listed once). */
  findings: Finding[];
  messages: NotificationMessage[];
  runs: RunRecord[];
}

function fileSuppression(entries: readonly AllowlistEntry[], clock: Clock): SuppressionStage {
  return {
    async suppress(findings, tenantId) {
      const result = suppress(findings, compileAllowlist([...entries], clock.now()), tenantId, clock.now());
      const hits: Record<string, number> = {};
      for (const [id, hit] of result.hits) hits[id] = hit.count;
      return { findings: result.findings, hits };
    },
  };
}

function maxOf<T extends string>(scale: readonly T[], a: T, b: T): T {
  return scale.indexOf(a) >= scale.indexOf(b) ? a : b;
}

/** Runs the schedule over the file and returns the incidents the store ends with. */
export async function replayResults(options: ReplayOptions): Promise<ReplayOutcome> {
  const allRules = options.rules ?? loadRules();
  const rule = allRules.find((r) => r.id === options.ruleId);
  if (!rule) throw new Error(`no rule '${options.ruleId}' in rules/ (known: ${allRules.map((r) => r.id).join(', ')})`);
  const probe = loadSettings(replayEnvironment(options.env, rule.id, null));
  const schedule = replaySchedule(options.results, {
    intervalMs: rule.schedule.interval.ms,
    ingestionDelayMs: probe.hunt.ingestionDelayMs ?? rule.ingestionDelay.ms,
    updateIntervalMs: probe.incidents.updateIntervalMs,
  });
  const settings = loadSettings(replayEnvironment(options.env, rule.id, schedule));
  const clock = steppingClock(schedule?.start ?? new Date(0));
  const tables = new MemoryTables();
  const queue = new CollectingQueue();
  const built = new IncidentCollector();
  const findings = new Map<string, Finding>();
  const runtime = createHuntRuntime({
    settings,
    log: options.log,
    clock,
    channels: options.channels ?? [],
    queue,
    source: fileHuntingSource(options.results),
    rules: allRules,
    tables: (name) => tables.table(name),
    ...(options.allowlist ? { suppression: fileSuppression(options.allowlist, clock) } : {}),
    onFindings: (batch) => {
      for (const f of batch) if (!findings.has(f.id)) findings.set(f.id, f);
    },
    onIncidentsBuilt: (incidents) => built.add(incidents),
  });
  await runtime.ensureStorage();
  const runs: RunRecord[] = [];
  if (schedule) {
    for (let k = 0; k < schedule.cycles; k++) {
      clock.set(new Date(schedule.start.getTime() + k * schedule.intervalMs));
      runs.push(...(await runtime.runAll()));
    }
  }

  const incidents: Incident[] = [];
  for (const incident of built.incidents()) {
    const stored = await runtime.incidents.get(incident.tenantId, incident.ruleId, incident.id);
    incidents.push({
      ...incident,
      // What the store accumulated over every cycle wins where it knows more.
      title: stored?.title || incident.title,
      chain: incident.chain || (stored?.chain ?? false),
      severity: stored ? maxOf(SEVERITIES, stored.severity, incident.severity) : incident.severity,
      confidence: stored ? maxOf(CONFIDENCES, stored.confidence, incident.confidence) : incident.confidence,
      status: stored?.status ?? incident.status,
      findingCount: Math.max(incident.findingIds.length, stored?.findingCount ?? 0),
      // The last revision the schedule announced (0: never announced, e.g. below every channel).
      revision: stored?.revision ?? incident.revision,
    });
  }
  return { settings, schedule, incidents, findings: [...findings.values()], messages: queue.messages, runs };
}

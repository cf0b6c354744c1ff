/**
 * The composition root of a hunt: from validated settings to a ready `runHuntCycle` per rule,
 * with the real adapters (Graph, Table and Queue Storage) or the ones a caller passes (the
 * demo's local Graph server, a test's fixed clock). The timer function, the CLI and the demo all
 * come through here, so they run the same code path.
 */
import type { TableClient } from '@azure/data-tables';
import { AllowlistStore } from '../allowlist/store';
import { compileAllowlist, suppress } from '../allowlist/matcher';
import { RecentFindingsStore, type RecordedFinding } from '../allowlist/recentFindings';
import { systemClock, type Clock } from '../clock';
import type { Settings } from '../config/settings';
import { CheckpointStore } from '../hunt/checkpointStore';
import { CallPacer, type CallBudget } from '../hunt/executeQuery';
import { runHuntCycle, type CycleSettings, type HuntRule, type IncidentStage, type SuppressionStage } from '../hunt/cycle';
import type { RunRecord } from '../hunt/runRecord';
import { createTokenCredential } from '../hunting/credentials';
import { resolveGraphEndpoint } from '../hunting/clouds';
import { GraphHuntingClient } from '../hunting/graphClient';
import type { HuntingSource } from '../hunting/types';
import { processIncidentBatch } from '../incidents/pipeline';
import { StoryMemory } from '../incidents/storyMemory';
import { IncidentStore } from '../incidents/store';
import type { RuleContext } from '../enrich/rule-context';
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import type { Channel } from '../notify/channels';
import type { Announcement } from '../notify/message';
import type { DeliveryDeps } from '../notify/deliver';
import { probeDueChannels } from '../notify/probe';
import { purgeExpired, takePurgeTurn, type PurgeSummary, type RetentionTables } from '../retention/purge';
import type { DeliveryQueuePort } from '../notify/queue';
import { loadRules } from '../rules/loadRules';
import { renderQuery, timespanFor } from '../rules/renderQuery';
import type { RuleDefinition } from '../rules/rule';
import type { StageHook } from '../stages';
import { StorageFactory, type StoragePolicy } from '../storage/clients';
import type { Logger } from './logger';
import { createQueueChangeNotifier, createHealthStage, enqueueAnnouncements, HEALTH_ALERT_MARKER, ignoredEntriesAlert, type NotificationPath } from './notifications';

export interface HuntRuntimeOptions {
  settings: Settings;
  log: Logger;
  channels: readonly Channel[];
  queue: Pick<DeliveryQueuePort, 'enqueue'>;
  clock?: Clock;
  source?: HuntingSource;
  rules?: RuleDefinition[];
  storagePolicies?: StoragePolicy[];
  /** Tables by name instead of the storage account (`replay` runs on in-memory tables). */
  tables?: (name: string) => TableClient;
  /** Suppression instead of the stored allowlist (`replay --allowlist FILE`). */
  suppression?: SuppressionStage;
  random?: () => number;
  /** The tenant's call budget; default: a pacer of this process (one tenant, one timer). */
  pacer?: CallBudget;
  onFindings?: (findings: Finding[]) => void;
  /** Sees every incident announcement as it is enqueued (the demo prints them). */
  onAnnouncements?: (announcements: Announcement[]) => void;
  /** The deliverer's dependencies: with them, `housekeeping` probes paused channels. */
  delivery?: DeliveryDeps;
  /** Reached between durable steps (shared/stages.ts): the fault-injection test's kill points. */
  onStage?: StageHook;
  /** Sees every incident each cycle builds, before the store merges it (replay collects them). */
  onIncidentsBuilt?: (incidents: readonly Incident[]) => void;
}

export interface HousekeepingSummary {
  /** Paused channels probed, with the outcome of each probe. */
  probed: Array<{ channelId: string; outcome: string }>;
  /** Rows purged per table, when this run took the hourly purge turn; null otherwise. */
  purged: PurgeSummary | null;
}

/** The Graph client for the configured cloud and credential. */
export function createGraphSource(settings: Settings): HuntingSource {
  const graph = settings.graph;
  if (graph.auth === 'none') {
    return new GraphHuntingClient({ baseUrl: graph.baseUrl, authentication: 'none', timeoutMs: graph.timeoutMs });
  }
  const endpoint = resolveGraphEndpoint(graph.baseUrl);
  const authorityHost = endpoint.authorityHost;
  const credential =
    graph.auth === 'managed-identity'
      ? createTokenCredential({ kind: 'managed-identity', clientId: graph.clientId ?? undefined, authorityHost })
      : graph.auth === 'client-secret'
        ? createTokenCredential({
            kind: 'client-secret',
            tenantId: graph.azureTenantId ?? '',
            clientId: graph.clientId ?? '',
            clientSecret: graph.clientSecret ?? '',
            authorityHost,
          })
        : graph.auth === 'client-certificate'
          ? createTokenCredential({
              kind: 'client-certificate',
              tenantId: graph.azureTenantId ?? '',
              clientId: graph.clientId ?? '',
              certificatePath: graph.certificatePath ?? '',
              authorityHost,
            })
          : createTokenCredential({ kind: 'default', authorityHost });
  return new GraphHuntingClient({ baseUrl: graph.baseUrl, authentication: 'entra', credential, timeoutMs: graph.timeoutMs });
}

export function ruleContextOf(rule: RuleDefinition): RuleContext {
  return {
    id: rule.id,
    name: rule.name,
    severity: rule.severity,
    confidence: rule.confidence,
    attack: rule.attack.map((a) => ({ id: a.id, name: a.name, url: a.url })),
    falsePositives: rule.falsePositives,
    query: rule.query,
  };
}

/**
 * The rule as the cycle runs it. `| take rowLimit` bounds every answer, so one response never
 * holds more rows (or memory) than HUNT_ROW_LIMIT allows; an answer that reaches the limit is
 * split into smaller windows and re-run (shared/hunt/executeQuery.ts), so nothing is lost.
 */
export function huntRuleOf(rule: RuleDefinition, timespanMarginMs: number, rowLimit: number): HuntRule {
  return {
    id: rule.id,
    severity: rule.severity,
    render: (window) => ({
      query: `${renderQuery(rule, window).trimEnd()}\n| take ${rowLimit}`,
      timespan: timespanFor(window, timespanMarginMs),
    }),
  };
}

export function cycleSettingsFor(settings: Settings, rule: RuleDefinition): CycleSettings {
  const hunt = settings.hunt;
  return {
    ingestionDelayMs: hunt.ingestionDelayMs ?? rule.ingestionDelay.ms,
    overlapMs: hunt.overlapMs ?? rule.overlap.ms,
    initialLookbackMs: hunt.initialLookbackMs,
    backfillChunkMs: hunt.backfillChunkMs,
    maxChunksPerCycle: hunt.maxChunksPerCycle,
    cycleBudgetMs: hunt.cycleBudgetMs,
    maxCallsPerMinute: hunt.maxCallsPerMinute,
    rowLimit: hunt.rowLimit,
    minSplitWindowMs: hunt.minSplitWindowMs,
    leaseMs: hunt.leaseMs,
    healthFailureThreshold: settings.health.failureThreshold,
    healthMaxLagMs: settings.health.maxLagMs,
  };
}

export interface HuntRuntime {
  rules: RuleDefinition[];
  storage: StorageFactory;
  checkpoints: CheckpointStore;
  allowlist: AllowlistStore;
  /** Every finding of the last days, for allowlist breadth and the page's preview. */
  recentFindings: RecentFindingsStore;
  incidents: IncidentStore;
  notifications: NotificationPath;
  /** Creates the tables (idempotent). */
  ensureStorage(): Promise<void>;
  /** One cycle of every enabled rule, in order; one rule's failure does not stop the next. */
  runAll(): Promise<RunRecord[]>;
  /**
   * The timer's upkeep after the cycles: probes channels whose pause is over, and (at most hourly)
   * purges rows past their retention. Failures are logged, never thrown: upkeep must not fail a hunt.
   */
  housekeeping(): Promise<HousekeepingSummary>;
}

export function createHuntRuntime(options: HuntRuntimeOptions): HuntRuntime {
  const { settings, log } = options;
  const clock = options.clock ?? systemClock;
  const storage = new StorageFactory(settings.storage, { policies: options.storagePolicies });
  const table = options.tables ?? ((name: string) => storage.table(name));
  const allRules = options.rules ?? loadRules();
  const rules = settings.ruleIds.map((id) => {
    const rule = allRules.find((r) => r.id === id);
    if (!rule) throw new Error(`HUNT_RULES names rule '${id}', which is not in rules/ (known: ${allRules.map((r) => r.id).join(', ')})`);
    return rule;
  });
  const notifications: NotificationPath = {
    channels: options.channels,
    queue: options.queue,
    digestThreshold: settings.delivery.digestThreshold,
    now: () => clock.now(),
  };
  const checkpoints = new CheckpointStore(table(settings.tables.checkpoints));
  const allowlist = new AllowlistStore({
    entries: table(settings.tables.allowlist),
    audit: table(settings.tables.allowlistAudit),
    clock,
    notifier: createQueueChangeNotifier(notifications),
    logger: { warn: (...args: unknown[]) => log.warn(args.map(String).join(' ')) },
  });
  const recentFindings = new RecentFindingsStore(table(settings.tables.recentFindings));
  /** Bookkeeping for previews: a failure is logged, never fails the cycle. */
  const recordRecent = async (tenantId: string, items: RecordedFinding[]): Promise<void> => {
    try {
      await recentFindings.record(tenantId, items, clock.now());
    } catch (error) {
      log.warn(`recent findings not recorded (allowlist previews will miss them): ${(error as Error).message}`);
    }
  };
  let purgedDay = '';
  const purgeRecent = async (): Promise<void> => {
    const now = clock.now();
    const day = now.toISOString().slice(0, 10);
    if (day === purgedDay) return;
    try {
      await recentFindings.purgeBefore(new Date(now.getTime() - (settings.allowlist.previewLookbackDays + 1) * 86_400_000));
      purgedDay = day;
    } catch (error) {
      log.warn(`recent findings not purged: ${(error as Error).message}`);
    }
  };
  const incidentTable = table(settings.tables.incidents);
  const incidents = new IncidentStore(incidentTable);
  const storyParams = {
    gapMs: settings.incidents.storyGapMs,
    windowMs: settings.incidents.groupingWindowMs,
    maxSpanMs: settings.incidents.storyMaxSpanMs,
  };
  const stories = new StoryMemory(table(settings.tables.recentSteps), { params: storyParams });
  const ruleContexts = new Map(rules.map((r) => [r.id, ruleContextOf(r)]));
  const source = options.source ?? createGraphSource(settings);
  const pacer = options.pacer ?? new CallPacer(settings.hunt.maxCallsPerMinute);

  const alertedIgnored = new Set<string>();
  const suppression: SuppressionStage = options.suppression ?? {
    async suppress(findings, tenantId) {
      // Only entries that came through the audited path count; any other is reported, loudly.
      const { entries, ignored } = await allowlist.listEffectiveEntries();
      const alert = ignored.length > 0 ? ignoredEntriesAlert(tenantId, ignored, clock.now()) : null;
      // Once per instance and set of entries (every rule's cycle sees the same list); across
      // instances the alert's stable id lets the delivery ledger send it once.
      if (alert && !alertedIgnored.has(alert.key)) {
        alertedIgnored.add(alert.key);
        log.error(`${HEALTH_ALERT_MARKER}: ${alert.summary}`, { marker: 'ALLOWLIST_ENTRY_IGNORED', code: alert.code, entries: ignored.map((i) => i.id).join(',') });
        await enqueueAnnouncements(notifications, [{ kind: 'health', health: alert }]);
      }
      const matcher = compileAllowlist(entries, clock.now());
      const result = suppress(findings, matcher, tenantId, clock.now());
      await recordRecent(
        tenantId,
        result.findings.filter((f) => f.suppressedBy !== null).map((finding) => ({ finding, incident: null })),
      );
      if (result.hits.size > 0) {
        try {
          await allowlist.recordHits(result.hits);
        } catch (error) {
          // Hit counters are bookkeeping: the suppression itself is on the findings and the run record.
          log.warn(`allowlist hit counters not updated: ${(error as Error).message}`);
        }
      }
      const hits: Record<string, number> = {};
      for (const [id, hit] of result.hits) hits[id] = hit.count;
      return { findings: result.findings, hits };
    },
  };

  function incidentStageFor(rule: RuleDefinition): IncidentStage {
    const context = ruleContextOf(rule);
    return {
      async process(findings, { tenantId }) {
        const now = clock.now();
        const batch = await processIncidentBatch(findings, {
          incidents,
          stories,
          build: {
            tenantId,
            rule: context,
            rules: ruleContexts,
            story: storyParams,
            chainWindowMs: settings.incidents.chainWindowMs,
            allowlistBaseUrl: settings.incidents.allowlistBaseUrl ?? undefined,
            portalBaseUrl: settings.incidents.portalBaseUrl,
          },
          now,
          updateIntervalMs: settings.incidents.updateIntervalMs,
          ...(options.onIncidentsBuilt ? { onBuilt: options.onIncidentsBuilt } : {}),
        });
        const announcements: Announcement[] = batch.announcements.map((a) => ({
          kind: 'incident',
          event: a.kind === 'new' ? 'created' : 'updated',
          incident: a.incident,
          mintedAt: a.mintedAt,
        }));
        const incidentOf = new Map<string, RecordedFinding['incident']>();
        for (const incident of batch.incidents) {
          for (const id of incident.findingIds) incidentOf.set(id, { id: incident.id, severity: incident.severity, chain: incident.chain });
        }
        await recordRecent(tenantId, findings.map((finding) => ({ finding, incident: incidentOf.get(finding.id) ?? null })));
        await purgeRecent();
        await options.onStage?.('incidents-stored');
        const enqueued = await enqueueAnnouncements(notifications, announcements);
        await options.onStage?.('notifications-enqueued');
        options.onAnnouncements?.(announcements);
        // Only after the messages are durably on the queue: a crash before this re-sends them.
        await batch.commit();
        await options.onStage?.('incidents-marked');
        return { incidentsNew: batch.counts.new, incidentsUpdated: batch.counts.updated, notificationsEnqueued: enqueued };
      },
    };
  }

  const health = createHealthStage(notifications, log);

  return {
    rules,
    storage,
    checkpoints,
    allowlist,
    recentFindings,
    incidents,
    notifications,
    async ensureStorage() {
      await Promise.all([
        checkpoints.ensure(),
        allowlist.ensureTables(),
        recentFindings.ensure(),
        incidentTable.createTable(),
        stories.ensure(),
      ]);
    },
    async housekeeping() {
      const summary: HousekeepingSummary = { probed: [], purged: null };
      if (options.delivery) {
        try {
          summary.probed = (await probeDueChannels(options.delivery)).probed;
        } catch (error) {
          log.error(`paused channels could not be probed: ${(error as Error).message}`);
        }
      }
      try {
        const checkpointTable = storage.table(settings.tables.checkpoints);
        if (await takePurgeTurn(checkpointTable, clock.now())) {
          const tables: RetentionTables = {
            incidents: incidentTable,
            recentSteps: storage.table(settings.tables.recentSteps),
            checkpoints: checkpointTable,
            deliveries: storage.table(settings.tables.deliveries),
            allowlist: storage.table(settings.tables.allowlist),
            allowlistAudit: storage.table(settings.tables.allowlistAudit),
          };
          summary.purged = await purgeExpired(tables, settings.retention, clock.now());
          log.info('retention purge', { ...summary.purged });
        }
      } catch (error) {
        log.error(`retention purge failed: ${(error as Error).message}`);
      }
      return summary;
    },
    async runAll() {
      const records: RunRecord[] = [];
      for (const rule of rules) {
        try {
          records.push(
            await runHuntCycle({
              tenantId: settings.tenantId,
              rule: huntRuleOf(rule, settings.hunt.timespanMarginMs, settings.hunt.rowLimit),
              source,
              checkpoints,
              suppression,
              incidents: incidentStageFor(rule),
              health,
              clock,
              random: options.random,
              log,
              settings: cycleSettingsFor(settings, rule),
              pacer,
              onFindings: options.onFindings,
              onStage: options.onStage,
            }),
          );
        } catch (error) {
          log.error(`hunt ${rule.id} could not complete: ${(error as Error).message}`, { ruleId: rule.id, tenantId: settings.tenantId });
        }
      }
      return records;
    },
  };
}

/**
 * The hunt cycle's incident step for one batch of findings: recall recent creation steps for the
 * devices that now show a use step (chains across cycles), build incidents, store them, collect
 * what is due (fresh, escalated, and held-back updates whose interval has passed), and hand back a
 * `commit` that records it all only after the caller has durably enqueued the announcements.
 * Owning the order here keeps the guarantees in one place: nothing announced is marked before it
 * is enqueued, and a creation is remembered only once its own incident is stored.
 */
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import { buildIncidents, type BuildContext } from './build';
import { chainRole, isCreationSideStep } from './chains';
import { deviceKey } from './identity';
import type { RecentStepsStore } from './recentSteps';
import type { Announcement, IncidentStore } from './store';

export interface IncidentBatchDeps {
  incidents: IncidentStore;
  recentSteps: RecentStepsStore;
  /** Everything but `now`; its `chainWindowMs` is overridden by the one below. */
  build: Omit<BuildContext, 'now'>;
  now: Date;
  updateIntervalMs: number;
  /** One window for linking, for recall and for building, so they cannot disagree. */
  chainWindowMs: number;
  /**
   * Rules whose remembered creation steps a use step of this batch may complete: every enabled
   * rule, so a trust-store registry write (one rule) chains with the makecert run (another).
   */
  chainRuleIds?: readonly string[];
}

export interface IncidentBatch {
  /** New, updated (escalations included) and due held-back announcements; one per incident. */
  announcements: Announcement[];
  /** Stores this batch's creation steps and marks the announcements. Call after enqueueing. */
  commit(): Promise<void>;
  /** Announcements by kind. */
  counts: { new: number; updated: number };
  /** The incidents this batch's findings went into, as built (the allowlist's recent findings record them). */
  incidents: readonly Incident[];
}

function sortedKeys<T>(map: ReadonlyMap<string, T>): string[] {
  return [...map.keys()].sort();
}

/**
 * Runs the incident step. Call it every cycle, with no findings too: held-back updates then still
 * go out within one cycle of their interval ending (that call costs one query per rule).
 */
export async function processIncidentBatch(findings: readonly Finding[], deps: IncidentBatchDeps): Promise<IncidentBatch> {
  const { tenantId } = deps.build;
  const current = new Map<string, Finding>();
  for (const finding of findings) if (finding.suppressedBy === null && !current.has(finding.id)) current.set(finding.id, finding);

  // Only a use step can complete a chain, so only its device's memory is worth a query.
  const useDevices = new Map<string, Set<string>>();
  for (const finding of current.values()) {
    if (chainRole(finding) !== 'use') continue;
    for (const ruleId of new Set([finding.ruleId, ...(deps.chainRuleIds ?? [])])) {
      const devices = useDevices.get(ruleId) ?? new Set<string>();
      devices.add(deviceKey(finding.device));
      useDevices.set(ruleId, devices);
    }
  }
  const recalled: Finding[] = [];
  for (const ruleId of sortedKeys(useDevices)) {
    const steps = await deps.recentSteps.recall(tenantId, ruleId, [...(useDevices.get(ruleId) ?? [])], deps.now, deps.chainWindowMs);
    // The copy in this batch is whole (the stored one may be bounded): it wins.
    recalled.push(...steps.filter((f) => !current.has(f.id)));
  }

  const built =
    current.size === 0 ? [] : buildIncidents([...recalled, ...current.values()], { ...deps.build, now: deps.now, chainWindowMs: deps.chainWindowMs });
  // A recalled step that chained with nothing rebuilds an incident the store already holds as is;
  // writing it again would change nothing, so only incidents with a finding of this batch go on.
  // Recalled steps inside a chain are already among the stored ids of the creation's incident,
  // whose id the chain keeps, so the store counts only this batch's findings as fresh.
  const incidents = built.filter((incident) => incident.findingIds.some((id) => current.has(id)));
  const upserted = incidents.length === 0 ? [] : await deps.incidents.upsertIncidents(incidents, deps.now, { updateIntervalMs: deps.updateIntervalMs });

  const announcements = [...upserted];
  const announcedKey = (a: Announcement): string => `${a.incident.tenantId}\u0000${a.incident.ruleId}\u0000${a.incident.id}`;
  const seen = new Set(announcements.map(announcedKey));
  const ruleIds = [...new Set([deps.build.rule.id, ...[...current.values()].map((f) => f.ruleId)])].sort();
  for (const ruleId of ruleIds) {
    for (const pending of await deps.incidents.pendingAnnouncements(tenantId, ruleId, deps.now, { updateIntervalMs: deps.updateIntervalMs })) {
      // This cycle's announcement of the same incident carries the fuller evidence: keep it.
      if (seen.has(announcedKey(pending))) continue;
      seen.add(announcedKey(pending));
      announcements.push(pending);
    }
  }

  const creationSteps = [...current.values()].filter(isCreationSideStep);
  return {
    announcements,
    incidents,
    counts: {
      new: announcements.filter((a) => a.kind === 'new').length,
      updated: announcements.filter((a) => a.kind === 'update').length,
    },
    async commit(): Promise<void> {
      // Remember first: if marking then fails, the cycle is retried and re-announces (the delivery
      // ledger drops duplicates); the other order could lose the creation for the next chain.
      if (creationSteps.length > 0) await deps.recentSteps.remember(tenantId, creationSteps, deps.now);
      if (announcements.length > 0) await deps.incidents.markAnnounced(announcements.map((a) => a.incident), deps.now);
    },
  };
}

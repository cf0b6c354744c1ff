/**
 * The hunt cycle's incident step for one batch of findings: recall what the story memory holds for
 * the devices with new findings, assemble stories (a later finding of an open story joins its
 * incident; a story that restarts is a new incident naming the previous one), build one incident
 * per story touched, store them, collect what is due (fresh, escalated, and held-back updates whose
 * interval has passed), and hand back a `commit` that records it all only after the caller has
 * durably enqueued the announcements. Owning the order here keeps the guarantees in one place:
 * nothing announced is marked before it is enqueued, and a story is remembered only once its own
 * incident is stored.
 */
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import { buildStoryIncident, type BuildContext } from './build';
import { deviceKey } from './identity';
import { assembleStories, storyParams, type StoryDraft } from './stories';
import type { StoryMemory } from './storyMemory';
import type { Announcement, IncidentStore } from './store';

export interface IncidentBatchDeps {
  incidents: IncidentStore;
  stories: StoryMemory;
  /** Everything but `now`. */
  build: Omit<BuildContext, 'now'>;
  now: Date;
  updateIntervalMs: number;
  /** Sees every incident built this batch, before the store merges it (replay reads it). */
  onBuilt?: (incidents: readonly Incident[]) => void;
}

export interface IncidentBatch {
  /** New, updated (escalations included) and due held-back announcements; one per incident. */
  announcements: Announcement[];
  /** Remembers this batch's stories and marks the announcements. Call after enqueueing. */
  commit(): Promise<void>;
  /** Announcements by kind. */
  counts: { new: number; updated: number };
  /** The incidents this batch's findings went into, as built (the allowlist's recent findings record them). */
  incidents: readonly Incident[];
}

/**
 * Runs the incident step. Call it every cycle, with no findings too: held-back updates then still
 * go out within one cycle of their interval ending (that call costs one query per rule).
 */
export async function processIncidentBatch(findings: readonly Finding[], deps: IncidentBatchDeps): Promise<IncidentBatch> {
  const { tenantId } = deps.build;
  const current = new Map<string, Finding>();
  for (const finding of findings) if (finding.suppressedBy === null && !current.has(finding.id)) current.set(finding.id, finding);

  let drafts: StoryDraft[] = [];
  if (current.size > 0) {
    const devices = [...new Set([...current.values()].map((f) => deviceKey(f.device)))];
    const memory = await deps.stories.recall(tenantId, devices, deps.now);
    drafts = assembleStories({
      tenantId,
      fresh: [...current.values()],
      known: memory.stories,
      remembered: memory.steps,
      ...(deps.build.story ? { params: deps.build.story } : {}),
    });
  }
  const buildContext = { ...deps.build, now: deps.now };
  // Read once for all drafts (and only when there are some, as assembling reads them).
  const params = drafts.length > 0 ? storyParams(deps.build.story) : undefined;
  const incidents = drafts.map((draft) => buildStoryIncident(draft, buildContext, params));
  deps.onBuilt?.(incidents);
  const upserted = incidents.length === 0 ? [] : await deps.incidents.upsertIncidents(incidents, deps.now, { updateIntervalMs: deps.updateIntervalMs });

  const announcements = [...upserted];
  const announcedKey = (a: Announcement): string => `${a.incident.tenantId}\u0000${a.incident.ruleId}\u0000${a.incident.id}`;
  const seen = new Set(announcements.map(announcedKey));
  // Stories keep the rule they started in, so a batch may touch other rules' partitions.
  const ruleIds = [...new Set([deps.build.rule.id, ...[...current.values()].map((f) => f.ruleId), ...drafts.map((d) => d.ruleId)])].sort();
  for (const ruleId of ruleIds) {
    for (const pending of await deps.incidents.pendingAnnouncements(tenantId, ruleId, deps.now, { updateIntervalMs: deps.updateIntervalMs })) {
      // This cycle's announcement of the same incident carries the fuller evidence: keep it.
      if (seen.has(announcedKey(pending))) continue;
      seen.add(announcedKey(pending));
      announcements.push(pending);
    }
  }

  return {
    announcements,
    incidents,
    counts: {
      new: announcements.filter((a) => a.kind === 'new').length,
      updated: announcements.filter((a) => a.kind === 'update').length,
    },
    async commit(): Promise<void> {
      // Remember first: if marking then fails, the cycle is retried and re-announces (the delivery
      // ledger drops duplicates); the other order could lose the story for the next cycle.
      if (drafts.length > 0) await deps.stories.remember(tenantId, drafts, deps.now);
      if (announcements.length > 0) await deps.incidents.markAnnounced(announcements.map((a) => a.incident), deps.now);
    },
  };
}

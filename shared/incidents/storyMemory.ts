/**
 * The story memory: what earlier hunt cycles told, per device, so a later finding of an open story
 * joins its incident, a certificate created at 10:00 and used at 10:15 (two cycles) is one chain,
 * and a story that starts again later names the one before ("seen before on this device"). Hunt
 * windows are ~10 minutes and rows arrive hours late: without this memory every cycle would open
 * new incidents for old stories.
 *
 * One partition per device (`tenant|deviceKey`, escaped): a recall reads only the partitions of
 * devices with new findings. Two kinds of row:
 * - story rows (`RowKey` `story~<incidentId>`): the story's actor, rule, first and last event
 *   time, count, material (the keys that link later steps, with when each was last named) and
 *   files. Kept for SEEN_BEFORE_MS after the story's last step, for "seen before".
 * - step rows (`RowKey` `step~<findingId>`): a finding of the story (bounded JSON), so the incident
 *   can be scored and told over all its steps. At most MAX_REMEMBERED_STEPS per story (creation
 *   side, trust imports and flagged steps first): repetitive work is counted by the story row,
 *   not remembered step by step. Kept while the story can still be joined.
 *
 * Table storage has no TTL: expired rows are skipped on read, deleted when a recall meets them,
 * and swept in small batches whenever new rows are written.
 */
import type { TableClient, TransactionAction } from '@azure/data-tables';
import { odata } from '@azure/data-tables';
import type { Finding } from '../model/finding';
import { isFinding } from '../schema/validate';
import { compositeKey, escapeKey } from '../storage/keys';
import { boundedFindingJson } from './bound';
import { chainRole, isCreationSideStep } from './chains';
import { findingTime } from './order';
import { MAX_STORY_FILES, storyParams, type KnownStory, type RememberedStep, type StoryDraft, type StoryParams } from './stories';
import { hasStatus, MAX_PROPERTY_CHARS, MAX_TRANSACTION_ACTIONS, submitInBatches } from './tables';

/** Version of the row layout below. */
export const STORY_ROW_VERSION = 1;
export const DEFAULT_SWEEP_LIMIT = 100;
/** How long a finished story is kept to be named as "seen before": Defender's own retention. */
export const SEEN_BEFORE_MS = 30 * 24 * 60 * 60 * 1000;
/** Steps remembered per story. */
export const MAX_REMEMBERED_STEPS = 40;
/** Device partitions read at once: a build farm signing on hundreds of agents must not burst. */
const RECALL_CONCURRENCY = 8;

const STORY_PREFIX = 'story~';
const STEP_PREFIX = 'step~';

export interface StoryMemoryOptions {
  /** Story parameters: how long a story can still be joined decides how long steps are kept. */
  params?: Partial<StoryParams>;
  /** Expired rows one `remember` deletes at most (one page of one query). */
  sweepLimit?: number;
}

/** A type alias (not an interface), so it is assignable to the SDK's `TableEntity`. */
type StoryEntity = {
  partitionKey: string;
  rowKey: string;
  rowVersion: number;
  kind: 'story';
  tenantId: string;
  deviceKey: string;
  actorKey: string;
  incidentId: string;
  ruleId: string;
  firstSeen: string;
  lastSeen: string;
  findingCount: number;
  /** JSON `[key, epochMs][]`. */
  materials: string;
  /** JSON string[]. */
  files: string;
  fileCount: number;
  previousIncidentId: string;
  updatedAt: string;
  expiresAt: string;
};

type StepEntity = {
  partitionKey: string;
  rowKey: string;
  rowVersion: number;
  kind: 'step';
  tenantId: string;
  deviceKey: string;
  actorKey: string;
  incidentId: string;
  findingId: string;
  eventTime: string;
  rememberedAt: string;
  expiresAt: string;
  /** The Finding as JSON, bounded to one property. */
  finding: string;
};

type RowKeyRef = { partitionKey: string; rowKey: string };

export interface Recollection {
  stories: KnownStory[];
  steps: RememberedStep[];
}

export function storyMemoryPartitionKey(tenantId: string, device: string): string {
  return compositeKey(tenantId, device);
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function parseMaterials(text: string): Map<string, number> {
  const value = parseJson(text);
  const out = new Map<string, number>();
  if (!Array.isArray(value)) return out;
  for (const item of value as unknown[]) {
    if (Array.isArray(item) && typeof item[0] === 'string' && typeof item[1] === 'number') out.set(item[0], item[1]);
  }
  return out;
}

function parseFiles(text: string): string[] {
  const value = parseJson(text);
  return Array.isArray(value) ? (value as unknown[]).filter((v): v is string => typeof v === 'string').slice(0, MAX_STORY_FILES) : [];
}

/** Material as stored: the most recent keys first, within one property. */
function materialsJson(materials: ReadonlyMap<string, number>): string {
  let entries = [...materials].sort((a, b) => b[1] - a[1]);
  let json = JSON.stringify(entries);
  while (json.length > MAX_PROPERTY_CHARS && entries.length > 1) {
    entries = entries.slice(0, Math.ceil(entries.length / 2));
    json = JSON.stringify(entries);
  }
  return json.length > MAX_PROPERTY_CHARS ? '[]' : json;
}

function filesJson(files: readonly string[]): string {
  let kept = files.slice(0, MAX_STORY_FILES);
  let json = JSON.stringify(kept);
  while (json.length > MAX_PROPERTY_CHARS && kept.length > 0) {
    kept = kept.slice(0, Math.floor(kept.length / 2));
    json = JSON.stringify(kept);
  }
  return json;
}

function toKnownStory(entity: Record<string, unknown>): KnownStory | null {
  const firstSeen = Date.parse(str(entity.firstSeen));
  const lastSeen = Date.parse(str(entity.lastSeen));
  const incidentId = str(entity.incidentId);
  if (!incidentId || Number.isNaN(firstSeen) || Number.isNaN(lastSeen)) return null;
  return {
    incidentId,
    ruleId: str(entity.ruleId),
    deviceKey: str(entity.deviceKey),
    actorKey: str(entity.actorKey),
    firstSeen,
    lastSeen,
    findingCount: num(entity.findingCount),
    materials: parseMaterials(str(entity.materials)),
    files: parseFiles(str(entity.files)),
    fileCount: num(entity.fileCount),
    previousIncidentId: str(entity.previousIncidentId) || null,
  };
}

function parseFinding(json: string): Finding | null {
  const value = parseJson(json);
  // Rows outlive deployments: a step stored by another schema version is skipped, not trusted.
  return isFinding(value) ? value : null;
}

/** Which steps of a story are worth remembering first: what scoring and the chain read. */
function stepPriority(finding: Finding): number {
  if (isCreationSideStep(finding)) return 0;
  if (chainRole(finding) === 'use' && finding.action === 'import-store') return 1;
  if (finding.flags.suspiciousParent || finding.flags.tempLocation) return 2;
  return 3;
}

/**
 * The steps of a story to keep, at most `max`: creation side, trust imports and flagged steps
 * first, then the earliest others (the first signing says more than the thirtieth).
 */
export function stepsToRemember(findings: readonly Finding[], max: number = MAX_REMEMBERED_STEPS): Finding[] {
  if (findings.length <= max) return [...findings];
  return findings
    .map((finding, index) => ({ finding, index, priority: stepPriority(finding) }))
    .sort((a, b) => a.priority - b.priority || a.index - b.index)
    .slice(0, max)
    .sort((a, b) => a.index - b.index)
    .map((e) => e.finding);
}

export class StoryMemory {
  private readonly params: StoryParams;
  private readonly sweepLimit: number;

  constructor(
    private readonly table: TableClient,
    options: StoryMemoryOptions = {},
  ) {
    this.params = storyParams(options.params);
    this.sweepLimit = options.sweepLimit ?? DEFAULT_SWEEP_LIMIT;
    if (!Number.isSafeInteger(this.sweepLimit) || this.sweepLimit < 0) throw new RangeError('sweepLimit must be a non-negative integer');
  }

  /** Creates the table; an existing one is fine. */
  async ensure(): Promise<void> {
    try {
      await this.table.createTable();
    } catch (error) {
      if (!hasStatus(error, 409)) throw error;
    }
  }

  /** How long a step stays joinable: a story runs at most maxSpan, and a pause may last the window. */
  private stepTtlMs(): number {
    return this.params.maxSpanMs + this.params.windowMs;
  }

  /**
   * The stories and remembered steps of these devices (device keys as `identity.deviceKey` makes
   * them). One query per device partition; expired rows met on the way are deleted.
   */
  async recall(tenantId: string, deviceKeys: readonly string[], now: Date): Promise<Recollection> {
    const partitions = [...new Set(deviceKeys)].sort().map((d) => storyMemoryPartitionKey(tenantId, d));
    const stories: KnownStory[] = [];
    const steps: RememberedStep[] = [];
    const expired: RowKeyRef[] = [];
    for (let i = 0; i < partitions.length; i += RECALL_CONCURRENCY) {
      const slice = partitions.slice(i, i + RECALL_CONCURRENCY);
      for (const part of await Promise.all(slice.map((pk) => this.readPartition(pk, now)))) {
        stories.push(...part.stories);
        steps.push(...part.steps);
        expired.push(...part.expired);
      }
    }
    if (expired.length > 0) await this.deleteQuietly(expired);
    return { stories, steps };
  }

  private async readPartition(pk: string, now: Date): Promise<Recollection & { expired: RowKeyRef[] }> {
    const nowMs = now.getTime();
    const stories: KnownStory[] = [];
    const steps: RememberedStep[] = [];
    const expired: RowKeyRef[] = [];
    const filter = odata`PartitionKey eq ${pk}`;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
      const rowKey = entity.rowKey ?? '';
      // NaN compares false: an unreadable expiry counts as expired.
      if (!(Date.parse(str(entity.expiresAt)) > nowMs)) {
        if (rowKey) expired.push({ partitionKey: pk, rowKey });
        continue;
      }
      if (entity.kind === 'story') {
        const story = toKnownStory(entity);
        if (story) stories.push(story);
      } else if (entity.kind === 'step') {
        const finding = parseFinding(str(entity.finding));
        const incidentId = str(entity.incidentId);
        if (finding && incidentId) steps.push({ incidentId, finding });
      }
    }
    return { stories, steps, expired };
  }

  /**
   * Records the stories of this batch: each story row (replaced with the story's new state) and
   * the story's steps worth remembering that are not remembered yet. Then deletes up to
   * `sweepLimit` expired rows of any partition.
   */
  async remember(tenantId: string, drafts: readonly StoryDraft[], now: Date): Promise<void> {
    const at = now.toISOString();
    const actions = new Map<string, TransactionAction>();
    for (const draft of drafts) {
      const pk = storyMemoryPartitionKey(tenantId, draft.deviceKey);
      const story: StoryEntity = {
        partitionKey: pk,
        rowKey: escapeKey(`${STORY_PREFIX}${draft.incidentId}`),
        rowVersion: STORY_ROW_VERSION,
        kind: 'story',
        tenantId,
        deviceKey: draft.deviceKey,
        actorKey: draft.actorKey,
        incidentId: draft.incidentId,
        ruleId: draft.ruleId,
        firstSeen: new Date(draft.firstSeen).toISOString(),
        lastSeen: new Date(draft.lastSeen).toISOString(),
        findingCount: draft.findingCount,
        materials: materialsJson(draft.materials),
        files: filesJson(draft.files),
        fileCount: draft.fileCount,
        previousIncidentId: draft.previousIncidentId ?? '',
        updatedAt: at,
        expiresAt: new Date(Math.max(draft.lastSeen, now.getTime()) + SEEN_BEFORE_MS).toISOString(),
      };
      actions.set(`${pk}\u0000${story.rowKey}`, ['upsert', story, 'Replace']);
      const fresh = new Set(draft.fresh.map((f) => f.id));
      for (const finding of stepsToRemember(draft.findings)) {
        if (!fresh.has(finding.id)) continue;
        const eventMs = findingTime(finding);
        const step: StepEntity = {
          partitionKey: pk,
          rowKey: escapeKey(`${STEP_PREFIX}${finding.id}`),
          rowVersion: STORY_ROW_VERSION,
          kind: 'step',
          tenantId,
          deviceKey: draft.deviceKey,
          actorKey: draft.actorKey,
          incidentId: draft.incidentId,
          findingId: finding.id,
          eventTime: new Date(eventMs).toISOString(),
          rememberedAt: at,
          expiresAt: new Date(Math.max(eventMs, now.getTime()) + this.stepTtlMs()).toISOString(),
          finding: boundedFindingJson(finding),
        };
        // Upsert: a step seen again (overlapping windows, a retried cycle) refreshes its row.
        actions.set(`${pk}\u0000${step.rowKey}`, ['upsert', step, 'Replace']);
      }
    }
    if (actions.size === 0) return;
    await submitInBatches(this.table, [...actions.values()]);
    await this.sweep(now);
  }

  /** Deletes up to `sweepLimit` expired rows across partitions: one query, then batches. */
  private async sweep(now: Date): Promise<void> {
    if (this.sweepLimit === 0) return;
    const filter = odata`expiresAt le ${now.toISOString()}`;
    const pages = this.table
      .listEntities<Record<string, unknown>>({ queryOptions: { filter, select: ['PartitionKey', 'RowKey'] } })
      .byPage({ maxPageSize: this.sweepLimit });
    // One page only: the sweep is bounded work per write, not a cleanup job.
    const first = await pages.next();
    if (first.done) return;
    const keys = first.value.flatMap((e) => (e.partitionKey !== undefined && e.rowKey !== undefined ? [{ partitionKey: e.partitionKey, rowKey: e.rowKey }] : []));
    await this.deleteQuietly(keys);
  }

  /**
   * Deletion is housekeeping: a batch that fails because another instance already deleted one of
   * its rows (404) is left for the next sweep rather than failing the hunt cycle.
   */
  private async deleteQuietly(keys: readonly RowKeyRef[]): Promise<void> {
    const byPartition = new Map<string, RowKeyRef[]>();
    for (const key of keys) byPartition.set(key.partitionKey, [...(byPartition.get(key.partitionKey) ?? []), key]);
    for (const list of byPartition.values()) {
      for (let i = 0; i < list.length; i += MAX_TRANSACTION_ACTIONS) {
        const actions = list.slice(i, i + MAX_TRANSACTION_ACTIONS).map((k): TransactionAction => ['delete', k]);
        try {
          await this.table.submitTransaction(actions);
        } catch (error) {
          if (!hasStatus(error, 404)) throw error;
        }
      }
    }
  }
}

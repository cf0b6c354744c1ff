/**
 * Stories: the unit the on-call engineer reads. A story is one actor's related certificate
 * activity on one device within a short period: the creation steps of a certificate (whatever
 * tools), what it was then used for, and repetitions of the same work. This module decides which
 * findings tell one story; each story becomes one incident. Pure: no clock, no I/O.
 *
 * Two findings of the same device and actor belong to one story when
 * - they are close in time: at most `gapMs` apart (a script, a shell session, an IDE task run), or
 * - they share material and are at most `windowMs` apart: a file, key, thumbprint or subject one
 *   step writes and another reads, the same parent process instance, the same script;
 * and the story stays within `maxSpanMs` from its first step (a build agent signing every hour
 * would otherwise be one endless incident).
 *
 * Across hunt cycles, stories already told (KnownStory, from the story memory) take part: a fresh
 * finding that links to one joins it and keeps its incident id; a story that restarts later is a
 * new incident that names the previous one ("seen before on this device"). Known stories never
 * merge with each other: their ids are already announced, and a finding that could bridge two
 * joins the one it is closest to.
 *
 * Cost: findings are bucketed by device + actor and each bucket is walked once in time order with
 * an index from material to the story that last named it, so grouping is linear in findings (plus
 * the sort within each bucket).
 */
import type { Finding } from '../model/finding';
import { sortFindings, findingTime } from './order';
import { actorKey, deviceKey, materialKeys } from './identity';
import { MaterialIndex } from './materials';
import { sha256Hex } from '../sha256';

export const DEFAULT_STORY_GAP_MS = 3 * 60 * 60 * 1000;
export const DEFAULT_STORY_WINDOW_MS = 8 * 60 * 60 * 1000;
export const DEFAULT_STORY_MAX_SPAN_MS = 24 * 60 * 60 * 1000;

/** Hex characters kept from the sha256: 128 bits, collision-free at any realistic volume. */
const INCIDENT_ID_HEX_LENGTH = 32;

export interface StoryParams {
  /** Longest pause between two steps of one story that share nothing. */
  gapMs: number;
  /** Longest pause between two steps of one story that share material. */
  windowMs: number;
  /** Longest a story runs from its first step; the next step then opens a new incident. */
  maxSpanMs: number;
}

export const DEFAULT_STORY_PARAMS: StoryParams = {
  gapMs: DEFAULT_STORY_GAP_MS,
  windowMs: DEFAULT_STORY_WINDOW_MS,
  maxSpanMs: DEFAULT_STORY_MAX_SPAN_MS,
};

/** A story an earlier hunt cycle told (kept by the story memory). */
export interface KnownStory {
  incidentId: string;
  /** The rule whose incident partition holds the incident. */
  ruleId: string;
  deviceKey: string;
  actorKey: string;
  /** Event times, ms since epoch. */
  firstSeen: number;
  lastSeen: number;
  findingCount: number;
  /** Material key -> the latest event time (ms) a step of the story named it. */
  materials: ReadonlyMap<string, number>;
  /** Distinct certificate and signed files the story touched (bounded), and how many in all. */
  files: readonly string[];
  fileCount: number;
  previousIncidentId: string | null;
}

/** A finding of a known story, remembered so the incident can be told whole again. */
export interface RememberedStep {
  incidentId: string;
  finding: Finding;
}

export interface StoryDraft {
  /** The incident this story is: a known story's id, or a new stable id. */
  incidentId: string;
  ruleId: string;
  deviceKey: string;
  actorKey: string;
  /** The known story it continues, if any. */
  known: KnownStory | null;
  /** Every finding known of the story (remembered steps and this batch's), time order. */
  findings: Finding[];
  /** Event times (ms) of `findings`, index for index: read once, here. */
  times: number[];
  /** This batch's findings in the story, time order. */
  fresh: Finding[];
  firstSeen: number;
  lastSeen: number;
  /** Findings ever in the story: the known count plus this batch's. */
  findingCount: number;
  materials: Map<string, number>;
  /** Distinct files (bounded, see MAX_STORY_FILES) and how many there are. */
  files: string[];
  fileCount: number;
  /** The same device and actor's previous story, when this one started after it. */
  previousIncidentId: string | null;
}

export interface StoryInput {
  tenantId: string;
  /** This batch's unsuppressed findings (any order; duplicates by id are dropped). */
  fresh: readonly Finding[];
  known?: readonly KnownStory[];
  remembered?: readonly RememberedStep[];
  params?: Partial<StoryParams>;
}

/** Files listed per story; the count goes on. */
export const MAX_STORY_FILES = 50;
/** Material keys kept per story (the most recently named). */
export const MAX_STORY_MATERIALS = 200;

export function storyIncidentId(tenantId: string, device: string, actor: string, firstFindingId: string): string {
  const material = ['story', tenantId.trim().toLowerCase(), device, actor, firstFindingId].join('|');
  return sha256Hex(material).slice(0, INCIDENT_ID_HEX_LENGTH);
}

export function storyParams(params: Partial<StoryParams> = {}): StoryParams {
  const out = { ...DEFAULT_STORY_PARAMS, ...params };
  for (const [name, ms] of Object.entries(out)) {
    if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`${name} must be a positive integer of milliseconds, got ${ms}`);
  }
  return out;
}

/** The files a finding touched, as the card and the count show them (lower-cased base names). */
export function storyFilesOf(finding: Finding): string[] {
  const out: string[] = [];
  for (const key of materialKeys(finding)) if (key.startsWith('file:')) out.push(key.slice(5));
  return out;
}

/** A fresh finding with what grouping reads of it, computed once. */
interface Entry {
  finding: Finding;
  t: number;
  /** Material ids (MaterialIndex), in materialKeys order. */
  ids: readonly number[];
}

/** One story being assembled within a bucket. */
interface Cluster {
  known: KnownStory | null;
  first: number;
  last: number;
  /** In time order unless `folded` (another cluster's entries were appended). */
  fresh: Entry[];
  folded: boolean;
  /** Material id -> the latest time a step named it. */
  materials: Map<number, number>;
  /** Set when a later cluster of the bucket absorbed this one. */
  mergedInto: Cluster | null;
}

function compareEntries(a: Entry, b: Entry): number {
  return a.t - b.t || (a.finding.id < b.finding.id ? -1 : a.finding.id > b.finding.id ? 1 : 0);
}

function rootOf(cluster: Cluster): Cluster {
  let root = cluster;
  while (root.mergedInto) root = root.mergedInto;
  // Path compression: later lookups through a folded cluster take one step.
  let c = cluster;
  while (c.mergedInto && c.mergedInto !== root) {
    const next: Cluster = c.mergedInto;
    c.mergedInto = root;
    c = next;
  }
  return root;
}

/** Adds the cluster's root to the candidates, once, when joining it keeps the story within its span. */
function consider(candidates: Cluster[], cluster: Cluster, t: number, maxSpanMs: number): void {
  const root = rootOf(cluster);
  if (!candidates.includes(root) && spanWith(root, t) <= maxSpanMs) candidates.push(root);
}

function spanWith(cluster: Cluster, t: number): number {
  return Math.max(cluster.last, t) - Math.min(cluster.first, t);
}

function nearKnown(cluster: Cluster, t: number, gapMs: number): boolean {
  return t >= cluster.first - gapMs && t <= cluster.last + gapMs;
}

/** Folds `from` into `into` (both roots). Only fresh clusters are ever folded. */
function fold(into: Cluster, from: Cluster): void {
  from.mergedInto = into;
  into.first = Math.min(into.first, from.first);
  into.last = Math.max(into.last, from.last);
  for (const e of from.fresh) into.fresh.push(e);
  into.folded = true;
  const materials = into.materials;
  from.materials.forEach((t, key) => {
    if ((materials.get(key) ?? -Infinity) < t) materials.set(key, t);
  });
}

interface Bucket {
  device: string;
  actor: string;
  fresh: Entry[];
  known: { story: KnownStory; materials: Map<number, number> }[];
}

/**
 * Buckets by device and actor, looked up by the values as the findings spell them: the device's
 * id (or name) and the account's name and domain each read into their key once per spelling.
 */
class Buckets {
  readonly all = new Map<string, Bucket>();
  private readonly byDeviceId = new Map<string, Map<string, Map<string, Bucket>>>();
  private readonly byDeviceName = new Map<string, Map<string, Map<string, Bucket>>>();

  /** The bucket of a device key and actor key, made when missing. */
  of(device: string, actor: string): Bucket {
    const key = `${device}\u0000${actor}`;
    let bucket = this.all.get(key);
    if (!bucket) {
      bucket = { device, actor, fresh: [], known: [] };
      this.all.set(key, bucket);
    }
    return bucket;
  }

  ofFinding(finding: Finding): Bucket {
    const { device, account } = finding;
    // deviceKey reads the name when the id is blank.
    const byId = device.id !== null && device.id.trim() !== '';
    const byDevice = byId ? this.byDeviceId : this.byDeviceName;
    const deviceSpelling = byId ? (device.id as string) : device.name;
    let byName = byDevice.get(deviceSpelling);
    if (!byName) {
      byName = new Map();
      byDevice.set(deviceSpelling, byName);
    }
    // null and '' read alike in actorKey: both are the empty spelling here.
    const name = account.name ?? '';
    let byDomain = byName.get(name);
    if (!byDomain) {
      byDomain = new Map();
      byName.set(name, byDomain);
    }
    const domain = account.domain ?? '';
    let bucket = byDomain.get(domain);
    if (!bucket) {
      bucket = this.of(deviceKey(device), actorKey(account));
      byDomain.set(domain, bucket);
    }
    return bucket;
  }

  get(device: string, actor: string): Bucket | undefined {
    return this.all.get(`${device}\u0000${actor}`);
  }
}

/**
 * Which cluster of the current bucket last named each material id: arrays indexed by id, valid
 * for the bucket whose stamp they carry (no map to build and empty per bucket).
 */
class MaterialOwners {
  private readonly clusters: (Cluster | undefined)[];
  private readonly stamps: Int32Array;
  private stamp = 0;
  constructor(size: number) {
    this.clusters = new Array<Cluster | undefined>(size).fill(undefined);
    this.stamps = new Int32Array(size);
  }
  nextBucket(): void {
    this.stamp++;
  }
  get(id: number): Cluster | undefined {
    return this.stamps[id] === this.stamp ? this.clusters[id] : undefined;
  }
  set(id: number, cluster: Cluster): void {
    this.stamps[id] = this.stamp;
    this.clusters[id] = cluster;
  }
}

/**
 * Assigns this batch's findings to stories. Returns one draft per story that holds at least one
 * fresh finding, ordered by first event time, then id.
 */
export function assembleStories(input: StoryInput): StoryDraft[] {
  const params = storyParams(input.params);
  const materials = new MaterialIndex();
  const buckets = new Buckets();
  for (const finding of input.fresh) {
    buckets.ofFinding(finding).fresh.push({ finding, t: findingTime(finding), ids: materials.ofFinding(finding) });
  }
  for (const story of input.known ?? []) {
    const bucket = buckets.get(story.deviceKey, story.actorKey);
    // Stories of devices and actors with nothing new stay as they are.
    if (!bucket) continue;
    const known = new Map<number, number>();
    for (const [key, t] of story.materials) known.set(materials.idOf(key), t);
    bucket.known.push({ story, materials: known });
  }
  const rememberedBy = new Map<string, Finding[]>();
  if (input.remembered && input.remembered.length > 0) {
    const fresh = new Set(input.fresh.map((f) => f.id));
    for (const step of input.remembered) {
      // The batch's copy of a finding is whole (a remembered one may be bounded): it wins.
      if (fresh.has(step.finding.id)) continue;
      const list = rememberedBy.get(step.incidentId);
      if (list) list.push(step.finding);
      else rememberedBy.set(step.incidentId, [step.finding]);
    }
  }

  const owners = new MaterialOwners(materials.size);
  const drafts: StoryDraft[] = [];
  for (const bucket of buckets.all.values()) {
    if (bucket.fresh.length === 0) continue;
    owners.nextBucket();
    for (const draft of storiesOfBucket(bucket, params, input.tenantId, rememberedBy, materials, owners)) drafts.push(draft);
  }
  return drafts.sort((a, b) => a.firstSeen - b.firstSeen || (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0));
}

function storiesOfBucket(
  bucket: Bucket,
  params: StoryParams,
  tenantId: string,
  rememberedBy: ReadonlyMap<string, Finding[]>,
  index: MaterialIndex,
  byMaterial: MaterialOwners,
): StoryDraft[] {
  const { gapMs, windowMs, maxSpanMs } = params;
  const clusters: Cluster[] = bucket.known.map(({ story, materials }) => ({
    known: story,
    first: story.firstSeen,
    last: story.lastSeen,
    fresh: [],
    folded: false,
    materials,
    mergedInto: null,
  }));
  // Material -> the cluster that last named it (known stories first, so fresh steps link to them).
  for (const cluster of [...clusters].sort((a, b) => a.last - b.last)) {
    for (const id of cluster.materials.keys()) byMaterial.set(id, cluster);
  }
  const knownClusters = [...clusters];

  let previousCluster: Cluster | null = null;
  let previousT = 0;
  let previousId = '';
  const candidates: Cluster[] = [];
  for (const entry of bucket.fresh.sort(compareEntries)) {
    const { t, ids } = entry;
    // The same row twice in one batch (paging, overlapping windows): ids carry the event time,
    // so after sorting a repeat is next to its first copy.
    if (previousCluster && previousT === t && previousId === entry.finding.id) continue;
    candidates.length = 0;
    if (previousCluster && t - previousT <= gapMs) consider(candidates, previousCluster, t, maxSpanMs);
    for (const id of ids) {
      const cluster = byMaterial.get(id);
      if (!cluster) continue;
      const named = rootOf(cluster).materials.get(id);
      if (named !== undefined && Math.abs(t - named) <= windowMs) consider(candidates, cluster, t, maxSpanMs);
    }
    for (const cluster of knownClusters) if (nearKnown(rootOf(cluster), t, gapMs)) consider(candidates, cluster, t, maxSpanMs);

    let target: Cluster;
    if (candidates.length === 0) {
      target = { known: null, first: t, last: t, fresh: [], folded: false, materials: new Map(), mergedInto: null };
      clusters.push(target);
    } else if (candidates.length === 1 && candidates[0]) {
      target = candidates[0];
    } else {
      // At most one known story per cluster: the one whose activity is closest to this step.
      let knownTarget: Cluster | null = null;
      for (const c of candidates) {
        if (c.known === null) continue;
        const d = Math.abs(t - closest(c, t));
        if (!knownTarget || d < Math.abs(t - closest(knownTarget, t)) || (d === Math.abs(t - closest(knownTarget, t)) && c.first < knownTarget.first)) knownTarget = c;
      }
      target = knownTarget ?? candidates.reduce((a, b) => (a.first <= b.first ? a : b));
      for (const other of candidates) {
        if (other === target || other.known !== null) continue;
        if (Math.max(target.last, other.last) - Math.min(target.first, other.first) > maxSpanMs) continue;
        fold(target, other);
      }
    }
    target.fresh.push(entry);
    if (t < target.first) target.first = t;
    if (t > target.last) target.last = t;
    for (const id of ids) {
      if ((target.materials.get(id) ?? -Infinity) < t) target.materials.set(id, t);
      byMaterial.set(id, target);
    }
    previousCluster = target;
    previousT = t;
    previousId = entry.finding.id;
  }

  const roots = clusters.filter((c) => c.mergedInto === null);
  const ids = new Map<Cluster, string>();
  for (const cluster of roots) {
    if (cluster.folded) cluster.fresh.sort(compareEntries);
    const firstFresh = cluster.fresh[0];
    if (cluster.known) ids.set(cluster, cluster.known.incidentId);
    else if (firstFresh) ids.set(cluster, storyIncidentId(tenantId, bucket.device, bucket.actor, firstFresh.finding.id));
  }
  const out: StoryDraft[] = [];
  for (const cluster of roots) {
    const firstFresh = cluster.fresh[0];
    const incidentId = ids.get(cluster);
    if (!firstFresh || incidentId === undefined) continue;
    const known = cluster.known;
    const fresh = cluster.fresh.map((e) => e.finding);
    const remembered = known ? (rememberedBy.get(known.incidentId) ?? []) : [];
    const findings = remembered.length > 0 ? sortFindings([...remembered, ...fresh]) : fresh;
    const times = remembered.length > 0 ? findings.map(findingTime) : cluster.fresh.map((e) => e.t);
    const files = new Set(known?.files ?? []);
    let fileCount = known?.fileCount ?? 0;
    for (const entry of cluster.fresh) {
      for (const id of entry.ids) {
        const file = index.fileNames[id];
        if (file === null || file === undefined || files.has(file)) continue;
        fileCount++;
        if (files.size < MAX_STORY_FILES) files.add(file);
      }
    }
    out.push({
      incidentId,
      ruleId: known?.ruleId ?? firstFresh.finding.ruleId,
      deviceKey: bucket.device,
      actorKey: bucket.actor,
      known,
      findings,
      times,
      fresh,
      firstSeen: cluster.first,
      lastSeen: cluster.last,
      findingCount: (known?.findingCount ?? 0) + fresh.length,
      materials: boundMaterials(cluster.materials, index),
      files: [...files],
      fileCount,
      previousIncidentId: known ? known.previousIncidentId : previousStory(cluster, roots, ids),
    });
  }
  return out;
}

/** The time of the cluster's activity closest to t. */
function closest(cluster: Cluster, t: number): number {
  return Math.min(Math.max(t, cluster.first), cluster.last);
}

/** The latest other story of the bucket (known, or of this batch) that ended before this one began. */
function previousStory(cluster: Cluster, roots: readonly Cluster[], ids: ReadonlyMap<Cluster, string>): string | null {
  let best: Cluster | null = null;
  for (const other of roots) {
    if (other === cluster || other.last >= cluster.first || !ids.has(other)) continue;
    if (!best || other.last > best.last) best = other;
  }
  return best ? (ids.get(best) ?? null) : null;
}

/** The story's materials as key text: the most recently named MAX_STORY_MATERIALS of them. */
function boundMaterials(materials: ReadonlyMap<number, number>, index: MaterialIndex): Map<string, number> {
  const out = new Map<string, number>();
  if (materials.size <= MAX_STORY_MATERIALS) {
    // forEach: no [id, t] pair made per material.
    materials.forEach((t, id) => out.set(index.keyOf(id), t));
    return out;
  }
  for (const [id, t] of [...materials].sort((a, b) => b[1] - a[1]).slice(0, MAX_STORY_MATERIALS)) out.set(index.keyOf(id), t);
  return out;
}

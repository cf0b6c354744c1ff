/**
 * Chains: a certificate creation (makecert, New-SelfSignedCertificate, openssl: create-cert or
 * export-pfx) followed on the same device, within the chain window, by signing (signtool sign,
 * Set-AuthenticodeSignature) or a trust-store import (Root, AuthRoot, TrustedPublisher) is one
 * event chain, T1587.002 leading to T1553.002/.004. The groups holding both steps merge into ONE
 * escalated incident draft, so the on-call engineer gets one actionable incident rather than two
 * half-stories. Pure.
 */
import type { Finding } from '../model/finding';
import type { ChainLink, ChainLinkBasis } from '../model/incident';
import { assertWindow, findingTime, sortFindings, type FindingGroup } from './group';
import { certificateFileNames, subjectCommonName, thumbprintKey } from './identity';

export const DEFAULT_CHAIN_WINDOW_MS = 2 * 60 * 60 * 1000;

export type ChainRole = 'create' | 'use';

/** Stores whose contents are trusted for code or as roots; an import there makes a cert "used". */
export const TRUST_STORES = ['root', 'authroot', 'trustedpublisher'] as const;
export type TrustStore = (typeof TRUST_STORES)[number];

/** `Root`, `"AuthRoot"`, `Cert:\LocalMachine\TrustedPublisher` -> the store's bare lower-cased name. */
export function trustStoreOf(store: string | null): TrustStore | null {
  if (!store) return null;
  const segments = store.trim().replace(/^["']+|["']+$/g, '').split(/[\\/]/).filter((s) => s !== '');
  const last = segments[segments.length - 1]?.toLowerCase();
  return (TRUST_STORES as readonly string[]).includes(last ?? '') ? (last as TrustStore) : null;
}

const CREATION_TOOLS = new Set(['makecert', 'powershell', 'openssl']);

export function chainRole(finding: Finding): ChainRole | null {
  const { tool, action } = finding;
  if ((action === 'create-cert' || action === 'export-pfx') && CREATION_TOOLS.has(tool)) return 'create';
  // signtool, Set-AuthenticodeSignature, or a binary seen signed by a self-made certificate.
  if (action === 'sign') return 'use';
  // Whatever wrote it (certutil, PowerShell, reg.exe, a registry write seen by the trust-store rule).
  if (action === 'import-store' && trustStoreOf(finding.certificate.store) !== null) return 'use';
  return null;
}

/**
 * A step of a chain's creation side: a creation, or a conversion of key files (pvk2pfx, openssl
 * pkcs12) that may carry the created key to the file a later signing uses. These are the steps
 * worth remembering across hunt cycles (see recentSteps.ts).
 */
export function isCreationSideStep(finding: Finding): boolean {
  return chainRole(finding) === 'create' || finding.action === 'convert-key';
}

export type IdentityComparison =
  | { result: 'match'; basis: Exclude<ChainLinkBasis, 'device-time'> }
  | { result: 'conflict' }
  | { result: 'unknown' };

/** signtool /n matches a substring of the subject; very short values would match anything. */
const MIN_SUBJECT_SUBSTRING = 3;

/**
 * Does the use step name the same certificate as the creation? A match on any identity wins; two
 * known, different subjects or thumbprints mean two different certificates (no link); anything
 * else is unknown and falls back to device + time order. Different file names are not a conflict:
 * a chain naturally renames (`code.key` -> `code.pfx`).
 */
export function compareIdentity(
  creation: Finding,
  use: Finding,
  creationFiles: ReadonlySet<string> | (() => ReadonlySet<string>),
): IdentityComparison {
  const ct = creation.certificate.thumbprint;
  const ut = use.certificate.thumbprint;
  const thumbprints = ct && ut ? (thumbprintKey(ct) === thumbprintKey(ut) ? 'match' : 'conflict') : 'unknown';
  if (thumbprints === 'match') return { result: 'match', basis: 'thumbprint' };

  const cs = creation.certificate.subject;
  const us = use.certificate.subject;
  let subjects: 'match' | 'conflict' | 'unknown' = 'unknown';
  if (cs?.trim() && us?.trim()) {
    const cn = subjectCommonName(cs);
    const un = subjectCommonName(us);
    const substring = un.length >= MIN_SUBJECT_SUBSTRING && (cn.includes(un) || cs.toLowerCase().includes(un));
    subjects = cn === un || substring ? 'match' : 'conflict';
  }
  if (subjects === 'match') return { result: 'match', basis: 'subject' };

  const useFiles = certificateFileNames(use);
  if (useFiles.length > 0) {
    // A function defers working out the creation's files until they are needed.
    const files = typeof creationFiles === 'function' ? creationFiles() : creationFiles;
    if (useFiles.some((f) => files.has(f))) return { result: 'match', basis: 'file' };
  }
  if (thumbprints === 'conflict' || subjects === 'conflict') return { result: 'conflict' };
  return { result: 'unknown' };
}

export interface IncidentDraft {
  /** The group whose id the incident keeps: the earliest linked creation's group, else the only one. */
  primary: FindingGroup;
  /** Primary first. */
  groups: FindingGroup[];
  /** Every finding of every group, sorted by time then id. */
  findings: Finding[];
  chainLink: ChainLink | null;
}

export interface ChainOptions {
  chainWindowMs?: number;
}

interface Link {
  creation: Finding;
  use: Finding;
  basis: ChainLinkBasis;
  /** The creation and its related creation-side steps (all merge into the chain). */
  side: Finding[];
}

const BASIS_STRENGTH: Record<ChainLinkBasis, number> = { thumbprint: 3, subject: 2, file: 1, 'device-time': 0 };

/** The creation side of a chain: the creation, and the steps that share its key files. */
interface CreationSide {
  /** create-cert / export-pfx / convert-key findings connected to the creation, time order. */
  steps: Finding[];
  /** Lower-cased base names of every file those steps name. */
  files: Set<string>;
}

/**
 * What creationSide reads of a device's findings, computed once per finding: time, certificate
 * file names, parent process key, and indexes from file name / parent key to the creation-side
 * steps naming them (each list in device order, i.e. time order).
 */
interface DeviceIndex {
  /** The device's findings in compareFindings order. */
  findings: readonly Finding[];
  times: number[];
  /** Indexes (into findings) of the creation-side steps, in order. */
  stepIndexes: number[];
  names: string[][];
  parents: (string | null)[];
  byName: Map<string, number[]>;
  byParent: Map<string, number[]>;
}

function indexDevice(findings: readonly Finding[]): DeviceIndex {
  const times = findings.map(findingTime);
  const names: string[][] = [];
  const parents: (string | null)[] = [];
  const stepIndexes: number[] = [];
  const byName = new Map<string, number[]>();
  const byParent = new Map<string, number[]>();
  const add = (map: Map<string, number[]>, key: string, index: number): void => {
    const list = map.get(key);
    if (list) {
      // A finding naming one file twice is listed once.
      if (list[list.length - 1] !== index) list.push(index);
    } else map.set(key, [index]);
  };
  findings.forEach((f, i) => {
    const step = isCreationSideStep(f);
    const fileNames = step ? certificateFileNames(f) : [];
    const parent = step ? parentProcessKey(f) : null;
    names.push(fileNames);
    parents.push(parent);
    if (!step) return;
    stepIndexes.push(i);
    for (const n of fileNames) add(byName, n, i);
    if (parent !== null) add(byParent, parent, i);
  });
  return { findings, times, stepIndexes, names, parents, byName, byParent };
}

/** First position in `list` (indexes into times, ascending) whose time is >= `from`. */
function lowerBound(list: readonly number[], times: readonly number[], from: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[list[mid] ?? 0] ?? 0) < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * A creation and the creation-side steps on the same device, within the window around it, that
 * share a key or certificate file with it, transitively: `openssl req` writes code.key/code.crt,
 * `openssl pkcs12 -export` turns them into code.pfx, signtool then signs with /f code.pfx; makecert
 * writes SPC.pvk/SPC.cer and pvk2pfx makes SPC.pfx. All of it is one certificate's story. Steps
 * started by the same parent process instance belong to it too.
 *
 * A step joins when it names a file some member names, or when it has the parent process key of
 * some member, is within SAME_SCRIPT_MS of the creation and does not name another certificate.
 * The closure is found by a search from the creation over the device's file-name and parent-key
 * indexes, each name and key expanded once and only across the window: linear in the steps near
 * the creation.
 */
function creationSide(creationIndex: number, device: DeviceIndex, windowMs: number): CreationSide {
  const { findings, times, names, parents, byName, byParent } = device;
  const creation = findings[creationIndex];
  if (!creation) throw new Error(`creation ${creationIndex} is not a finding of the device`);
  const start = times[creationIndex] ?? findingTime(creation);
  const inSide = new Set<number>([creationIndex]);
  const files = new Set(names[creationIndex] ?? []);
  const expandedNames = new Set<string>();
  const expandedParents = new Set<string>();
  const queue: number[] = [creationIndex];
  const creationParent = parentProcessKey(creation);

  const visitList = (list: readonly number[] | undefined, sameScriptOnly: boolean): void => {
    if (!list) return;
    const from = sameScriptOnly ? start - SAME_SCRIPT_MS : start - windowMs;
    const to = sameScriptOnly ? start + SAME_SCRIPT_MS : start + windowMs;
    for (let k = lowerBound(list, times, from); k < list.length; k++) {
      const i = list[k] ?? 0;
      const t = times[i] ?? 0;
      if (t > to) break;
      if (inSide.has(i)) continue;
      // Both windows are symmetric around the creation; the chain window bounds every candidate.
      if (Math.abs(t - start) > windowMs) continue;
      const f = findings[i];
      if (!f) continue;
      if (sameScriptOnly && namesOtherCertificate(creation, f)) continue;
      inSide.add(i);
      queue.push(i);
    }
  };

  for (let q = 0; q < queue.length; q++) {
    const i = queue[q] ?? 0;
    for (const n of names[i] ?? []) {
      files.add(n);
      if (expandedNames.has(n)) continue;
      expandedNames.add(n);
      visitList(byName.get(n), false);
    }
    const parent = i === creationIndex ? creationParent : (parents[i] ?? null);
    if (parent !== null && !expandedParents.has(parent)) {
      expandedParents.add(parent);
      visitList(byParent.get(parent), true);
    }
  }
  // Index order is compareFindings order; a finding object listed twice is one step.
  const steps = [...new Set([...inSide].sort((x, y) => x - y).map((i) => findings[i]))].filter((f): f is Finding => f !== undefined);
  return { steps, files };
}

/** Steps of one script run close together; a long-lived shell may start unrelated work later. */
const SAME_SCRIPT_MS = 5 * 60 * 1000;

/** Two known, different subjects or thumbprints: another certificate, whatever the parent. */
function namesOtherCertificate(a: Finding, b: Finding): boolean {
  const ta = a.certificate.thumbprint;
  const tb = b.certificate.thumbprint;
  if (ta && tb && thumbprintKey(ta) !== thumbprintKey(tb)) return true;
  const sa = a.certificate.subject;
  const sb = b.certificate.subject;
  return Boolean(sa?.trim() && sb?.trim() && subjectCommonName(sa) !== subjectCommonName(sb));
}

/**
 * One parent process instance (same pid, image and account on the device): a script that runs
 * New-SelfSignedCertificate and then Export-PfxCertificate in two PowerShell processes is one
 * creation, even though only the export names a file.
 */
function parentProcessKey(finding: Finding): string | null {
  const { processId, fileName } = finding.parent;
  if (processId === null || !fileName) return null;
  return `${processId}\u0000${fileName.toLowerCase()}\u0000${(finding.account.name ?? '').toLowerCase()}`;
}

class UnionFind {
  private readonly parent: number[];
  constructor(size: number) {
    this.parent = Array.from({ length: size }, (_, i) => i);
  }
  find(i: number): number {
    let root = i;
    while (this.parent[root] !== root) root = this.parent[root] ?? root;
    // Path compression keeps later finds flat.
    let node = i;
    while (this.parent[node] !== root) {
      const next = this.parent[node] ?? root;
      this.parent[node] = root;
      node = next;
    }
    return root;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra !== rb) this.parent[Math.max(ra, rb)] = Math.min(ra, rb);
  }
}

/** Links creation -> use across groups and returns one draft per resulting incident. */
export function linkChains(groups: readonly FindingGroup[], options: ChainOptions = {}): IncidentDraft[] {
  const windowMs = options.chainWindowMs ?? DEFAULT_CHAIN_WINDOW_MS;
  assertWindow('chainWindowMs', windowMs);

  const groupOf = new Map<string, number>();
  const byDevice = new Map<string, Finding[]>();
  groups.forEach((group, index) => {
    for (const finding of group.findings) {
      groupOf.set(finding.id, index);
      // Chains cross rules: a trust-store registry write (one rule) completes a makecert run (another).
      const deviceId = group.deviceKey;
      const list = byDevice.get(deviceId) ?? [];
      list.push(finding);
      byDevice.set(deviceId, list);
    }
  });

  const links: Link[] = [];
  for (const unsorted of byDevice.values()) {
    const deviceFindings = sortFindings(unsorted);
    const creationIndexes: number[] = [];
    deviceFindings.forEach((f, i) => {
      if (chainRole(f) === 'create') creationIndexes.push(i);
    });
    if (creationIndexes.length === 0) continue;
    const device = indexDevice(deviceFindings);
    const { times } = device;
    // Sides are computed when a use first needs one (most creations are never compared by file).
    const sides = new Map<number, CreationSide>();
    const sideOf = (index: number): CreationSide => {
      let side = sides.get(index);
      if (!side) {
        side = creationSide(index, device, windowMs);
        sides.set(index, side);
      }
      return side;
    };
    deviceFindings.forEach((use, useIndex) => {
      if (chainRole(use) !== 'use') return;
      const useTime = times[useIndex] ?? findingTime(use);
      let best: { index: number; creation: Finding; basis: ChainLinkBasis; rank: number } | null = null;
      // Creations are in time order: only those in [useTime - windowMs, useTime] can link.
      for (let k = lowerBound(creationIndexes, times, useTime - windowMs); k < creationIndexes.length; k++) {
        const index = creationIndexes[k] ?? 0;
        const creation = deviceFindings[index];
        if (!creation) continue;
        const delta = useTime - (times[index] ?? 0);
        if (delta < 0) break;
        if (delta > windowMs) continue;
        const comparison = compareIdentity(creation, use, () => sideOf(index).files);
        if (comparison.result === 'conflict') continue;
        const basis: ChainLinkBasis = comparison.result === 'match' ? comparison.basis : 'device-time';
        const rank = comparison.result === 'match' ? 1 : 0;
        // Creations are in time order, so `>=` keeps the latest creation before the use among
        // equally good candidates: the one most likely to have produced the certificate used.
        if (!best || rank >= best.rank) best = { index, creation, basis, rank };
      }
      if (best) links.push({ creation: best.creation, use, basis: best.basis, side: sideOf(best.index).steps });
    });
  }

  const sets = new UnionFind(groups.length);
  for (const link of links) {
    const anchor = groupOf.get(link.use.id) ?? 0;
    for (const step of link.side) sets.union(groupOf.get(step.id) ?? 0, anchor);
  }

  const members = new Map<number, number[]>();
  groups.forEach((_, index) => {
    const root = sets.find(index);
    const list = members.get(root);
    if (list) list.push(index);
    else members.set(root, [index]);
  });
  const linksByRoot = new Map<number, Link[]>();
  for (const link of links) {
    const root = sets.find(groupOf.get(link.creation.id) ?? 0);
    const list = linksByRoot.get(root);
    if (list) list.push(link);
    else linksByRoot.set(root, [link]);
  }

  const drafts: IncidentDraft[] = [];
  for (const [root, indexes] of members) {
    const memberGroups = indexes.map((i) => groups[i]).filter((g): g is FindingGroup => g !== undefined);
    const rootLinks = linksByRoot.get(root) ?? [];
    const findings = sortFindings(memberGroups.flatMap((g) => g.findings));
    if (rootLinks.length === 0) {
      const only = memberGroups[0];
      if (only) drafts.push({ primary: only, groups: memberGroups, findings, chainLink: null });
      continue;
    }
    const created = uniqueSorted(rootLinks.flatMap((l) => l.side));
    const used = uniqueSorted(rootLinks.map((l) => l.use));
    const earliestCreation = created.find((f) => chainRole(f) === 'create') ?? created[0];
    const primaryIndex = earliestCreation ? groupOf.get(earliestCreation.id) : undefined;
    const primary = (primaryIndex !== undefined ? groups[primaryIndex] : undefined) ?? memberGroups[0];
    if (!primary) continue;
    const others = memberGroups
      .filter((g) => g !== primary)
      .sort((a, b) => a.windowStart - b.windowStart || (a.incidentId < b.incidentId ? -1 : 1));
    const linkedBy = rootLinks.reduce<ChainLinkBasis>(
      (strongest, l) => (BASIS_STRENGTH[l.basis] > BASIS_STRENGTH[strongest] ? l.basis : strongest),
      'device-time',
    );
    drafts.push({
      primary,
      groups: [primary, ...others],
      findings,
      chainLink: {
        linkedBy,
        createdFindingIds: created.map((f) => f.id),
        usedFindingIds: used.map((f) => f.id),
        mergedIncidentIds: others.map((g) => g.incidentId).filter((id) => id !== primary.incidentId),
      },
    });
  }
  return drafts.sort(
    (a, b) =>
      a.primary.windowStart - b.primary.windowStart ||
      (a.primary.incidentId < b.primary.incidentId ? -1 : a.primary.incidentId > b.primary.incidentId ? 1 : 0),
  );
}

function uniqueSorted(findings: readonly Finding[]): Finding[] {
  const byId = new Map(findings.map((f) => [f.id, f]));
  return sortFindings([...byId.values()]);
}

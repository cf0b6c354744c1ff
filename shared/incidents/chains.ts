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
import { assertWindow, compareFindings, findingTime, type FindingGroup } from './group';
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
export function compareIdentity(creation: Finding, use: Finding, creationFiles: ReadonlySet<string>): IdentityComparison {
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

  if (certificateFileNames(use).some((f) => creationFiles.has(f))) return { result: 'match', basis: 'file' };
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
 * A creation and the creation-side steps on the same device, within the window around it, that
 * share a key or certificate file with it, transitively: `openssl req` writes code.key/code.crt,
 * `openssl pkcs12 -export` turns them into code.pfx, signtool then signs with /f code.pfx; makecert
 * writes SPC.pvk/SPC.cer and pvk2pfx makes SPC.pfx. All of it is one certificate's story. Steps
 * started by the same parent process instance belong to it too.
 */
function creationSide(creation: Finding, deviceFindings: readonly Finding[], windowMs: number): CreationSide {
  const start = findingTime(creation);
  const candidates = deviceFindings.filter(
    (f) =>
      f !== creation &&
      isCreationSideStep(f) &&
      Math.abs(findingTime(f) - start) <= windowMs,
  );
  const steps = [creation];
  const files = new Set(certificateFileNames(creation));
  const parents = new Set([parentProcessKey(creation)].filter((k): k is string => k !== null));
  let grew = files.size > 0 || parents.size > 0;
  while (grew) {
    grew = false;
    for (const f of candidates) {
      if (steps.includes(f)) continue;
      const names = certificateFileNames(f);
      const parent = parentProcessKey(f);
      const sameScript =
        parent !== null && parents.has(parent) && Math.abs(findingTime(f) - start) <= SAME_SCRIPT_MS && !namesOtherCertificate(creation, f);
      if (!names.some((n) => files.has(n)) && !sameScript) continue;
      steps.push(f);
      names.forEach((n) => files.add(n));
      if (parent !== null) parents.add(parent);
      grew = true;
    }
  }
  return { steps: steps.sort(compareFindings), files };
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
  for (const deviceFindings of byDevice.values()) {
    deviceFindings.sort(compareFindings);
    const creations = deviceFindings.filter((f) => chainRole(f) === 'create');
    if (creations.length === 0) continue;
    const sides = new Map(creations.map((c) => [c.id, creationSide(c, deviceFindings, windowMs)]));
    for (const use of deviceFindings) {
      if (chainRole(use) !== 'use') continue;
      const useTime = findingTime(use);
      let best: { creation: Finding; basis: ChainLinkBasis; rank: number } | null = null;
      for (const creation of creations) {
        const delta = useTime - findingTime(creation);
        if (delta < 0 || delta > windowMs) continue;
        const comparison = compareIdentity(creation, use, sides.get(creation.id)?.files ?? new Set());
        if (comparison.result === 'conflict') continue;
        const basis: ChainLinkBasis = comparison.result === 'match' ? comparison.basis : 'device-time';
        const rank = comparison.result === 'match' ? 1 : 0;
        // Creations are in time order, so `>=` keeps the latest creation before the use among
        // equally good candidates: the one most likely to have produced the certificate used.
        if (!best || rank >= best.rank) best = { creation, basis, rank };
      }
      if (best) links.push({ creation: best.creation, use, basis: best.basis, side: sides.get(best.creation.id)?.steps ?? [best.creation] });
    }
  }

  const sets = new UnionFind(groups.length);
  for (const link of links) {
    const anchor = groupOf.get(link.use.id) ?? 0;
    for (const step of link.side) sets.union(groupOf.get(step.id) ?? 0, anchor);
  }

  const members = new Map<number, number[]>();
  groups.forEach((_, index) => {
    const root = sets.find(index);
    members.set(root, [...(members.get(root) ?? []), index]);
  });
  const linksByRoot = new Map<number, Link[]>();
  for (const link of links) {
    const root = sets.find(groupOf.get(link.creation.id) ?? 0);
    linksByRoot.set(root, [...(linksByRoot.get(root) ?? []), link]);
  }

  const drafts: IncidentDraft[] = [];
  for (const [root, indexes] of members) {
    const memberGroups = indexes.map((i) => groups[i]).filter((g): g is FindingGroup => g !== undefined);
    const rootLinks = linksByRoot.get(root) ?? [];
    const findings = memberGroups.flatMap((g) => g.findings).sort(compareFindings);
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
  return [...byId.values()].sort(compareFindings);
}

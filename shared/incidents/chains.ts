/**
 * Chains: a certificate creation (makecert, New-SelfSignedCertificate, openssl: create-cert or
 * export-pfx) followed within the chain window, in the same story, by signing (signtool sign,
 * Set-AuthenticodeSignature) or a trust-store import (Root, AuthRoot, TrustedPublisher) is one
 * event chain, T1587.002 leading to T1553.002/.004. The story (stories.ts) already holds both
 * steps in one incident; the chain escalates that incident and says how the steps were linked.
 * Pure.
 */
import type { Finding } from '../model/finding';
import type { ChainLink, ChainLinkBasis } from '../model/incident';
import { assertWindow, findingTime, sortFindings } from './order';
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
 * the story memory keeps first (see storyMemory.ts).
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

const BASIS_STRENGTH: Record<ChainLinkBasis, number> = { thumbprint: 3, subject: 2, file: 1, 'device-time': 0 };

/**
 * Creations a use step is compared with at most (the latest ones before it): a story with
 * thousands of creations must not make chain detection quadratic.
 */
const MAX_CREATIONS_PER_USE = 64;

/**
 * The chain inside one story's findings, or null: every use step (signing, trust-store import)
 * that follows a creation within `chainWindowMs` and does not name another certificate is linked;
 * `linkedBy` is the strongest evidence over those links. The creation side is every creation-side
 * step of the story (creations, PFX exports, key conversions).
 */
export function storyChain(findings: readonly Finding[], chainWindowMs: number = DEFAULT_CHAIN_WINDOW_MS, knownTimes?: readonly number[]): ChainLink | null {
  assertWindow('chainWindowMs', chainWindowMs);
  // Stories hand their findings over in time order, with their times; sort only when they are not.
  let times: readonly number[] = knownTimes && knownTimes.length === findings.length ? knownTimes : findings.map(findingTime);
  let sorted: readonly Finding[] = findings;
  for (let i = 1; i < times.length; i++) {
    const a = findings[i - 1];
    const b = findings[i];
    if (!a || !b) continue;
    const d = (times[i - 1] ?? 0) - (times[i] ?? 0);
    if (d > 0 || (d === 0 && a.id > b.id)) {
      sorted = sortFindings(findings);
      times = sorted.map(findingTime);
      break;
    }
  }
  const roles = sorted.map(chainRole);
  const creations: Finding[] = [];
  const creationTimes: number[] = [];
  roles.forEach((role, i) => {
    const f = sorted[i];
    if (role === 'create' && f) {
      creations.push(f);
      creationTimes.push(times[i] ?? 0);
    }
  });
  if (creations.length === 0) return null;
  const side = sorted.filter((f, i) => roles[i] === 'create' || f.action === 'convert-key');
  let sideFiles: Set<string> | null = null;
  const filesOfSide = (): Set<string> => (sideFiles ??= new Set(side.flatMap(certificateFileNames)));

  const used: Finding[] = [];
  let linkedBy: ChainLinkBasis = 'device-time';
  sorted.forEach((use, i) => {
    if (roles[i] !== 'use') return;
    const t = times[i] ?? 0;
    let best: ChainLinkBasis | null = null;
    // Latest creations first, within the window before the use.
    const upper = countAtOrBefore(creationTimes, t);
    for (let k = upper - 1, n = 0; k >= 0 && n < MAX_CREATIONS_PER_USE; k--, n++) {
      const creation = creations[k];
      if (!creation || t - (creationTimes[k] ?? 0) > chainWindowMs) break;
      const comparison = compareIdentity(creation, use, filesOfSide);
      if (comparison.result === 'conflict') continue;
      const basis: ChainLinkBasis = comparison.result === 'match' ? comparison.basis : 'device-time';
      if (best === null || BASIS_STRENGTH[basis] > BASIS_STRENGTH[best]) best = basis;
    }
    if (best === null) return;
    used.push(use);
    if (BASIS_STRENGTH[best] > BASIS_STRENGTH[linkedBy]) linkedBy = best;
  });
  if (used.length === 0) return null;
  return {
    linkedBy,
    createdFindingIds: side.map((f) => f.id),
    usedFindingIds: used.map((f) => f.id),
    mergedIncidentIds: [],
  };
}

/** How many of the ascending `times` are <= t (binary search). */
function countAtOrBefore(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((times[mid] ?? 0) <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How much an allowlist entry would hide: its conditions run through the real matcher over the
 * findings of the recent past (the recent-findings store), counting findings, devices, and those
 * that were part of a HIGH incident or a chain. Writers see this before saving (the page's
 * preview); the API refuses an entry above the configured share, or one that would hide a chain,
 * unless the writer confirms it explicitly, and the confirmation goes into the audit record.
 */
import type { AllowlistConditions, AllowlistEntry, AllowlistScope } from './entry';
import { scopeKey } from './entry';
import { compileAllowlist } from './matcher';
import type { Finding, Severity } from '../model/finding';

/** A finding as the hunt stored it, with the incident it went into (null when suppressed). */
export interface RecentFinding {
  finding: Finding;
  tenantId: string;
  incident: { id: string; severity: Severity; chain: boolean } | null;
}

export type Confirmation = 'broad' | 'chain';
export const CONFIRMATIONS: readonly Confirmation[] = ['broad', 'chain'];

export interface BreadthOptions {
  now: Date;
  lookbackDays: number;
  /** Share (0..1] of recent findings above which an entry is "broad". */
  maxShare: number;
  /** How many matched findings to return as examples (most recent first). */
  sampleSize?: number;
}

export interface Breadth {
  lookbackDays: number;
  /** Recent findings in the entry's scope. */
  total: number;
  matched: number;
  share: number;
  maxShare: number;
  devices: number;
  /** Matched findings that went into a HIGH incident. */
  high: number;
  /** Matched findings that were part of a chain incident. */
  chains: number;
  /** Matched findings another entry already suppresses. */
  alreadySuppressed: number;
  /** What the writer must confirm before the entry is saved. */
  needsConfirmation: Confirmation[];
  /** The most recent matched findings. */
  sample: RecentFinding[];
}

/** What the audit record keeps when a writer confirmed a broad entry. */
export interface BreadthOverride {
  confirmed: Confirmation[];
  by: string;
  lookbackDays: number;
  total: number;
  matched: number;
  share: number;
  devices: number;
  high: number;
  chains: number;
}

export function estimateBreadth(entry: { conditions: AllowlistConditions; scope: AllowlistScope }, recent: readonly RecentFinding[], options: BreadthOptions): Breadth {
  const probe: AllowlistEntry = {
    id: '~probe~',
    conditions: entry.conditions,
    scope: entry.scope,
    reason: 'breadth probe',
    owner: 'breadth probe',
    createdBy: '',
    createdAt: '',
    updatedBy: '',
    updatedAt: '',
    expiresAt: null,
    permanent: true,
    enabled: true,
    hitCount: 0,
    lastHitAt: null,
    deleted: false,
    etag: null,
  };
  const matcher = compileAllowlist([probe], options.now);
  const scoped = entry.scope === 'global' ? recent : recent.filter((r) => scopeKey({ tenantId: r.tenantId }) === scopeKey(entry.scope));
  const matched = scoped.filter((r) => matcher.match(r.finding, r.tenantId) !== null);
  const devices = new Set(matched.map((r) => (r.finding.device.name || r.finding.device.id || '').toLowerCase()));
  const high = matched.filter((r) => r.incident?.severity === 'high').length;
  const chains = matched.filter((r) => r.incident?.chain === true).length;
  const share = scoped.length === 0 ? 0 : matched.length / scoped.length;
  const needsConfirmation: Confirmation[] = [];
  if (matched.length > 0 && share > options.maxShare) needsConfirmation.push('broad');
  if (chains > 0) needsConfirmation.push('chain');
  const sample = [...matched].sort((a, b) => b.finding.timestamp.localeCompare(a.finding.timestamp)).slice(0, options.sampleSize ?? 50);
  return {
    lookbackDays: options.lookbackDays,
    total: scoped.length,
    matched: matched.length,
    share,
    maxShare: options.maxShare,
    devices: devices.size,
    high,
    chains,
    alreadySuppressed: matched.filter((r) => r.finding.suppressedBy !== null).length,
    needsConfirmation,
    sample,
  };
}

/** The confirmations still missing, given what the writer confirmed. */
export function missingConfirmations(breadth: Breadth, confirmed: readonly Confirmation[]): Confirmation[] {
  return breadth.needsConfirmation.filter((c) => !confirmed.includes(c));
}

export function overrideOf(breadth: Breadth, confirmed: readonly Confirmation[], by: string): BreadthOverride | null {
  if (breadth.needsConfirmation.length === 0) return null;
  const { lookbackDays, total, matched, share, devices, high, chains } = breadth;
  return { confirmed: CONFIRMATIONS.filter((c) => confirmed.includes(c)), by, lookbackDays, total, matched, share, devices, high, chains };
}

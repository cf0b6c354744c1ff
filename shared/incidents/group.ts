/**
 * Grouping: unsuppressed findings -> groups keyed by tenant + rule + device + signer identity +
 * detection branch inside an epoch-aligned grouping window. The group id is a hash of that key, so
 * a re-run or an overlapping hunt window lands every finding in the same group (and incident) as
 * before. Pure: no clock, no I/O.
 */
import { createHash } from 'node:crypto';
import type { Branch, Finding } from '../model/finding';
import { deviceKey, signerKey } from './identity';

export const DEFAULT_GROUPING_WINDOW_MS = 24 * 60 * 60 * 1000;

/** Hex characters kept from the sha256: 128 bits, collision-free at any realistic volume. */
const INCIDENT_ID_HEX_LENGTH = 32;

export interface FindingGroup {
  /** Stable id of the incident this group becomes on its own. */
  incidentId: string;
  tenantId: string;
  ruleId: string;
  /** `device|signer|branch`: the grouping key without tenant, rule and window. */
  key: string;
  deviceKey: string;
  /** Null when the findings name no subject, thumbprint or file (grouped by tool instead). */
  signerKey: string | null;
  branch: Branch;
  /** Epoch-aligned grouping window, milliseconds since epoch: [windowStart, windowEnd). */
  windowStart: number;
  windowEnd: number;
  /** Sorted by timestamp, then id. */
  findings: Finding[];
}

export interface GroupingOptions {
  tenantId: string;
  groupingWindowMs?: number;
}

export function assertWindow(name: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`${name} must be a positive integer of milliseconds, got ${ms}`);
}

/** Start of the window holding `timestampMs`: windows are multiples of `windowMs` since the epoch. */
export function bucketStart(timestampMs: number, windowMs: number): number {
  return Math.floor(timestampMs / windowMs) * windowMs;
}

export function incidentIdFor(tenantId: string, ruleId: string, key: string, windowStartMs: number): string {
  const material = [tenantId.trim().toLowerCase(), ruleId, key, new Date(windowStartMs).toISOString()].join('|');
  return createHash('sha256').update(material, 'utf8').digest('hex').slice(0, INCIDENT_ID_HEX_LENGTH);
}

/**
 * Parsed times, remembered per finding object with the text they came from (so a finding whose
 * timestamp is rewritten is parsed again): sorting compares each finding many times, and
 * Date.parse per comparison dominated incident building on large answers.
 */
const parsedTimes = new WeakMap<Finding, { text: string; ms: number }>();

export function findingTime(finding: Finding): number {
  const text = finding.timestamp;
  const cached = parsedTimes.get(finding);
  if (cached !== undefined && cached.text === text) return cached.ms;
  const ms = Date.parse(text);
  // Findings are schema-validated upstream; an unreadable time here is a bug, and dropping the
  // finding silently would hide evidence, so fail loudly.
  if (Number.isNaN(ms)) throw new TypeError(`finding ${finding.id} has an unreadable timestamp: ${finding.timestamp}`);
  parsedTimes.set(finding, { text, ms });
  return ms;
}

/** Time order with the id as tie-breaker, so every derived list is independent of input order. */
export function compareFindings(a: Finding, b: Finding): number {
  return findingTime(a) - findingTime(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The findings in compareFindings order, as a new array: each time is read once (decorate, sort,
 * undecorate) instead of twice per comparison.
 */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const decorated = findings.map((finding) => ({ finding, ms: findingTime(finding), id: finding.id }));
  decorated.sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return decorated.map((d) => d.finding);
}

export function groupKeyOf(finding: Finding): { key: string; deviceKey: string; signerKey: string | null } {
  const device = deviceKey(finding.device);
  const signer = signerKey(finding);
  // Without any certificate identity, findings of one tool on one device are the best proxy for
  // "the same activity" (e.g. repeated `signtool sign /a` in one build).
  const identity = signer ?? `tool:${finding.tool}`;
  return { key: `${device}|${identity}|${finding.branch}`, deviceKey: device, signerKey: signer };
}

export function groupFindings(findings: readonly Finding[], options: GroupingOptions): FindingGroup[] {
  const windowMs = options.groupingWindowMs ?? DEFAULT_GROUPING_WINDOW_MS;
  assertWindow('groupingWindowMs', windowMs);
  const seen = new Set<string>();
  const groups = new Map<string, FindingGroup>();
  const ordered = sortFindings(findings.filter((f) => f.suppressedBy === null));
  for (const finding of ordered) {
    // The same row can arrive twice (paging, overlapping windows within one batch).
    if (seen.has(finding.id)) continue;
    seen.add(finding.id);
    const { key, deviceKey: device, signerKey: signer } = groupKeyOf(finding);
    const windowStart = bucketStart(findingTime(finding), windowMs);
    const mapKey = `${finding.ruleId}\u0000${key}\u0000${windowStart}`;
    let group = groups.get(mapKey);
    if (!group) {
      group = {
        incidentId: incidentIdFor(options.tenantId, finding.ruleId, key, windowStart),
        tenantId: options.tenantId,
        ruleId: finding.ruleId,
        key,
        deviceKey: device,
        signerKey: signer,
        branch: finding.branch,
        windowStart,
        windowEnd: windowStart + windowMs,
        findings: [],
      };
      groups.set(mapKey, group);
    }
    group.findings.push(finding);
  }
  return [...groups.values()].sort(
    (a, b) => a.windowStart - b.windowStart || (a.incidentId < b.incidentId ? -1 : a.incidentId > b.incidentId ? 1 : 0),
  );
}

/**
 * Finding time and order, shared by story grouping, chains and the stores: event times parsed once
 * per finding, and one total order (time, then id) so every derived list is independent of the
 * order the findings arrived in. Pure: no clock, no I/O.
 */
import type { Finding } from '../model/finding';

export function assertWindow(name: string, ms: number): void {
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new RangeError(`${name} must be a positive integer of milliseconds, got ${ms}`);
}

/** A finding's event time in ms. */
export function findingTime(finding: Finding): number {
  const ms = Date.parse(finding.timestamp);
  // Findings are schema-validated upstream; an unreadable time here is a bug, and dropping the
  // finding silently would hide evidence, so fail loudly.
  if (Number.isNaN(ms)) throw new TypeError(`finding ${finding.id} has an unreadable timestamp: ${finding.timestamp}`);
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

/**
 * False-positive hints: the rule's documented benign sources whose matchers fit this incident
 * (e.g. the parent is a CI agent), so the reader sees "this looks like X; check Y" next to the
 * evidence. Pure.
 */
import type { Finding } from '../model/finding';
import { baseName } from '../incidents/identity';
import type { FalsePositiveEntry } from './rule-context';
import { pathsOf } from './signals';

/** Case-insensitive match, `*` as a wildcard; without `*` the whole value must match. */
export function wildcardMatch(pattern: string, value: string): boolean {
  const escaped = pattern
    .trim()
    .toLowerCase()
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${escaped}$`, 's').test(value.trim().toLowerCase());
}

function anyMatch(patterns: readonly string[] | undefined, values: readonly (string | null)[]): boolean | undefined {
  if (!patterns || patterns.length === 0) return undefined;
  const present = values.filter((v): v is string => v !== null && v.trim() !== '');
  return patterns.some((p) => present.some((v) => wildcardMatch(p, v)));
}

/** True when every matcher the entry gives matches this one finding; false without matchers. */
export function entryFits(entry: FalsePositiveEntry, finding: Finding): boolean {
  const parentName = finding.parent.fileName ? baseName(finding.parent.fileName) : null;
  const outcomes = [
    anyMatch(entry.parents, [parentName, finding.parent.fileName]),
    anyMatch(entry.parentCommandLines, [finding.parent.commandLine]),
    anyMatch(entry.subjects, [finding.certificate.subject]),
    anyMatch(entry.paths, pathsOf(finding)),
    anyMatch(entry.accounts, [finding.account.name, finding.account.domain && finding.account.name ? `${finding.account.domain}\\${finding.account.name}` : null]),
    anyMatch(entry.devices, [finding.device.name]),
  ].filter((o): o is boolean => o !== undefined);
  return outcomes.length > 0 && outcomes.every(Boolean);
}

/** Hints (or descriptions, when an entry has no hint) of entries fitting any finding; rule order. */
export function falsePositiveHints(findings: readonly Finding[], entries: readonly FalsePositiveEntry[]): string[] {
  const hints: string[] = [];
  for (const entry of entries) {
    if (!findings.some((f) => entryFits(entry, f))) continue;
    const text = (entry.hint || entry.description).trim();
    if (text && !hints.includes(text)) hints.push(text);
  }
  return hints;
}

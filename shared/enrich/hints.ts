/**
 * False-positive hints: the rule's documented benign sources whose matchers fit this incident
 * (e.g. the parent is a CI agent), so the reader sees "this looks like X; check Y" next to the
 * evidence. Pure.
 */
import type { Finding } from '../model/finding';
import { baseName } from '../incidents/identity';
import type { FalsePositiveEntry } from './rule-context';
import { pathsOf } from './signals';

/**
 * A compiled pattern: the trimmed, lower-cased pattern split at `*`. Matching anchors the first
 * piece at the start and the last at the end, and finds each inner piece leftmost after the
 * previous one: linear in the value, no backtracking (the earlier RegExp `^a.*b.*c$` said the
 * same, but was built anew for every comparison). Every other character, `?` included, is literal.
 */
type WildcardMatcher = (loweredValue: string) => boolean;

function compileWildcard(pattern: string): WildcardMatcher {
  const pieces = pattern.trim().toLowerCase().split('*');
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return (value) => value === first;
  const last = pieces[pieces.length - 1] ?? '';
  const inner = pieces.slice(1, -1).filter((p) => p !== '');
  const fixed = first.length + last.length;
  return (value) => {
    if (value.length < fixed || !value.startsWith(first) || !value.endsWith(last)) return false;
    let at = first.length;
    const end = value.length - last.length;
    for (const piece of inner) {
      const found = value.indexOf(piece, at);
      if (found < 0 || found + piece.length > end) return false;
      at = found + piece.length;
    }
    return true;
  };
}

/** Case-insensitive match, `*` as a wildcard; without `*` the whole value must match. */
export function wildcardMatch(pattern: string, value: string): boolean {
  return compileWildcard(pattern)(value.trim().toLowerCase());
}

/** Values above this many distinct ones per matcher are tested without being remembered. */
const MAX_REMEMBERED_VALUES = 4096;

/** One matcher of an entry (e.g. its `parents`): any pattern fits any value. */
class PatternSet {
  private readonly matchers: WildcardMatcher[];
  private readonly verdicts = new Map<string, boolean>();
  constructor(patterns: readonly string[]) {
    this.matchers = patterns.map(compileWildcard);
  }
  /** `values` trimmed, lower-cased and non-empty. */
  anyMatch(values: readonly string[]): boolean {
    for (const value of values) if (this.test(value)) return true;
    return false;
  }
  private test(value: string): boolean {
    const known = this.verdicts.get(value);
    if (known !== undefined) return known;
    const verdict = this.matchers.some((m) => m(value));
    if (this.verdicts.size < MAX_REMEMBERED_VALUES) this.verdicts.set(value, verdict);
    return verdict;
  }
}

const MATCHER_FIELDS = ['parents', 'parentCommandLines', 'subjects', 'paths', 'accounts', 'devices'] as const;
type MatcherField = (typeof MATCHER_FIELDS)[number];

/** The finding's values each matcher reads, trimmed, lower-cased, blanks dropped. */
type FindingValues = Record<MatcherField, readonly string[]>;

function present(values: readonly (string | null)[]): string[] {
  const out: string[] = [];
  for (const v of values) {
    if (v === null) continue;
    const trimmed = v.trim();
    if (trimmed !== '') out.push(trimmed.toLowerCase());
  }
  return out;
}

function fieldValues(finding: Finding, field: MatcherField): string[] {
  switch (field) {
    case 'parents':
      return present([finding.parent.fileName ? baseName(finding.parent.fileName) : null, finding.parent.fileName]);
    case 'parentCommandLines':
      return present([finding.parent.commandLine]);
    case 'subjects':
      return present([finding.certificate.subject]);
    case 'paths':
      return present(pathsOf(finding));
    case 'accounts':
      return present([finding.account.name, finding.account.domain && finding.account.name ? `${finding.account.domain}\\${finding.account.name}` : null]);
    case 'devices':
      return present([finding.device.name]);
  }
}

function valuesOf(finding: Finding): FindingValues {
  const out = {} as Record<MatcherField, readonly string[]>;
  for (const field of MATCHER_FIELDS) out[field] = fieldValues(finding, field);
  return out;
}

/** An entry's matchers, compiled; only the fields the entry gives (with at least one pattern). */
type CompiledEntry = { field: MatcherField; patterns: PatternSet }[];

function compileEntry(entry: FalsePositiveEntry): CompiledEntry {
  const compiled: CompiledEntry = [];
  for (const field of MATCHER_FIELDS) {
    const patterns = entry[field];
    if (patterns && patterns.length > 0) compiled.push({ field, patterns: new PatternSet(patterns) });
  }
  return compiled;
}

/** True when every matcher the entry gives matches this one finding; false without matchers. */
function compiledFits(entry: CompiledEntry, values: FindingValues): boolean {
  return entry.length > 0 && entry.every(({ field, patterns }) => patterns.anyMatch(values[field]));
}

/** True when every matcher the entry gives matches this one finding; false without matchers. */
export function entryFits(entry: FalsePositiveEntry, finding: Finding): boolean {
  return compiledFits(compileEntry(entry), valuesOf(finding));
}

/**
 * Compiled entries per rule context's entries array: incidents of one build share it, so each
 * pattern is compiled once and each distinct value tested once per matcher. A WeakMap, so a
 * rule reloaded with new entries is compiled afresh and the old one forgotten.
 */
const compiledEntries = new WeakMap<readonly FalsePositiveEntry[], { entries: FalsePositiveEntry[]; compiled: CompiledEntry[] }>();

function compiledFor(entries: readonly FalsePositiveEntry[]): CompiledEntry[] {
  const cached = compiledEntries.get(entries);
  // The array may have been edited in place since: recompile unless it holds the same entries.
  if (cached && cached.entries.length === entries.length && cached.entries.every((e, i) => e === entries[i])) return cached.compiled;
  const compiled = entries.map(compileEntry);
  compiledEntries.set(entries, { entries: [...entries], compiled });
  return compiled;
}

/** Hints (or descriptions, when an entry has no hint) of entries fitting any finding; rule order. */
export function falsePositiveHints(findings: readonly Finding[], entries: readonly FalsePositiveEntry[]): string[] {
  const hints: string[] = [];
  if (entries.length === 0) return hints;
  const compiled = compiledFor(entries);
  // Each finding's values are read only for the fields some entry tests, and only once.
  const values: (Partial<FindingValues> | undefined)[] = [];
  const valuesFor = (i: number, field: MatcherField): readonly string[] => {
    let cached = values[i];
    if (!cached) values[i] = cached = {};
    let list = cached[field];
    if (list === undefined) {
      const finding = findings[i];
      list = finding ? fieldValues(finding, field) : [];
      cached[field] = list;
    }
    return list;
  };
  entries.forEach((entry, e) => {
    const matchers = compiled[e];
    if (!matchers || matchers.length === 0) return;
    let fits = false;
    for (let i = 0; i < findings.length && !fits; i++) fits = matchers.every(({ field, patterns }) => patterns.anyMatch(valuesFor(i, field)));
    if (!fits) return;
    const text = (entry.hint || entry.description).trim();
    if (text && !hints.includes(text)) hints.push(text);
  });
  return hints;
}

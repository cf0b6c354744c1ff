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
const compiledEntries = new WeakMap<readonly FalsePositiveEntry[], { entries: FalsePositiveEntry[]; compiled: CompiledEntry[]; masks: EntryMasks | null }>();

function compiledFor(entries: readonly FalsePositiveEntry[]): { compiled: CompiledEntry[]; masks: EntryMasks | null } {
  const cached = compiledEntries.get(entries);
  // The array may have been edited in place since: recompile unless it holds the same entries.
  if (cached && cached.entries.length === entries.length && cached.entries.every((e, i) => e === entries[i])) return cached;
  const compiled = entries.map(compileEntry);
  const fresh = { entries: [...entries], compiled, masks: compiled.length <= EntryMasks.MAX_ENTRIES ? new EntryMasks(compiled) : null };
  compiledEntries.set(entries, fresh);
  return fresh;
}

/** Raw values remembered per field before the memo starts over. */
const MAX_REMEMBERED_RAW = 8192;

/**
 * Which entries fit one finding, as a bit mask (bit e: entries[e]), read from the finding's values
 * as written: each field's verdicts are remembered per raw value (a path, a parent image, an
 * account), so a finding costs a few lookups instead of trimming, lower-casing and testing every
 * value against every entry. Same verdicts as `compiledFits`, one entry per bit.
 */
class EntryMasks {
  static readonly MAX_ENTRIES = 30;
  /** Entries with at least one matcher: only they can fit. */
  readonly all: number;
  /** Per field some entry tests: the entries that do not test it (they pass it whatever the value). */
  private readonly fields: { field: MatcherField; untested: number; tests: { bit: number; patterns: PatternSet }[]; memo: Map<string, number> }[] = [];
  private readonly accounts = new Map<string, Map<string, number>>();

  constructor(compiled: readonly CompiledEntry[]) {
    let all = 0;
    compiled.forEach((matchers, e) => {
      if (matchers.length > 0) all |= 1 << e;
    });
    this.all = all;
    for (const field of MATCHER_FIELDS) {
      const tests: { bit: number; patterns: PatternSet }[] = [];
      compiled.forEach((matchers, e) => {
        for (const m of matchers) if (m.field === field) tests.push({ bit: 1 << e, patterns: m.patterns });
      });
      if (tests.length === 0) continue;
      const tested = tests.reduce((bits, t) => bits | t.bit, 0);
      this.fields.push({ field, untested: all & ~tested, tests, memo: new Map() });
    }
  }

  /** The entries whose every matcher fits this finding. */
  fitting(finding: Finding): number {
    let mask = this.all;
    for (const plan of this.fields) {
      mask &= plan.untested | this.matching(plan, finding);
      if (mask === 0) return 0;
    }
    return mask;
  }

  /** Entries testing the field whose patterns match any of the finding's values of it. */
  private matching(plan: EntryMasks['fields'][number], finding: Finding): number {
    switch (plan.field) {
      case 'parents':
        return finding.parent.fileName ? this.memoised(plan, finding.parent.fileName) : 0;
      case 'parentCommandLines':
        return finding.parent.commandLine ? this.memoised(plan, finding.parent.commandLine) : 0;
      case 'subjects':
        return finding.certificate.subject ? this.memoised(plan, finding.certificate.subject) : 0;
      case 'devices':
        return finding.device.name ? this.memoised(plan, finding.device.name) : 0;
      case 'paths': {
        let bits = 0;
        const { folderPath } = finding.process;
        if (folderPath) bits |= this.memoised(plan, folderPath);
        for (const f of finding.certificate.files) if (f) bits |= this.memoised(plan, f);
        for (const f of finding.signedFiles) if (f) bits |= this.memoised(plan, f);
        return bits;
      }
      case 'accounts': {
        const { name, domain } = finding.account;
        if (!name) return 0;
        let byDomain = this.accounts.get(name);
        if (!byDomain) {
          if (this.accounts.size >= MAX_REMEMBERED_RAW) this.accounts.clear();
          byDomain = new Map();
          this.accounts.set(name, byDomain);
        }
        const key = domain ?? '';
        let bits = byDomain.get(key);
        if (bits === undefined) {
          bits = this.test(plan, present([name, domain && name ? `${domain}\\${name}` : null]));
          byDomain.set(key, bits);
        }
        return bits;
      }
    }
  }

  /** The verdicts of one raw value, read as fieldValues reads it. */
  private memoised(plan: EntryMasks['fields'][number], raw: string): number {
    let bits = plan.memo.get(raw);
    if (bits === undefined) {
      const values = plan.field === 'parents' ? present([baseName(raw), raw]) : present([raw]);
      bits = this.test(plan, values);
      if (plan.memo.size >= MAX_REMEMBERED_RAW) plan.memo.clear();
      plan.memo.set(raw, bits);
    }
    return bits;
  }

  private test(plan: EntryMasks['fields'][number], values: readonly string[]): number {
    let bits = 0;
    for (const t of plan.tests) if (t.patterns.anyMatch(values)) bits |= t.bit;
    return bits;
  }
}

/** Hints (or descriptions, when an entry has no hint) of entries fitting any finding; rule order. */
export function falsePositiveHints(findings: readonly Finding[], entries: readonly FalsePositiveEntry[]): string[] {
  const hints: string[] = [];
  if (entries.length === 0) return hints;
  const { compiled, masks } = compiledFor(entries);
  let fits: (e: number) => boolean;
  if (masks !== null) {
    let fitting = 0;
    for (const finding of findings) {
      fitting |= masks.fitting(finding);
      if (fitting === masks.all) break;
    }
    fits = (e) => (fitting & (1 << e)) !== 0;
  } else {
    fits = (e) => anyFindingFits(findings, compiled[e]);
  }
  entries.forEach((entry, e) => {
    if (!fits(e)) return;
    const text = (entry.hint || entry.description).trim();
    if (text && !hints.includes(text)) hints.push(text);
  });
  return hints;
}

/** Rules with more entries than a mask holds: each entry against the findings until one fits. */
function anyFindingFits(findings: readonly Finding[], matchers: CompiledEntry | undefined): boolean {
  if (!matchers || matchers.length === 0) return false;
  for (const finding of findings) if (matchers.every(({ field, patterns }) => patterns.anyMatch(fieldValues(finding, field)))) return true;
  return false;
}

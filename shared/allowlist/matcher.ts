/**
 * Compiles allowlist entries into an index and decides, per finding, which entry (if any)
 * suppresses it; `suppress()` applies that to a batch and counts hits per entry.
 *
 * Semantics: an entry matches a finding when it is active (enabled, not deleted, not expired at
 * compile time), its scope is global or the finding's tenant, and EVERY condition matches; a
 * condition matches when ANY of the finding's values for that field matches (an account gives
 * `name` and `domain\name`), except a file condition, which must match EVERY certificate file of the
 * finding (each by its full path or its file name), so a decoy file beside the real one does not
 * satisfy it. When several
 * entries match, the first one in the order given to compileAllowlist wins, so results are
 * deterministic.
 *
 * Cost: every entry is filed under ONE anchor, the most selective literal it has:
 *  - an exact condition → hash map keyed by the lower-cased value;
 *  - else the longest literal run of a glob: a literal prefix or suffix goes into a character
 *    trie (suffixes reversed), an inner run (`*\team7\*.pfx` → "\team7\") into an
 *    Aho–Corasick automaton; either is walked once per finding value in time linear in the
 *    value's length, whatever the number of entries;
 *  - else (a glob with no literal at all, which validation forbids) → a residual list that every
 *    finding checks.
 * Low-cardinality fields (branch, tool) anchor only when nothing better exists. Per finding we
 * walk each of its ~10 values once, then verify the candidates' other conditions; so the cost
 * grows with the number of entries whose anchor literal actually occurs in the finding, not with
 * the size of the allowlist.
 */
import { legacyBranchId } from '../model/branches';
import type { Finding } from '../model/finding';
import type { AllowlistEntry, ConditionField } from './entry';
import { CONDITION_FIELDS, isEntryActive } from './entry';
import type { CompiledGlob } from './glob';
import { compileGlob } from './glob';

export interface AllowlistMatcher {
  /** The entry that suppresses `finding` in `tenantId` (null or undefined: global entries only). */
  match(finding: Finding, tenantId?: string | null): AllowlistEntry | null;
  /** The compile time; used as the hit time by suppress(). */
  readonly compiledAt: Date;
  readonly stats: MatcherStats;
}

export interface MatcherStats {
  /** Active entries compiled. */
  active: number;
  /** Skipped because disabled, deleted or expired. */
  inactive: number;
  exactAnchored: number;
  prefixAnchored: number;
  suffixAnchored: number;
  /** Anchored on an inner literal run of a glob (Aho–Corasick). */
  containsAnchored: number;
  /** Entries checked against every finding of their scope (no literal anchor). */
  unanchored: number;
}

export interface HitCount {
  count: number;
  lastHitAt: string;
}

export interface SuppressResult {
  /**
   * The findings with `suppressedBy` set to the matching entry id, or null: a copy where that
   * changes the finding, the input finding itself where it already carried that value.
   */
  findings: Finding[];
  /** Entry id → how many findings it suppressed in this batch. */
  hits: Map<string, HitCount>;
}

interface CompiledCondition {
  field: ConditionField;
  glob: CompiledGlob;
}

interface CompiledEntry {
  entry: AllowlistEntry;
  order: number;
  conditions: CompiledCondition[];
  /**
   * The conditions left to check once the entry is a candidate: all of them but the anchor's when
   * finding the entry through its anchor already proves that condition (an exact literal, a
   * pure `literal*` prefix or `*literal` suffix); unanchored entries check every condition.
   */
  verify: CompiledCondition[];
}

interface TrieNode {
  children: Map<string, TrieNode>;
  entries: CompiledEntry[];
}

/** Order of preference among exact anchors: most selective first. */
const STRONG_FIELDS: readonly ConditionField[] = [
  'thumbprint',
  'signerSubject',
  'certificateFile',
  'parentProcess',
  'deviceName',
  'account',
];
const WEAK_FIELDS: readonly ConditionField[] = ['tool', 'branch'];

type Anchor =
  | { kind: 'exact'; field: ConditionField; key: string }
  | { kind: 'prefix' | 'suffix' | 'contains'; field: ConditionField; key: string }
  | { kind: 'none' };

function newTrie(): TrieNode {
  return { children: new Map(), entries: [] };
}

function trieInsert(root: TrieNode, key: string, entry: CompiledEntry): void {
  let node = root;
  for (let i = 0; i < key.length; i++) {
    const ch = key[i] as string;
    let child = node.children.get(ch);
    if (!child) {
      child = newTrie();
      node.children.set(ch, child);
    }
    node = child;
  }
  node.entries.push(entry);
}

/** Collects entries whose key is a prefix of `text` (or of its reverse when `reverse`). */
function trieCollect(root: TrieNode, text: string, reverse: boolean, out: Set<CompiledEntry>): void {
  let node: TrieNode | undefined = root;
  const n = text.length;
  for (let i = 0; i < n && node; i++) {
    node = node.children.get(text[reverse ? n - 1 - i : i] as string);
    if (node) for (const e of node.entries) out.add(e);
  }
}

/**
 * Aho–Corasick automaton over UTF-16 code units: which keys occur anywhere in a text, in one pass
 * of O(text length + occurrences) however many keys there are.
 */
class SubstringIndex {
  private readonly next: Map<string, number>[] = [new Map<string, number>()];
  private readonly out: CompiledEntry[][] = [[]];
  private fail: number[] = [];
  /** Nearest node on the failure chain that has outputs (0 = none; the root has none). */
  private dict: number[] = [];

  add(key: string, entry: CompiledEntry): void {
    let node = 0;
    for (let i = 0; i < key.length; i++) {
      const ch = key[i] as string;
      const edges = this.next[node] as Map<string, number>;
      let child = edges.get(ch);
      if (child === undefined) {
        child = this.next.length;
        this.next.push(new Map<string, number>());
        this.out.push([]);
        edges.set(ch, child);
      }
      node = child;
    }
    (this.out[node] as CompiledEntry[]).push(entry);
  }

  /** Computes failure links breadth-first; call once after the last add(). */
  build(): void {
    const n = this.next.length;
    this.fail = new Array<number>(n).fill(0);
    this.dict = new Array<number>(n).fill(0);
    const queue: number[] = [];
    for (const child of (this.next[0] as Map<string, number>).values()) queue.push(child);
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head] as number;
      for (const [ch, v] of this.next[u] as Map<string, number>) {
        let f = this.fail[u] as number;
        while (f !== 0 && !(this.next[f] as Map<string, number>).has(ch)) f = this.fail[f] as number;
        const target = (this.next[f] as Map<string, number>).get(ch);
        const fv = target !== undefined && target !== v ? target : 0;
        this.fail[v] = fv;
        this.dict[v] = (this.out[fv] as CompiledEntry[]).length > 0 ? fv : (this.dict[fv] as number);
        queue.push(v);
      }
    }
  }

  collect(text: string, found: Set<CompiledEntry>): void {
    let state = 0;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i] as string;
      while (state !== 0 && !(this.next[state] as Map<string, number>).has(ch)) state = this.fail[state] as number;
      state = (this.next[state] as Map<string, number>).get(ch) ?? 0;
      for (let t = (this.out[state] as CompiledEntry[]).length > 0 ? state : (this.dict[state] as number); t !== 0; t = this.dict[t] as number) {
        for (const e of this.out[t] as CompiledEntry[]) found.add(e);
      }
    }
  }
}

/** Reverses UTF-16 code units, matching how trieCollect walks a text backwards. */
function reverseUnits(text: string): string {
  let out = '';
  for (let i = text.length - 1; i >= 0; i--) out += text[i] as string;
  return out;
}

/** One scope's index (global, or one tenant). */
class ScopeIndex {
  readonly exact = new Map<ConditionField, Map<string, CompiledEntry[]>>();
  readonly prefix = new Map<ConditionField, TrieNode>();
  readonly suffix = new Map<ConditionField, TrieNode>();
  readonly contains = new Map<ConditionField, SubstringIndex>();
  readonly unanchored: CompiledEntry[] = [];

  add(entry: CompiledEntry, anchor: Anchor): void {
    if (anchor.kind === 'none') {
      this.unanchored.push(entry);
    } else if (anchor.kind === 'exact') {
      let byValue = this.exact.get(anchor.field);
      if (!byValue) {
        byValue = new Map();
        this.exact.set(anchor.field, byValue);
      }
      const list = byValue.get(anchor.key);
      if (list) list.push(entry);
      else byValue.set(anchor.key, [entry]);
    } else if (anchor.kind === 'contains') {
      let index = this.contains.get(anchor.field);
      if (!index) {
        index = new SubstringIndex();
        this.contains.set(anchor.field, index);
      }
      index.add(anchor.key, entry);
    } else {
      const tries = anchor.kind === 'prefix' ? this.prefix : this.suffix;
      let root = tries.get(anchor.field);
      if (!root) {
        root = newTrie();
        tries.set(anchor.field, root);
      }
      trieInsert(root, anchor.kind === 'prefix' ? anchor.key : reverseUnits(anchor.key), entry);
    }
  }

  candidates(values: FindingValues, out: Set<CompiledEntry>): void {
    for (const [field, byValue] of this.exact) {
      for (const v of values[field]) {
        const list = byValue.get(v);
        if (list) for (const e of list) out.add(e);
      }
    }
    for (const [field, root] of this.prefix) for (const v of values[field]) trieCollect(root, v, false, out);
    for (const [field, root] of this.suffix) for (const v of values[field]) trieCollect(root, v, true, out);
    for (const [field, index] of this.contains) for (const v of values[field]) index.collect(v, out);
    for (const e of this.unanchored) out.add(e);
  }

  build(): void {
    for (const index of this.contains.values()) index.build();
  }
}

type FindingValues = Record<ConditionField, string[]> & {
  /**
   * Per certificate file of the finding, its lower-cased path and file name. A file condition must
   * hold for EVERY file: a decoy `echo C:\\PKI\\issued\\ok.cer` beside the real key file must not
   * satisfy it (the candidate index still looks values up in the flat `certificateFile` list).
   */
  certificateFiles: string[][];
};

function fileName(path: string): string {
  const cut = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return cut >= 0 ? path.slice(cut + 1) : path;
}

/**
 * Branch and tool values, read once per value: a handful of values, the same for every finding
 * of a branch, so a finding does not look its legacy branch id up and lower-case both again.
 * Shared arrays: the matcher only reads them.
 */
const branchForms = new Map<string, string[]>();
const toolForms = new Map<string, string[]>();
/** Bounds the two memos should a finding ever carry a value outside the known lists. */
const MAX_REMEMBERED_FORMS = 256;

function lowerPresent(values: readonly (string | null | undefined)[]): string[] {
  const out: string[] = [];
  for (const v of values) if (typeof v === 'string' && v.length > 0) out.push(v.toLowerCase());
  return out;
}

function branchValues(branch: Finding['branch']): string[] {
  let forms = branchForms.get(branch);
  if (forms === undefined) {
    forms = lowerPresent([branch, legacyBranchId(branch)]);
    if (branchForms.size >= MAX_REMEMBERED_FORMS) branchForms.clear();
    branchForms.set(branch, forms);
  }
  return forms;
}

function toolValues(tool: Finding['tool']): string[] {
  let forms = toolForms.get(tool);
  if (forms === undefined) {
    forms = lowerPresent([tool]);
    if (toolForms.size >= MAX_REMEMBERED_FORMS) toolForms.clear();
    toolForms.set(tool, forms);
  }
  return forms;
}

/** The finding's values per condition field, lower-cased once. */
export function findingConditionValues(finding: Finding): FindingValues {
  const lower = lowerPresent;
  const files: string[] = [];
  const perFile: string[][] = [];
  for (const file of finding.certificate.files) {
    if (typeof file !== 'string' || file.length === 0) continue;
    const forms = [file.toLowerCase()];
    files.push(file);
    const name = fileName(file);
    if (name !== file) {
      files.push(name);
      forms.push(name.toLowerCase());
    }
    perFile.push(forms);
  }
  const accountName = finding.account.name;
  const accountDomain = finding.account.domain;
  return {
    signerSubject: lower([finding.certificate.subject]),
    thumbprint: lower([finding.certificate.thumbprint]),
    certificateFile: lower(files),
    deviceName: lower([finding.device.name]),
    account: lower([accountName, accountName && accountDomain ? `${accountDomain}\\${accountName}` : null]),
    parentProcess: lower([finding.parent.fileName]),
    // A condition written against the earlier lowercase ids (makecert-pvk2pfx, signtool, ...)
    // still matches: the finding offers its branch under both names.
    branch: branchValues(finding.branch),
    tool: toolValues(finding.tool),
    certificateFiles: perFile,
  };
}

function chooseAnchor(conditions: CompiledCondition[]): Anchor {
  const byField = new Map(conditions.map((c) => [c.field, c.glob] as const));
  for (const field of STRONG_FIELDS) {
    const glob = byField.get(field);
    if (glob && !glob.hasWildcard) return { kind: 'exact', field, key: glob.literalPrefix };
  }
  // Else the longest literal run of any glob on a strong field (a positional prefix or suffix
  // beats an inner run of similar length: it rejects more), if it is at least 3 characters.
  let best: Anchor = { kind: 'none' };
  let bestScore = 0;
  for (const { field, glob } of conditions) {
    if (!glob.hasWildcard) continue;
    const weight = WEAK_FIELDS.includes(field) ? 0 : 1000;
    const options: [Exclude<Anchor['kind'], 'exact' | 'none'>, string, number][] = [
      ['prefix', glob.literalPrefix, 2],
      ['suffix', glob.literalSuffix, 2],
      ...glob.literalSegments.map((segment): ['contains', string, number] => ['contains', segment, 0]),
    ];
    for (const [kind, key, bonus] of options) {
      const score = key.length === 0 ? 0 : weight + key.length + bonus;
      if (score > bestScore) {
        bestScore = score;
        best = { kind, field, key };
      }
    }
  }
  if (best.kind !== 'none' && !WEAK_FIELDS.includes(best.field) && best.key.length >= 3) return best;
  for (const field of WEAK_FIELDS) {
    const glob = byField.get(field);
    if (glob && !glob.hasWildcard) return { kind: 'exact', field, key: glob.literalPrefix };
  }
  return best;
}

/**
 * The conditions a candidate found through `anchor` must still pass. A hit on an exact key, or on
 * a prefix (suffix) key of a glob that is only that literal followed (preceded) by stars, means the
 * anchored condition matched one of the finding's values, so it is not tested again.
 */
function conditionsToVerify(conditions: CompiledCondition[], anchor: Anchor): CompiledCondition[] {
  // A hit on one file proves nothing about the others: file conditions are always verified.
  if (anchor.kind === 'none' || anchor.kind === 'contains' || anchor.field === 'certificateFile') return conditions;
  const proven = conditions.find((c) => {
    if (c.field !== anchor.field) return false;
    if (anchor.kind === 'exact') return !c.glob.hasWildcard && c.glob.literalPrefix === anchor.key;
    if (anchor.kind === 'prefix') return /^[^*?]*\*+$/.test(c.glob.pattern) && c.glob.literalPrefix === anchor.key;
    return /^\*+[^*?]*$/.test(c.glob.pattern) && c.glob.literalSuffix === anchor.key;
  });
  return proven ? conditions.filter((c) => c !== proven) : conditions;
}

function conditionMatches(condition: CompiledCondition, values: FindingValues): boolean {
  if (condition.field === 'certificateFile') {
    if (values.certificateFiles.length === 0) return false;
    return values.certificateFiles.every((forms) => forms.some((v) => condition.glob.testLowered(v)));
  }
  for (const v of values[condition.field]) if (condition.glob.testLowered(v)) return true;
  return false;
}

function allMatch(conditions: readonly CompiledCondition[], values: FindingValues): boolean {
  for (const condition of conditions) if (!conditionMatches(condition, values)) return false;
  return true;
}

export function compileAllowlist(entries: readonly AllowlistEntry[], now: Date): AllowlistMatcher {
  const global = new ScopeIndex();
  const tenants = new Map<string, ScopeIndex>();
  const stats: MatcherStats = { active: 0, inactive: 0, exactAnchored: 0, prefixAnchored: 0, suffixAnchored: 0, containsAnchored: 0, unanchored: 0 };

  entries.forEach((entry, order) => {
    if (!isEntryActive(entry, now)) {
      stats.inactive++;
      return;
    }
    const conditions: CompiledCondition[] = [];
    for (const field of CONDITION_FIELDS) {
      const value = entry.conditions[field];
      if (value !== undefined) conditions.push({ field, glob: compileGlob(value) });
    }
    // An entry without conditions would match everything; validation forbids it, and we refuse
    // it here too in case one arrives from storage written by something else.
    if (conditions.length === 0) {
      stats.inactive++;
      return;
    }
    stats.active++;
    const anchor = chooseAnchor(conditions);
    const compiled: CompiledEntry = { entry, order, conditions, verify: conditionsToVerify(conditions, anchor) };
    if (anchor.kind === 'exact') stats.exactAnchored++;
    else if (anchor.kind === 'prefix') stats.prefixAnchored++;
    else if (anchor.kind === 'suffix') stats.suffixAnchored++;
    else if (anchor.kind === 'contains') stats.containsAnchored++;
    else stats.unanchored++;
    let index = global;
    if (entry.scope !== 'global') {
      const key = entry.scope.tenantId.toLowerCase();
      index = tenants.get(key) ?? new ScopeIndex();
      tenants.set(key, index);
    }
    index.add(compiled, anchor);
  });
  global.build();
  for (const index of tenants.values()) index.build();

  // One candidate set for every match() call (match is synchronous), emptied after each use.
  const candidates = new Set<CompiledEntry>();
  return {
    compiledAt: now,
    stats,
    match(finding, tenantId) {
      const values = findingConditionValues(finding);
      try {
        global.candidates(values, candidates);
        if (tenantId) tenants.get(tenantId.toLowerCase())?.candidates(values, candidates);
        let best: CompiledEntry | null = null;
        for (const candidate of candidates) {
          if (best && candidate.order > best.order) continue;
          if (allMatch(candidate.verify, values)) best = candidate;
        }
        return best ? best.entry : null;
      } finally {
        candidates.clear();
      }
    },
  };
}

/**
 * Marks each finding with the entry that suppresses it (null when none) and counts hits per
 * entry. The hit time is `now`, defaulting to the matcher's compile time.
 */
export function suppress(
  findings: readonly Finding[],
  matcher: AllowlistMatcher,
  tenantId?: string | null,
  now: Date = matcher.compiledAt,
): SuppressResult {
  const hits = new Map<string, HitCount>();
  const at = now.toISOString();
  const out = findings.map((finding) => {
    const entry = matcher.match(finding, tenantId);
    if (entry) {
      const hit = hits.get(entry.id);
      if (hit) hit.count++;
      else hits.set(entry.id, { count: 1, lastHitAt: at });
    }
    const suppressedBy = entry ? entry.id : null;
    // Only findings whose mark changes are copied (the inputs stay untouched); the rest are
    // returned as they are, which keeps a 100,000-finding batch from being duplicated in memory.
    return finding.suppressedBy === suppressedBy ? finding : { ...finding, suppressedBy };
  });
  return { findings: out, hits };
}

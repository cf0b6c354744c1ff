/**
 * Owns the rule contract: the `RuleDefinition` type read from `rules/<id>/rule.yaml` plus its
 * `query.kql`, its validation (every error names the file and the field), the result columns
 * every rule query must project, in order, for the normaliser, and the optional certificate-fact
 * columns a rule may project after them.
 * Reading files lives in ./loadRules, query rendering in ./renderQuery.
 */
import Ajv from 'ajv';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { BRANCHES, SEVERITIES, type Branch, type Severity } from '../model/finding';

/** Detection branches a rule may declare: the Finding branches except the catch-all `other`. */
export const RULE_BRANCHES = BRANCHES.filter((b): b is Exclude<Branch, 'Other'> => b !== 'Other');
export type RuleBranchId = Exclude<Branch, 'Other'>;

export const CONFIDENCES = ['low', 'medium', 'high'] as const;
export type Confidence = (typeof CONFIDENCES)[number];

/**
 * The columns every rule query projects, in this order, with their Kusto types. The normaliser
 * reads rows by these names; the rule tests check each query's inferred result schema and each
 * fixture against this list.
 *
 * They always describe a process and its parent, whatever table the rule reads, so suppression,
 * incidents and delivery handle every rule alike:
 * - process rules (t1587-002): the tool's process event as Defender reports it.
 * - file and registry rules (cert-key-files, trust-store-tampering): the process that wrote the
 *   file or registry value (the event's InitiatingProcess*: FileName, FolderPath, SHA256,
 *   ProcessId, ProcessCommandLine, ProcessVersionInfoOriginalFileName, account) and, as
 *   InitiatingProcess*, the writer's parent (file name and id; Defender does not give its
 *   command line or path there, so those two are empty).
 * - certificate rules (self-signed-binaries): the process that ran the signed binary and its parent.
 * InitiatingProcessParentFileName is the parent's parent where Defender gives it (process and
 * certificate rules), else empty; DecodedCommand is what the query decoded from -EncodedCommand.
 * What the event is about (the certificate file, the store and thumbprint, the signed binary)
 * goes into the optional columns below. DetectionBranch is the rule's branch; IsSuspiciousParent
 * and IsTempLocation are the rule's flags (each rule.yaml says how it computes them).
 */
export const RESULT_COLUMNS = [
  { name: 'Timestamp', type: 'datetime' },
  { name: 'IngestionTime', type: 'datetime' },
  { name: 'DeviceId', type: 'string' },
  { name: 'DeviceName', type: 'string' },
  { name: 'ReportId', type: 'long' },
  { name: 'AccountName', type: 'string' },
  { name: 'AccountDomain', type: 'string' },
  { name: 'FileName', type: 'string' },
  { name: 'FolderPath', type: 'string' },
  { name: 'SHA256', type: 'string' },
  { name: 'ProcessId', type: 'long' },
  { name: 'ProcessCommandLine', type: 'string' },
  { name: 'ProcessVersionInfoOriginalFileName', type: 'string' },
  { name: 'InitiatingProcessFileName', type: 'string' },
  { name: 'InitiatingProcessCommandLine', type: 'string' },
  { name: 'InitiatingProcessId', type: 'long' },
  { name: 'InitiatingProcessFolderPath', type: 'string' },
  { name: 'DetectionBranch', type: 'string' },
  { name: 'IsSuspiciousParent', type: 'bool' },
  { name: 'IsTempLocation', type: 'bool' },
  // Why the row was selected and flagged: the parent's parent (what IsSuspiciousParent looks at
  // through a shell; empty where Defender gives none) and the decoded -EncodedCommand payload the
  // query matched in (empty when there is none).
  { name: 'InitiatingProcessParentFileName', type: 'string' },
  { name: 'DecodedCommand', type: 'string' },
] as const;
export type ResultColumnName = (typeof RESULT_COLUMNS)[number]['name'];
export const RESULT_COLUMN_NAMES: readonly ResultColumnName[] = RESULT_COLUMNS.map((c) => c.name);

/**
 * Optional certificate-fact columns a rule may project AFTER the base columns, in this order (any
 * subset, each at most once). They carry what the event says about the certificate and override
 * what the normaliser's command-line parser reads from ProcessCommandLine; an empty value means
 * "not known here" and leaves the parser's fact in place. The normaliser validates each value and
 * rejects the row, with the reason, when one does not fit:
 * - CertificateAction: one of CERT_ACTIONS (shared/model/finding.ts); replaces `action`.
 * - CertificateTool: one of TOOLS; replaces `tool` (the certificate tool the writer or actor is).
 * - CertificateSubject: replaces `certificate.subject` (e.g. the Signer of a signed binary).
 * - CertificateThumbprint: 40 (SHA-1) or 64 (SHA-256) hex digits, separators allowed; replaces
 *   `certificate.thumbprint`, stored upper-case without separators.
 * - CertificateStore: `<location>\<store>`, e.g. `LocalMachine\Root`,
 *   `CurrentUser\TrustedPublisher`; replaces `certificate.store` (the chain and scoring logic
 *   read the last segment).
 * - CertificateFile: a certificate or key file path; becomes `certificate.files[0]`, the files
 *   the command line names follow.
 * - SignedFile: a signed file path; becomes `signedFile` and `signedFiles[0]`.
 * Text values must not hold control characters and are at most MAX_OPTIONAL_COLUMN_LENGTH long.
 */
export const OPTIONAL_RESULT_COLUMNS = [
  { name: 'CertificateAction', type: 'string' },
  { name: 'CertificateTool', type: 'string' },
  { name: 'CertificateSubject', type: 'string' },
  { name: 'CertificateThumbprint', type: 'string' },
  { name: 'CertificateStore', type: 'string' },
  { name: 'CertificateFile', type: 'string' },
  { name: 'SignedFile', type: 'string' },
] as const;
export type OptionalResultColumnName = (typeof OPTIONAL_RESULT_COLUMNS)[number]['name'];
export const OPTIONAL_RESULT_COLUMN_NAMES: readonly OptionalResultColumnName[] = OPTIONAL_RESULT_COLUMNS.map((c) => c.name);
export const MAX_OPTIONAL_COLUMN_LENGTH = 2048;

/**
 * Problems of a query's result columns against the contract: exactly RESULT_COLUMNS (names and
 * Kusto types) in order, then only OPTIONAL_RESULT_COLUMNS, in their order, each at most once,
 * with their types. Empty when the columns fit.
 */
export function resultColumnProblems(columns: readonly { name: string; type: string }[]): string[] {
  const problems: string[] = [];
  RESULT_COLUMNS.forEach((expected, i) => {
    const actual = columns[i];
    if (!actual) problems.push(`column ${i + 1}: ${expected.name} (${expected.type}) is missing`);
    else if (actual.name !== expected.name || actual.type !== expected.type) {
      problems.push(`column ${i + 1}: expected ${expected.name} (${expected.type}), got ${actual.name} (${actual.type})`);
    }
  });
  let next = 0;
  columns.slice(RESULT_COLUMNS.length).forEach((actual, j) => {
    const position = RESULT_COLUMNS.length + j + 1;
    const index = OPTIONAL_RESULT_COLUMNS.findIndex((c) => c.name === actual.name);
    const optional = OPTIONAL_RESULT_COLUMNS[index];
    if (!optional) {
      problems.push(`column ${position}: ${actual.name} is neither a base column nor one of ${OPTIONAL_RESULT_COLUMN_NAMES.join(', ')}`);
      return;
    }
    if (index < next) problems.push(`column ${position}: ${actual.name} is out of order or repeated (order: ${OPTIONAL_RESULT_COLUMN_NAMES.join(', ')})`);
    else next = index + 1;
    if (actual.type !== optional.type) problems.push(`column ${position}: ${actual.name} must be ${optional.type}, got ${actual.type}`);
  });
  return problems;
}

/**
 * The comment line naming the rule in its query (`// Rule <id>: ...`). Rendered queries keep it,
 * so whoever receives a query (the demo's local Graph server, a proxy, a log) can tell the rule.
 */
export const RULE_MARKER = /^\/\/ Rule ([a-z0-9]+(?:-[a-z0-9]+)*):/m;

/** The rule id a (rendered) query names in its `// Rule <id>:` comment, or null. */
export function ruleIdOfQuery(query: string): string | null {
  return RULE_MARKER.exec(query)?.[1] ?? null;
}

/** The placeholders a rule query must contain; see ./renderQuery. */
export const WINDOW_START_PLACEHOLDER = '{{WindowStart}}';
export const WINDOW_END_PLACEHOLDER = '{{WindowEnd}}';

/** An ISO 8601 duration as written (`PT10M`) and in milliseconds. */
export interface Duration {
  iso: string;
  ms: number;
}

export interface AttackTechnique {
  /** `T1587.002` */
  id: string;
  name: string;
  tactic: string;
  /** https://attack.mitre.org/techniques/T1587/002/ */
  url: string;
}

/** The matcher fields of a false-positive entry, in the order they are documented. */
export const FALSE_POSITIVE_MATCHERS = [
  'parents',
  'parentCommandLines',
  'commandLines',
  'paths',
  'accounts',
  'devices',
  'subjects',
] as const;
export type FalsePositiveMatcher = (typeof FALSE_POSITIVE_MATCHERS)[number];

/**
 * A documented benign source, with matchers that say when it fits a finding: the finding's
 * branch is in `branches` (when given) and EVERY other matcher given matches (any one value of
 * its list). Matching is case-insensitive; a value containing `*` is a wildcard over the whole
 * field, any other value must equal it. At least one matcher besides `branches` is required.
 */
export interface FalsePositive {
  id: string;
  description: string;
  /** What the on-call engineer checks to confirm it (shown to the reader). */
  hint: string;
  branches?: RuleBranchId[];
  /** Parent process file name (InitiatingProcessFileName). */
  parents?: string[];
  /** Parent command line (InitiatingProcessCommandLine). */
  parentCommandLines?: string[];
  /** The tool's command line (ProcessCommandLine). */
  commandLines?: string[];
  /** The tool's FolderPath, or a certificate, key or signed-file path from its command line. */
  paths?: string[];
  /** AccountName. */
  accounts?: string[];
  /** DeviceName. */
  devices?: string[];
  /** Certificate subject as written on the command line. */
  subjects?: string[];
}

export interface RuleBranch {
  id: RuleBranchId;
  description: string;
  /**
   * Tool file names the branch keys on (FileName or ProcessVersionInfoOriginalFileName). Process
   * branches name them; branches of file, registry and certificate rules, which do not key on a
   * tool, leave it out.
   */
  tools?: string[];
}

/** What a fixture case shows about a difference from the published query. */
export const DIFFERENCE_KINDS = ['selection', 'suspicious-parent', 'temp-location', 'window', 'columns', 'order'] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

/**
 * One intentional difference from the published detection this rule implements: what the
 * published query does, what ours does, why, and the fixture cases (`case` in
 * fixtures/expectations.json) that show it.
 */
export interface PublishedDifference {
  id: string;
  shows: DifferenceKind;
  published: string;
  ours: string;
  why: string;
  fixtures: string[];
}

/** A triage query; placeholders {{DeviceId}}, {{From}}, {{To}} (see renderPivot). */
export interface RulePivot {
  id: string;
  table: string;
  description: string;
  query: string;
}

export interface RuleDefinition {
  id: string;
  /** Semantic version of the rule (query and metadata). */
  version: string;
  name: string;
  description: string;
  severity: Severity;
  confidence: Confidence;
  attack: AttackTechnique[];
  /** Tables the hunt and its pivots need. */
  requiredTables: string[];
  /** Tables that only some pivots use; the rule still runs without them. */
  optionalTables: string[];
  schedule: { interval: Duration };
  /** How far back (in ingestion time) the first run hunts; at least one schedule interval. */
  lookback: Duration;
  /** Window end = now - ingestionDelay. */
  ingestionDelay: Duration;
  /** Window start = previous window end - overlap. */
  overlap: Duration;
  branches: RuleBranch[];
  falsePositives: FalsePositive[];
  triage: string[];
  knownGaps: string[];
  pivots: RulePivot[];
  /** Where and why the rule differs from the published query it implements (empty: none named). */
  differences: PublishedDifference[];
  /** query.kql as written, placeholders included. */
  query: string;
  /** Absolute paths of the rule's folder and files. */
  dir: string;
  files: { rule: string; query: string };
}

/** A rule.yaml or query.kql that does not satisfy the contract. */
export class RuleValidationError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid rule definition:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'RuleValidationError';
  }
}

/** rule.yaml as parsed, before durations and paths are added. */
interface RawRule {
  id: string;
  version: string;
  name: string;
  description: string;
  severity: Severity;
  confidence: Confidence;
  attack: AttackTechnique[];
  requiredTables: string[];
  optionalTables?: string[];
  schedule: { interval: string };
  lookback: string;
  ingestionDelay: string;
  overlap: string;
  branches: RuleBranch[];
  falsePositives: FalsePositive[];
  triage: string[];
  knownGaps: string[];
  pivots?: RulePivot[];
  differences?: PublishedDifference[];
}

const ISO_DURATION = '^P(?:\\d+D)?(?:T(?:\\d+H)?(?:\\d+M)?(?:\\d+(?:\\.\\d+)?S)?)?$';
const ID = '^[a-z0-9]+(?:-[a-z0-9]+)*$';
const text = { type: 'string', minLength: 1 } as const;
const textList = { type: 'array', items: text, minItems: 1 } as const;
const nameList = { type: 'array', items: text, minItems: 1, uniqueItems: true } as const;

const RULE_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: [
    'id', 'version', 'name', 'description', 'severity', 'confidence', 'attack', 'requiredTables',
    'schedule', 'lookback', 'ingestionDelay', 'overlap', 'branches', 'falsePositives', 'triage', 'knownGaps',
  ],
  properties: {
    id: { type: 'string', pattern: ID },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    name: text,
    description: text,
    severity: { type: 'string', enum: [...SEVERITIES] },
    confidence: { type: 'string', enum: [...CONFIDENCES] },
    attack: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'name', 'tactic', 'url'],
        properties: {
          id: { type: 'string', pattern: '^T\\d{4}(?:\\.\\d{3})?$' },
          name: text,
          tactic: text,
          url: { type: 'string', format: 'uri', pattern: '^https://attack\\.mitre\\.org/techniques/T\\d{4}/(?:\\d{3}/)?$' },
        },
      },
    },
    requiredTables: nameList,
    optionalTables: { type: 'array', items: text, uniqueItems: true },
    schedule: {
      type: 'object',
      additionalProperties: false,
      required: ['interval'],
      properties: { interval: { type: 'string', pattern: ISO_DURATION } },
    },
    lookback: { type: 'string', pattern: ISO_DURATION },
    ingestionDelay: { type: 'string', pattern: ISO_DURATION },
    overlap: { type: 'string', pattern: ISO_DURATION },
    branches: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'description'],
        properties: { id: { type: 'string', enum: [...RULE_BRANCHES] }, description: text, tools: nameList },
      },
    },
    falsePositives: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'description', 'hint'],
        properties: {
          id: { type: 'string', pattern: ID },
          description: text,
          hint: text,
          branches: { type: 'array', items: { type: 'string', enum: [...RULE_BRANCHES] }, minItems: 1, uniqueItems: true },
          ...Object.fromEntries(FALSE_POSITIVE_MATCHERS.map((m) => [m, nameList])),
        },
      },
    },
    triage: textList,
    knownGaps: textList,
    pivots: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'table', 'description', 'query'],
        properties: { id: { type: 'string', pattern: ID }, table: text, description: text, query: text },
      },
    },
    differences: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'shows', 'published', 'ours', 'why', 'fixtures'],
        properties: {
          id: { type: 'string', pattern: ID },
          shows: { type: 'string', enum: [...DIFFERENCE_KINDS] },
          published: text,
          ours: text,
          why: text,
          fixtures: { type: 'array', items: { type: 'string', pattern: ID }, uniqueItems: true },
        },
      },
    },
  },
} as const;

let validator: ValidateFunction<RawRule> | undefined;

function validate(): ValidateFunction<RawRule> {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: true });
    addFormats(ajv, ['uri']);
    validator = ajv.compile<RawRule>(RULE_SCHEMA);
  }
  return validator;
}

/**
 * Validates a parsed rule.yaml and its query and returns the typed definition. Throws
 * `RuleValidationError` listing every problem, each naming its field.
 */
export function parseRuleDefinition(
  raw: unknown,
  source: { ruleFile: string; queryFile: string; dir: string; query: string },
): RuleDefinition {
  const check = validate();
  if (!check(raw)) {
    throw new RuleValidationError(source.ruleFile, (check.errors ?? []).map(describeAjvError));
  }
  const problems: string[] = [];
  const duration = (field: string, iso: string): Duration => {
    const ms = parseIsoDuration(iso);
    if (ms === null) problems.push(`${field}: '${iso}' is not an ISO 8601 duration (PnDTnHnMnS)`);
    return { iso, ms: ms ?? 0 };
  };
  const interval = duration('schedule.interval', raw.schedule.interval);
  const lookback = duration('lookback', raw.lookback);
  const ingestionDelay = duration('ingestionDelay', raw.ingestionDelay);
  const overlap = duration('overlap', raw.overlap);
  if (interval.ms <= 0) problems.push('schedule.interval: must be longer than zero');
  if (lookback.ms < interval.ms) {
    problems.push(`lookback: ${lookback.iso} is shorter than schedule.interval ${interval.iso}; it must cover at least one interval`);
  }
  if (overlap.ms >= interval.ms && interval.ms > 0) {
    problems.push(`overlap: ${overlap.iso} must be shorter than schedule.interval ${interval.iso}`);
  }

  duplicates(raw.attack.map((a) => a.id)).forEach((id) => problems.push(`attack: technique ${id} is listed twice`));
  raw.attack.forEach((a, i) => {
    const path = a.id.replace('.', '/');
    if (!a.url.includes(`/techniques/${path}/`)) problems.push(`attack[${i}].url: ${a.url} is not the page of ${a.id}`);
  });
  duplicates(raw.branches.map((b) => b.id)).forEach((id) => problems.push(`branches: ${id} is listed twice`));
  const declared = new Set(raw.branches.map((b) => b.id));
  duplicates(raw.falsePositives.map((f) => f.id)).forEach((id) => problems.push(`falsePositives: id ${id} is listed twice`));
  raw.falsePositives.forEach((fp, i) => {
    for (const b of fp.branches ?? []) {
      if (!declared.has(b)) problems.push(`falsePositives[${i}].branches: ${b} is not one of this rule's branches`);
    }
    if (!FALSE_POSITIVE_MATCHERS.some((m) => fp[m] !== undefined)) {
      problems.push(`falsePositives[${i}]: needs at least one matcher (${FALSE_POSITIVE_MATCHERS.join(', ')})`);
    }
  });
  const pivots = raw.pivots ?? [];
  const optionalTables = raw.optionalTables ?? [];
  const tables = new Set([...raw.requiredTables, ...optionalTables]);
  duplicates(pivots.map((p) => p.id)).forEach((id) => problems.push(`pivots: id ${id} is listed twice`));
  const differences = raw.differences ?? [];
  duplicates(differences.map((d) => d.id)).forEach((id) => problems.push(`differences: id ${id} is listed twice`));
  pivots.forEach((p, i) => {
    if (!tables.has(p.table)) problems.push(`pivots[${i}].table: ${p.table} is in neither requiredTables nor optionalTables`);
  });
  if (problems.length > 0) throw new RuleValidationError(source.ruleFile, problems);

  const queryProblems: string[] = [];
  for (const placeholder of [WINDOW_START_PLACEHOLDER, WINDOW_END_PLACEHOLDER]) {
    if (!source.query.includes(placeholder)) queryProblems.push(`query: the placeholder ${placeholder} is missing`);
  }
  if (queryProblems.length > 0) throw new RuleValidationError(source.queryFile, queryProblems);

  return {
    id: raw.id,
    version: raw.version,
    name: raw.name,
    description: raw.description,
    severity: raw.severity,
    confidence: raw.confidence,
    attack: raw.attack,
    requiredTables: raw.requiredTables,
    optionalTables,
    schedule: { interval },
    lookback,
    ingestionDelay,
    overlap,
    branches: raw.branches,
    falsePositives: raw.falsePositives,
    triage: raw.triage,
    knownGaps: raw.knownGaps,
    pivots,
    differences,
    query: source.query,
    dir: source.dir,
    files: { rule: source.ruleFile, query: source.queryFile },
  };
}

/**
 * Milliseconds of an ISO 8601 duration limited to days, hours, minutes and seconds (years,
 * months and weeks have no fixed length and are rejected); null when not such a duration.
 */
export function parseIsoDuration(iso: string): number | null {
  const m = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(iso);
  if (!m || iso === 'P' || iso.endsWith('T')) return null;
  const [, d, h, min, s] = m;
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(min ?? 0)) * 60_000 + Math.round(Number(s ?? 0) * 1000);
}

function describeAjvError(e: ErrorObject): string {
  const field = fieldOf(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return `${field ? `${field}.` : ''}${String(params.missingProperty)}: required field is missing`;
    case 'additionalProperties':
      return `${field ? `${field}.` : ''}${String(params.additionalProperty)}: unknown field`;
    case 'enum':
      return `${field}: must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`;
    default:
      return `${field || '(top level)'}: ${e.message ?? e.keyword}`;
  }
}

/** `/attack/0/url` -> `attack[0].url` */
function fieldOf(instancePath: string): string {
  return instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

function duplicates(values: readonly string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

/**
 * Normalise: turns Advanced Hunting result rows into validated `Finding`s. A row that is
 * structurally broken (not an object, no device or time, a value of the wrong type) is reported
 * with the reason and skipped, never fatal; odd text in a column (control characters, over-long or
 * unknown values) never drops a row: it is marked, cut or left out and listed in the finding's
 * `inputIssues`. Column names are read case-insensitively because Microsoft's own
 * examples vary the casing. Certificate facts come from the command-line parser, overridden by
 * the optional certificate-fact columns a rule projects (OPTIONAL_RESULT_COLUMNS in
 * shared/rules/rule.ts): file, registry and certificate rows know the store, thumbprint, signer
 * or file from the event itself rather than from a command line.
 */
import { parseCommandLine } from '../cmdline/parse';
import { mentionsCodeSigningOid } from '../cmdline/scan';
import type { HuntingQueryResults, HuntingSchemaColumn } from '../hunting/types';
import { resolveBranch, TOOL_BRANCH } from '../model/branches';
import {
  CERT_ACTIONS,
  FINDING_SCHEMA_VERSION,
  TOOLS,
  type Branch,
  type CertificateFacts,
  type Finding,
  type InputIssue,
  type Severity,
  type Tool,
} from '../model/finding';
import { MAX_OPTIONAL_COLUMN_LENGTH } from '../rules/rule';
import { sha256Hex } from '../sha256';

export interface NormaliseContext {
  ruleId: string;
  /** The rule's default severity (rule.yaml), raised or lowered per finding. */
  defaultSeverity?: Severity;
}

export interface RejectedRow {
  /** Position of the row in the answer, so the operator can find it. */
  index: number;
  reason: string;
}

export interface NormaliseOutcome {
  findings: Finding[];
  rejected: RejectedRow[];
}

type Row = Record<string, unknown>;

class RowError extends Error {}

type ColumnReader = (name: string) => unknown;

/** Case-insensitive column access without copying the row. */
function columnReader(row: Row): ColumnReader {
  let lowered: Map<string, unknown> | undefined;
  return (name) => {
    if (name in row) return row[name];
    if (!lowered) {
      lowered = new Map();
      for (const [key, value] of Object.entries(row)) lowered.set(key.toLowerCase(), value);
    }
    return lowered.get(name.toLowerCase());
  };
}

/** Every column toFinding reads, the optional certificate-fact columns included. */
const READ_COLUMNS = [
  'Timestamp',
  'DeviceId',
  'DeviceName',
  'ReportId',
  'ProcessCommandLine',
  'FileName',
  'ProcessVersionInfoOriginalFileName',
  'IsSuspiciousParent',
  'IsTempLocation',
  'DetectionBranch',
  'AccountName',
  'AccountDomain',
  'FolderPath',
  'SHA256',
  'ProcessId',
  'InitiatingProcessFileName',
  'InitiatingProcessCommandLine',
  'InitiatingProcessId',
  'InitiatingProcessParentFileName',
  'DecodedCommand',
  'CertificateAction',
  'CertificateTool',
  'CertificateSubject',
  'CertificateThumbprint',
  'CertificateStore',
  'CertificateFile',
  'SignedFile',
] as const;

/** The value of the last key of `row` equal to `name` ignoring case (as columnReader picks). */
function lookupIgnoringCase(row: Row, name: string): unknown {
  const wanted = name.toLowerCase();
  let value: unknown;
  for (const key in row) if (Object.prototype.hasOwnProperty.call(row, key) && key.toLowerCase() === wanted) value = row[key];
  return value;
}

/**
 * Column access for every row of one answer: the row key of each column we read is resolved once
 * from the answer's schema (case-insensitively, an exact match preferred), so a row costs one
 * property read per column and no lower-casing. A column the schema does not declare is read only
 * under its exact name; a declared column missing from a row falls back to a case-insensitive
 * search of that row. With an empty schema every row gets the per-row case-insensitive reader.
 */
function answerColumns(schema: readonly HuntingSchemaColumn[] | undefined): ((row: Row) => ColumnReader) {
  if (!schema || schema.length === 0) return columnReader;
  const byLowered = new Map<string, string>();
  const exact = new Set<string>();
  /** How many declared columns share each lower-cased name. */
  const spellings = new Map<string, number>();
  for (const column of schema) {
    if (typeof column?.name !== 'string') continue;
    if (!exact.has(column.name)) {
      const lowered = column.name.toLowerCase();
      spellings.set(lowered, (spellings.get(lowered) ?? 0) + 1);
    }
    exact.add(column.name);
    byLowered.set(column.name.toLowerCase(), column.name);
  }
  const keys = new Map<string, string>();
  /** Columns the schema spells one way only: a row holding declared columns alone has no other spelling of them. */
  const single = new Set<string>();
  for (const name of READ_COLUMNS) {
    const key = exact.has(name) ? name : byLowered.get(name.toLowerCase());
    if (key === undefined) continue;
    keys.set(name, key);
    if (spellings.get(name.toLowerCase()) === 1) single.add(name);
  }
  // One reader for the whole answer, pointed at each row in turn (toFinding never keeps it).
  let row: Row = {};
  let onlyDeclared: boolean | undefined;
  const reader: ColumnReader = (name) => {
    const value = row[name];
    if (value !== undefined || name in row) return value;
    const key = keys.get(name);
    if (key === undefined) return undefined;
    if (key in row) return row[key];
    // A declared column missing from the row (Graph may leave out empty ones): when every key of
    // the row is a declared column and this one has a single spelling, no key can match it.
    onlyDeclared ??= everyKeyDeclared(row, exact);
    if (onlyDeclared && single.has(name)) return undefined;
    return lookupIgnoringCase(row, name);
  };
  return (next) => {
    row = next;
    onlyDeclared = undefined;
    return reader;
  };
}

function everyKeyDeclared(row: Row, declared: ReadonlySet<string>): boolean {
  for (const key in row) if (!declared.has(key)) return false;
  return true;
}

/**
 * The longest head of a command line the parser reads. cmd.exe runs lines of at most 8,191
 * characters; a process may be started with up to 32,767, and an attacker can send such lines by
 * the thousand, each new, to make every cycle expensive (issue #15). The finding keeps the whole
 * line; the rest is not read for certificate facts, and `inputIssues` says so.
 */
export const MAX_PARSED_COMMAND_LINE = 8192;

/** Distinct (command line, image names) parsed per answer before the memo starts over. */
export const PARSE_MEMO_LIMIT = 20_000;

type FactsParser = (commandLine: string, fileName: string | null, originalFileName: string | null) => CertificateFacts;

const parseOnce: FactsParser = (commandLine, fileName, originalFileName) => parseCommandLine(commandLine, { fileName, originalFileName });

/** Deep-freezes parser facts shared between rows (applyFactColumns copies before use). */
function freezeFacts(facts: CertificateFacts): CertificateFacts {
  Object.freeze(facts.certificate.files);
  Object.freeze(facts.certificate);
  Object.freeze(facts.signedFiles);
  return Object.freeze(facts);
}

/**
 * parseCommandLine memoised for one answer: telemetry repeats the same lines heavily. Keyed by
 * the line, then the image names (nested maps: nothing is concatenated, no two inputs collide);
 * the cached facts are frozen and never reach a finding as they are (applyFactColumns builds new
 * certificate and file arrays for each row).
 */
function memoisedParser(limit = PARSE_MEMO_LIMIT): FactsParser {
  let memo = new Map<string, Map<string | null, Map<string | null, CertificateFacts>>>();
  let size = 0;
  return (commandLine, fileName, originalFileName) => {
    let byFile = memo.get(commandLine);
    let byOriginal = byFile?.get(fileName);
    let facts = byOriginal?.get(originalFileName);
    if (facts === undefined) {
      facts = freezeFacts(parseOnce(commandLine, fileName, originalFileName));
      if (size >= limit) {
        memo = new Map();
        size = 0;
        byFile = undefined;
        byOriginal = undefined;
      }
      if (byFile === undefined) {
        byFile = new Map();
        memo.set(commandLine, byFile);
      }
      if (byOriginal === undefined) {
        byOriginal = new Map();
        byFile.set(fileName, byOriginal);
      }
      byOriginal.set(originalFileName, facts);
      size++;
    }
    return facts;
  };
}

function optionalString(value: unknown, column: string): string | null {
  if (value === null || value === undefined || value === '') return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new RowError(`column ${column} should be a string, got ${typeof value}`);
}

function requiredString(value: unknown, column: string): string {
  const text = optionalString(value, column);
  if (text === null) throw new RowError(`column ${column} is missing or empty`);
  return text;
}

function optionalInteger(value: unknown, column: string): number | null {
  if (value === null || value === undefined || value === '') return null;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isFinite(number) || !Number.isInteger(number)) {
    throw new RowError(`column ${column} should be an integer, got ${JSON.stringify(value)}`);
  }
  return number;
}

function flag(value: unknown, column: string): boolean {
  if (value === null || value === undefined || value === '') return false;
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (typeof value === 'string' && /^(true|false|1|0)$/i.test(value)) return /^(true|1)$/i.test(value);
  throw new RowError(`column ${column} should be a boolean, got ${JSON.stringify(value)}`);
}

function timestamp(value: unknown, column: string): string {
  const text = requiredString(value, column);
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new RowError(`column ${column} is not a date: ${JSON.stringify(text)}`);
  return isCanonicalTime(text) ? text : new Date(time).toISOString();
}

/** Positions of the digits in `YYYY-MM-DDTHH:MM:SS.sssZ`. */
const ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22];

const digitAt = (text: string, i: number): number => text.charCodeAt(i) - 48;

/**
 * Whether a time that Date.parse read is already what toISOString would write (Graph sends times
 * so): the shape `YYYY-MM-DDTHH:MM:SS.sssZ`, a day up to the 28th and an hour up to 23. Later
 * days and hour 24 are read by rolling over (April 31st is May 1st), so those are rewritten; other
 * out-of-range fields do not parse at all.
 */
function isCanonicalTime(text: string): boolean {
  if (text.length !== 24 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':' || text[19] !== '.' || text[23] !== 'Z') return false;
  for (const i of ISO_DIGITS) {
    const d = digitAt(text, i);
    if (d < 0 || d > 9) return false;
  }
  return digitAt(text, 8) * 10 + digitAt(text, 9) <= 28 && digitAt(text, 11) * 10 + digitAt(text, 12) <= 23;
}

/** Where the odd values of one row are recorded (see InputIssue). */
type IssueLog = InputIssue[];

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/g;

/** A control character as its visible Unicode Control Picture (tab → ␉, NUL → ␀, DEL → ␡). */
const controlPicture = (ch: string): string => String.fromCharCode(ch === '\u007f' ? 0x2421 : 0x2400 + ch.charCodeAt(0));

/**
 * Text of an optional certificate-fact column, or null when absent or empty. The text is the
 * attacker's: control characters are shown as visible symbols and an over-long value is cut (with
 * an ellipsis), each noted in `issues`, so that odd text never makes a row disappear. Only a value
 * of the wrong type (a structurally broken answer) rejects the row.
 */
function factText(value: unknown, column: string, issues: IssueLog): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') throw new RowError(`column ${column} should be a string, got ${typeof value}`);
  let text = value.trim();
  if (text === '') return null;
  CONTROL_CHARACTERS.lastIndex = 0;
  if (CONTROL_CHARACTERS.test(text)) {
    text = text.replace(CONTROL_CHARACTERS, controlPicture);
    issues.push({ column, issue: 'control-characters', detail: 'control characters shown as visible symbols (U+2400 block)' });
  }
  if (text.length > MAX_OPTIONAL_COLUMN_LENGTH) {
    issues.push({ column, issue: 'too-long', detail: `${text.length} characters cut to ${MAX_OPTIONAL_COLUMN_LENGTH}` });
    text = `${text.slice(0, MAX_OPTIONAL_COLUMN_LENGTH - 1)}\u2026`;
  }
  return text;
}

/** A value from a fixed list, or null (the parser's fact stands) with an issue when it is not one. */
function factOneOf<T extends string>(value: unknown, column: string, allowed: readonly T[], issues: IssueLog): T | null {
  const text = factText(value, column, issues);
  if (text === null) return null;
  const known = allowed.find((a) => a === text.toLowerCase());
  if (!known) issues.push({ column, issue: 'invalid-value', detail: `not one of ${allowed.join(', ')}: left out, the command line's fact kept` });
  return known ?? null;
}

/** SHA-1 (40) or SHA-256 (64) hex digits; spaces and colons between them are dropped. */
function factThumbprint(value: unknown, column: string, issues: IssueLog): string | null {
  const text = factText(value, column, issues);
  if (text === null) return null;
  const hex = text.replace(/[\s:]/g, '');
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(hex)) {
    issues.push({ column, issue: 'invalid-value', detail: 'not 40 or 64 hex digits: left out, the command line\'s fact kept' });
    return null;
  }
  return hex.toUpperCase();
}

/** `first` followed by `rest` without a case-insensitive duplicate of it. */
function withFirst(first: string | null, rest: readonly string[]): string[] {
  if (first === null) return [...rest];
  const key = first.toLowerCase();
  return [first, ...rest.filter((r) => r.toLowerCase() !== key)];
}

/**
 * The parser's facts with the row's certificate-fact columns applied: scalar facts are replaced,
 * list facts get the column's value first. Throws RowError on a value that does not fit. Built as
 * plain literals (no spread): objects copied by spread get a hidden class of their own in V8, and
 * every later read of 100,000 such findings would then go through the slow, megamorphic path.
 */
function applyFactColumns(facts: CertificateFacts, col: ColumnReader, issues: IssueLog): CertificateFacts {
  const action = factOneOf(col('CertificateAction'), 'CertificateAction', CERT_ACTIONS, issues);
  const tool = factOneOf(col('CertificateTool'), 'CertificateTool', TOOLS, issues);
  const subject = factText(col('CertificateSubject'), 'CertificateSubject', issues);
  const thumbprint = factThumbprint(col('CertificateThumbprint'), 'CertificateThumbprint', issues);
  const store = factText(col('CertificateStore'), 'CertificateStore', issues);
  const file = factText(col('CertificateFile'), 'CertificateFile', issues);
  const signed = factText(col('SignedFile'), 'SignedFile', issues);
  const certificate = facts.certificate;
  return {
    tool: tool ?? facts.tool,
    action: action ?? facts.action,
    certificate: {
      subject: subject ?? certificate.subject,
      thumbprint: thumbprint ?? certificate.thumbprint,
      files: withFirst(file, certificate.files),
      store: store ?? certificate.store,
      codeSigningEku: certificate.codeSigningEku,
    },
    signedFile: signed ?? facts.signedFile,
    signedFiles: withFirst(signed, facts.signedFiles),
    decodedCommand: facts.decodedCommand,
  };
}

function branchOf(value: unknown, tool: Tool): Branch {
  const text = optionalString(value, 'DetectionBranch');
  if (text === null) return TOOL_BRANCH[tool];
  const known = resolveBranch(text, tool);
  if (!known) throw new RowError(`column DetectionBranch has unknown value ${JSON.stringify(text)}`);
  return known;
}

const SEVERITY_ORDER: readonly Severity[] = ['informational', 'low', 'medium', 'high'];

function shiftSeverity(base: Severity, delta: number): Severity {
  const index = Math.min(SEVERITY_ORDER.length - 1, Math.max(0, SEVERITY_ORDER.indexOf(base) + delta));
  return SEVERITY_ORDER[index] ?? base;
}

/**
 * A first, per-finding severity; incidents re-score with reasons (shared/enrich). Verification
 * and unrelated certutil use are informational; the seed's flags raise.
 */
function findingSeverity(base: Severity, action: Finding['action'], flags: Finding['flags'], codeSigningEku: boolean, partlyRead: boolean): Severity {
  // A line read only in part may do more after the cut: the head alone never lowers it.
  if ((action === 'verify' || action === 'other') && !partlyRead) return shiftSeverity(base, -1);
  let delta = 0;
  if (flags.suspiciousParent) delta += 1;
  if (flags.tempLocation && codeSigningEku) delta += 1;
  return shiftSeverity(base, delta);
}

/** What identifies an event when Defender's identity (DeviceId + ReportId) is not in the row. */
export interface EventContent {
  deviceName: string;
  accountName: string | null;
  fileName: string | null;
  commandLine: string;
  parentFileName: string | null;
  parentCommandLine: string | null;
}

/**
 * Stable across re-runs of overlapping windows: Defender's own event identity when present. Rows
 * without it (the published query projects neither DeviceId nor ReportId) get an id derived from
 * the event's content as normalised, so the same event read from a Graph answer or from a CSV
 * export in any date format gets the same id, run after run.
 */
export function findingIdFor(deviceId: string | null, reportId: number | null, time: string, content: EventContent): string {
  if (deviceId && reportId !== null) {
    return sha256Hex(`${deviceId}|${reportId}|${time}`).slice(0, 32);
  }
  const parts = [
    'content-v1',
    time,
    content.deviceName.toLowerCase(),
    content.accountName?.toLowerCase() ?? '',
    content.fileName?.toLowerCase() ?? '',
    content.commandLine,
    content.parentFileName?.toLowerCase() ?? '',
    content.parentCommandLine ?? '',
  ];
  // Lengths first: no two different contents can produce the same text.
  return sha256Hex(parts.map((p) => `${p.length}:${p}`).join('|')).slice(0, 32);
}

/** One row to one Finding; throws RowError with the reason when the row does not fit. */
/** Distinct values shared per answer before new ones are kept as they come. */
const SHARED_TEXT_LIMIT = 50_000;

/**
 * One string per distinct value of the columns that repeat row after row and that later stages
 * key memos by (device, account, image folder, parent): JSON.parse makes a new string for every cell, and every later stage that keys a
 * memo or a map by such a value would hash and compare its own copy. Sharing one copy per answer
 * lets them find the hash already made and compare by identity. Values are unchanged.
 */
class SharedText {
  private readonly seen = new Map<string, string>();
  of<T extends string | null>(value: T): T {
    if (value === null) return value;
    const known = this.seen.get(value);
    if (known !== undefined) return known as T;
    if (this.seen.size < SHARED_TEXT_LIMIT) this.seen.set(value, value);
    return value;
  }
}

const UNSHARED: Pick<SharedText, 'of'> = { of: (value) => value };

function toFinding(row: Row, ctx: NormaliseContext, col: ColumnReader = columnReader(row), parse: FactsParser = parseOnce, text: Pick<SharedText, 'of'> = UNSHARED): Finding {
  const time = timestamp(col('Timestamp'), 'Timestamp');
  const deviceId = text.of(optionalString(col('DeviceId'), 'DeviceId'));
  const deviceName = text.of(requiredString(col('DeviceName'), 'DeviceName'));
  const reportId = optionalInteger(col('ReportId'), 'ReportId');
  const commandLineValue = col('ProcessCommandLine');
  if (typeof commandLineValue !== 'string') throw new RowError('column ProcessCommandLine is missing or not a string');
  const fileName = optionalString(col('FileName'), 'FileName');
  const originalFileName = optionalString(col('ProcessVersionInfoOriginalFileName'), 'ProcessVersionInfoOriginalFileName');
  const inputIssues: InputIssue[] = [];
  const partlyRead = commandLineValue.length > MAX_PARSED_COMMAND_LINE;
  if (partlyRead) {
    inputIssues.push({
      column: 'ProcessCommandLine',
      issue: 'too-long',
      detail: `${commandLineValue.length} characters: certificate facts read from the first ${MAX_PARSED_COMMAND_LINE}, the whole line kept`,
    });
  }
  const parsed = parse(partlyRead ? commandLineValue.slice(0, MAX_PARSED_COMMAND_LINE) : commandLineValue, fileName, originalFileName);
  const facts = applyFactColumns(parsed, col, inputIssues);
  // The code-signing usage raises severity wherever the line names it: one native search finds it
  // in the unread part too.
  if (partlyRead && !facts.certificate.codeSigningEku && mentionsCodeSigningOid(commandLineValue)) facts.certificate.codeSigningEku = true;
  const accountName = text.of(optionalString(col('AccountName'), 'AccountName'));
  const parentFileName = text.of(optionalString(col('InitiatingProcessFileName'), 'InitiatingProcessFileName'));
  const parentCommandLine = text.of(optionalString(col('InitiatingProcessCommandLine'), 'InitiatingProcessCommandLine'));
  const flags = {
    suspiciousParent: flag(col('IsSuspiciousParent'), 'IsSuspiciousParent'),
    tempLocation: flag(col('IsTempLocation'), 'IsTempLocation'),
  };
  const id = findingIdFor(deviceId, reportId, time, { deviceName, accountName, fileName, commandLine: commandLineValue, parentFileName, parentCommandLine });
  // Read in the order the fields are written, so the first bad column is the one reported.
  // The text the query's PowerShell terms matched in, when it decoded one; else the parser's.
  const decodedCommand = optionalString(col('DecodedCommand'), 'DecodedCommand') ?? facts.decodedCommand;
  const branch = branchOf(col('DetectionBranch'), facts.tool);
  const deviceFields = { id: deviceId, name: deviceName };
  const account = { name: accountName, domain: text.of(optionalString(col('AccountDomain'), 'AccountDomain')) };
  const processFields = {
    fileName,
    originalFileName,
    folderPath: text.of(optionalString(col('FolderPath'), 'FolderPath')),
    sha256: optionalString(col('SHA256'), 'SHA256'),
    processId: optionalInteger(col('ProcessId'), 'ProcessId'),
  };
  const parentFields = {
    fileName: parentFileName,
    commandLine: parentCommandLine,
    processId: optionalInteger(col('InitiatingProcessId'), 'InitiatingProcessId'),
    parentFileName: optionalString(col('InitiatingProcessParentFileName'), 'InitiatingProcessParentFileName'),
  };
  const severity = findingSeverity(ctx.defaultSeverity ?? 'medium', facts.action, flags, facts.certificate.codeSigningEku, partlyRead);
  // One literal with every field in the schema's order (no spread: see applyFactColumns), so all
  // findings share one hidden class.
  return {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id,
    ruleId: ctx.ruleId,
    timestamp: time,
    commandLine: commandLineValue,
    tool: facts.tool,
    action: facts.action,
    certificate: facts.certificate,
    signedFile: facts.signedFile,
    signedFiles: facts.signedFiles,
    decodedCommand,
    branch,
    device: deviceFields,
    account,
    process: processFields,
    parent: parentFields,
    reportId,
    flags,
    suppressedBy: null,
    inputIssues,
    raw: row,
    severity,
  };
}

export function normaliseRow(
  row: unknown,
  ctx: NormaliseContext,
): { ok: true; finding: Finding } | { ok: false; reason: string } {
  return normaliseWith(row, ctx, columnReader, parseOnce);
}

function normaliseWith(
  row: unknown,
  ctx: NormaliseContext,
  columns: (row: Row) => ColumnReader,
  parse: FactsParser,
  text: Pick<SharedText, 'of'> = UNSHARED,
): { ok: true; finding: Finding } | { ok: false; reason: string } {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) {
    return { ok: false, reason: 'row is not an object' };
  }
  try {
    return { ok: true, finding: toFinding(row as Row, ctx, columns(row as Row), parse, text) };
  } catch (error) {
    if (error instanceof RowError) return { ok: false, reason: error.message };
    return { ok: false, reason: `unexpected error: ${(error as Error).message}` };
  }
}

export function normaliseResults(results: HuntingQueryResults, ctx: NormaliseContext): NormaliseOutcome {
  const findings: Finding[] = [];
  const rejected: RejectedRow[] = [];
  const columns = answerColumns(results.schema);
  const parse = memoisedParser();
  const text = new SharedText();
  const rows = results.results;
  for (let index = 0; index < rows.length; index++) {
    const outcome = normaliseWith(rows[index], ctx, columns, parse, text);
    if (outcome.ok) findings.push(outcome.finding);
    else rejected.push({ index, reason: outcome.reason });
  }
  return { findings, rejected };
}

/**
 * Fitting an Incident or a Finding into one Table string property (≤ 30,000 UTF-16 chars): the
 * pending announcement kept on an incident row, and the creation steps kept for chains across
 * cycles. What goes first is what a reader misses least: the raw Defender row, then older
 * evidence, then long free text. The result always fits and always parses: these run inside the
 * store's write path, where throwing on an odd finding would lose the whole batch.
 */
import type { Finding } from '../model/finding';
import type { Incident } from '../model/incident';
import { MAX_PROPERTY_CHARS } from './tables';
import { toStoredJson } from '../storage/json';

/** Below this not even a fully shrunk skeleton is guaranteed to fit (escapes can sextuple a char). */
export const MIN_BOUND_CHARS = 10_000;

/** Identity and time: dedupe and ordering rely on them, so the generic pass leaves them whole. */
const KEEP_KEYS = new Set(['schemaVersion', 'id', 'tenantId', 'ruleId', 'timestamp', 'firstSeen', 'lastSeen']);

interface ShrinkLevel {
  maxString: number;
  maxItems: number;
}

/** The generic last resort, gentlest first: long strings cut, arrays keep their first items. */
const SHRINK_LEVELS: readonly ShrinkLevel[] = [
  { maxString: 4096, maxItems: 50 },
  { maxString: 1024, maxItems: 10 },
  { maxString: 256, maxItems: 3 },
  { maxString: 64, maxItems: 1 },
];
/** Applied to every key: at this level any Incident or Finding shape fits MIN_BOUND_CHARS. */
const FINAL_LEVEL: ShrinkLevel = { maxString: 16, maxItems: 0 };

/** Free-text fields of a finding, longest in practice; chain linking reads none of them. */
const FREE_TEXT_LIMITS = [4000, 1000, 250] as const;

function assertBound(maxChars: number): void {
  if (!Number.isSafeInteger(maxChars) || maxChars < MIN_BOUND_CHARS) {
    throw new RangeError(`maxChars must be an integer of at least ${MIN_BOUND_CHARS}, got ${maxChars}`);
  }
}

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, Math.max(0, max - 1))}…` : value;
}

function shrink(value: unknown, level: ShrinkLevel, keepIdentity: boolean): unknown {
  if (typeof value === 'string') return truncate(value, level.maxString);
  if (Array.isArray(value)) return (value as unknown[]).slice(0, level.maxItems).map((v) => shrink(v, level, keepIdentity));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      // `raw` is an open object (any number of keys): the one shape the levels cannot bound.
      if (key === 'raw') out[key] = {};
      else out[key] = keepIdentity && KEEP_KEYS.has(key) ? v : shrink(v, level, keepIdentity);
    }
    return out;
  }
  return value;
}

function shrinkToFit(value: unknown, maxChars: number): string {
  for (const level of SHRINK_LEVELS) {
    const json = toStoredJson(shrink(value, level, true));
    if (json.length <= maxChars) return json;
  }
  // Only reachable with absurd identity fields; shortening them beats failing the write.
  return toStoredJson(shrink(value, FINAL_LEVEL, false));
}

function byTime(a: Finding, b: Finding): number {
  const ta = Date.parse(a.timestamp);
  const tb = Date.parse(b.timestamp);
  return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The finding as JSON within `maxChars`: whole if it fits; else without `raw`; else with its free
 * text (command lines, decoded script, signed file list) cut shorter and shorter; else shrunk
 * generically. Certificate facts, device, time and id survive every step but the last resort.
 */
export function boundedFindingJson(finding: Finding, maxChars: number = MAX_PROPERTY_CHARS): string {
  assertBound(maxChars);
  const whole = toStoredJson(finding);
  if (whole.length <= maxChars) return whole;
  const lean: Finding = { ...finding, raw: {} };
  const leanJson = toStoredJson(lean);
  if (leanJson.length <= maxChars) return leanJson;
  for (const limit of FREE_TEXT_LIMITS) {
    const trimmed: Finding = {
      ...lean,
      commandLine: truncate(lean.commandLine, limit),
      decodedCommand: lean.decodedCommand === null ? null : truncate(lean.decodedCommand, limit),
      parent: { ...lean.parent, commandLine: lean.parent.commandLine === null ? null : truncate(lean.parent.commandLine, limit) },
      signedFile: lean.signedFile === null ? null : truncate(lean.signedFile, limit),
      signedFiles: lean.signedFiles.slice(0, Math.ceil(limit / 100)).map((f) => truncate(f, limit)),
    };
    const json = toStoredJson(trimmed);
    if (json.length <= maxChars) return json;
  }
  return shrinkToFit(lean, maxChars);
}

/**
 * The incident as JSON within `maxChars`: whole if it fits; else its evidence (`findings`) without
 * `raw`; else only the newest few findings (halving until it fits); else no evidence; else the rest
 * shrunk generically.
 */
export function boundedIncidentJson(incident: Incident, maxChars: number = MAX_PROPERTY_CHARS): string {
  assertBound(maxChars);
  const whole = toStoredJson(incident);
  if (whole.length <= maxChars) return whole;
  const lean = incident.findings.map((f): Finding => ({ ...f, raw: {} }));
  const newestFirst = [...lean].sort((a, b) => byTime(b, a));
  for (let keep = lean.length; keep >= 1; keep = keep === 1 ? 0 : Math.ceil(keep / 2)) {
    const findings = newestFirst.slice(0, keep).sort(byTime);
    const json = toStoredJson({ ...incident, findings });
    if (json.length <= maxChars) return json;
  }
  const bare: Incident = { ...incident, findings: [] };
  const bareJson = toStoredJson(bare);
  if (bareJson.length <= maxChars) return bareJson;
  return shrinkToFit(bare, maxChars);
}

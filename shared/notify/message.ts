/**
 * The notification message: one announcement for one channel, as it travels on the delivery
 * queue (JSON, base64-encoded because the Functions queue trigger expects base64 by default).
 * This module owns the message shape, its stable ids, its validation when it comes back off the
 * queue, and keeping it under the 64 KB Azure Storage queue message limit.
 *
 * The notificationId is a hash of what is being announced, never of when or how often it is
 * enqueued: for an incident (incident id, event, revision), where the revision is minted and
 * stored with the incident before anything is enqueued (shared/incidents/store.ts). A re-enqueue
 * of the same announcement gets the same id, which is what the delivery ledger deduplicates on and
 * what a webhook receiver sees as `webhook-id`. Every field of the body is fixed when the id is
 * minted: `createdAt` is the announcement's own time (the incident revision's mint time, the
 * health alert's or allowlist change's time), never the time of an enqueue.
 */
import { sha256Hex } from '../sha256';
import { SEVERITIES, type Severity } from '../model/finding';
import type { Incident, IncidentStatus } from '../model/incident';

export const NOTIFICATION_MESSAGE_VERSION = 1;

export const NOTIFICATION_KINDS = ['incident', 'digest', 'health', 'allowlist-change'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export type IncidentEvent = 'created' | 'updated' | 'closed';

export interface IncidentPayload {
  event: IncidentEvent;
  incident: Incident;
  /** Present when evidence had to be cut to fit the queue message (see fitForQueue). */
  trimmed?: { findingsOmitted: number; rawOmitted: boolean; textShortened: boolean };
}

export interface DigestItem {
  incidentId: string;
  event: IncidentEvent;
  /** The incident revision this item shows. */
  revision: number;
  title: string;
  severity: Severity;
  deviceName: string;
  findingCount: number;
  lastSeen: string;
  /** The incident's device link, if any (the card makes the row clickable). */
  deviceLink: string | null;
}

export interface DigestPayload {
  total: number;
  bySeverity: Record<Severity, number>;
  /** Most severe first; at most DIGEST_MAX_ITEMS. */
  items: DigestItem[];
  /** Incidents counted in `total` but not listed in `items`. */
  omitted: number;
}

export type HealthLevel = 'warning' | 'error';

/** A delivery or pipeline health alert. All text is ours, but may quote ids from the data. */
export interface HealthPayload {
  /** Stable dedupe key chosen by the raiser (same alert → same key → same notificationId). */
  key: string;
  code: string;
  level: HealthLevel;
  summary: string;
  channelId: string | null;
  notificationId: string | null;
  at: string;
  details: Record<string, string | number | boolean | null>;
}

export type AllowlistChangeAction = 'added' | 'updated' | 'removed' | 'expired';

/** What the allowlist owner tells delivery about a change (mapped by the caller). */
export interface AllowlistChangePayload {
  changeId: string;
  action: AllowlistChangeAction;
  entryId: string;
  actor: string | null;
  reason: string | null;
  signer: { subject: string | null; thumbprint: string | null };
  expiresAt: string | null;
  at: string;
  /**
   * The entry as it is after the change (before it, for a removal). Optional only so messages
   * queued by an older version still deliver; every change made now carries them.
   */
  conditions?: Record<string, string>;
  enabled?: boolean;
  permanent?: boolean;
  scope?: string;
  /** Every field that changed, as text ("(none)" is absent), before → after. */
  changes?: { field: string; before: string | null; after: string | null }[];
  /** Set when the writer confirmed a broad entry or one that hides a chain. */
  override?: { confirmed: string[]; matched: number; total: number; chains: number; high: number } | null;
}

interface MessageBase {
  version: typeof NOTIFICATION_MESSAGE_VERSION;
  channelId: string;
  notificationId: string;
  /** 1 on first enqueue; the deliverer re-enqueues with attempt + 1 for a scheduled retry. */
  attempt: number;
  /**
   * When the announcement was minted (the webhook body `timestamp`): stored state, identical on
   * every retry and every re-enqueue of the same notificationId.
   */
  createdAt: string;
  /** Set by `deliveries replay`. */
  replay?: boolean;
  /** Why the message went to the poison queue (set when poisoned by the deliverer). */
  lastError?: { code: string; status: number | null };
}

export type IncidentMessage = MessageBase & { kind: 'incident'; payload: IncidentPayload };
export type DigestMessage = MessageBase & { kind: 'digest'; payload: DigestPayload };
export type HealthMessage = MessageBase & { kind: 'health'; payload: HealthPayload };
export type AllowlistChangeMessage = MessageBase & { kind: 'allowlist-change'; payload: AllowlistChangePayload };
export type NotificationMessage = IncidentMessage | DigestMessage | HealthMessage | AllowlistChangeMessage;

/** What the pipeline asks to announce; routing turns it into one message per channel. */
export type Announcement =
  /** `mintedAt`: when the store minted `incident.revision` (its notifications' `createdAt`). */
  | { kind: 'incident'; event: IncidentEvent; incident: Incident; mintedAt: string }
  | { kind: 'health'; health: HealthPayload }
  | { kind: 'allowlist-change'; change: AllowlistChangePayload };

export function incidentEventFor(status: IncidentStatus): IncidentEvent {
  return status === 'new' ? 'created' : status === 'updated' ? 'updated' : 'closed';
}

// ---------------------------------------------------------------------------------------------
// Stable ids

function hashId(parts: readonly string[]): string {
  // NUL-separated so ("a","bc") and ("ab","c") differ; 128 bits is plenty for dedupe.
  return `ntf_${sha256Hex(parts.join('\u0000')).slice(0, 32)}`;
}

/** One announcement of one incident: its revision is minted before any message is built. */
export function incidentNotificationId(incidentId: string, event: IncidentEvent, revision: number): string {
  return hashId(['incident', incidentId, event, `r${revision}`]);
}

export function digestNotificationId(items: ReadonlyArray<{ incidentId: string; event: IncidentEvent; revision: number }>): string {
  const keys = items.map((i) => `${i.incidentId}|${i.event}|r${i.revision}`).sort();
  return hashId(['digest', ...keys]);
}

/**
 * A health alert is identified by its key and its time: the body carries `at` and details that
 * change from one raise to the next, so one id must never cover two raises (a receiver would see
 * two bodies under one webhook-id). Re-enqueueing the same raise keeps the id.
 */
export function healthNotificationId(key: string, at: string): string {
  return hashId(['health', key, at]);
}

export function allowlistChangeNotificationId(changeId: string): string {
  return hashId(['allowlist-change', changeId]);
}

export const NOTIFICATION_ID_PATTERN = /^ntf_[0-9a-f]{32}$/;

// ---------------------------------------------------------------------------------------------
// Digest

export const DIGEST_MAX_ITEMS = 50;

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export function digestItemOf(event: IncidentEvent, incident: Incident): DigestItem {
  return {
    incidentId: incident.id,
    event,
    revision: incident.revision,
    title: incident.title.slice(0, 300),
    severity: incident.severity,
    deviceName: incident.device.name.slice(0, 200),
    findingCount: incident.findingCount,
    lastSeen: incident.lastSeen,
    deviceLink: incident.links.device && incident.links.device.length <= 2048 ? incident.links.device : null,
  };
}

/** The digest of these items: counts of all of them, the first DIGEST_MAX_ITEMS listed, most severe first. */
export function digestPayloadOf(items: readonly DigestItem[]): DigestPayload {
  const bySeverity: Record<Severity, number> = { informational: 0, low: 0, medium: 0, high: 0 };
  for (const item of items) bySeverity[item.severity] += 1;
  const sorted = [...items].sort(
    (a, b) => severityRank(b.severity) - severityRank(a.severity) || b.lastSeen.localeCompare(a.lastSeen) || a.incidentId.localeCompare(b.incidentId),
  );
  const listed = sorted.slice(0, DIGEST_MAX_ITEMS);
  return { total: items.length, bySeverity, items: listed, omitted: items.length - listed.length };
}

export function buildDigestPayload(announcements: ReadonlyArray<{ event: IncidentEvent; incident: Incident }>): DigestPayload {
  return digestPayloadOf(announcements.map(({ event, incident }) => digestItemOf(event, incident)));
}

// ---------------------------------------------------------------------------------------------
// Queue encoding and size

/** Azure Storage queue messages are at most 64 KiB of (here base64) text. */
export const QUEUE_MESSAGE_MAX_CHARS = 64 * 1024;
/** JSON bytes that still fit after base64 (4/3), with margin. */
export const QUEUE_JSON_BUDGET_BYTES = 46 * 1024;

export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

/** Copies `value` with every string cut to `maxString` chars and every array to `maxArray` items. */
function shrinkDeep(value: unknown, maxString: number, maxArray: number): unknown {
  if (typeof value === 'string') return value.length > maxString ? `${value.slice(0, maxString)}…` : value;
  if (Array.isArray(value)) return value.slice(0, maxArray).map((v) => shrinkDeep(v, maxString, maxArray));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = shrinkDeep(v, maxString, maxArray);
    return out;
  }
  return value;
}

/**
 * Keeps the message under the queue limit by cutting the least important parts of the payload
 * first: raw Defender rows, then evidence findings beyond the first, then long strings. The ids,
 * counts and the incident summary always survive. The same input always yields the same output,
 * so a re-enqueue of the same announcement carries the same body.
 */
export function fitForQueue(message: NotificationMessage): NotificationMessage {
  if (jsonBytes(message) <= QUEUE_JSON_BUDGET_BYTES) return message;
  if (message.kind === 'incident') {
    const incident = message.payload.incident;
    const withoutRaw: Incident = { ...incident, findings: incident.findings.map((f) => ({ ...f, raw: {} })) };
    let trimmed = { findingsOmitted: 0, rawOmitted: true, textShortened: false };
    let candidate: IncidentMessage = { ...message, payload: { ...message.payload, incident: withoutRaw, trimmed } };
    // Evidence findings are dropped from the end (halving first so 500 findings take few steps).
    for (let keep = withoutRaw.findings.length; keep >= 0; keep = keep > 8 ? Math.floor(keep / 2) : keep - 1) {
      trimmed = { ...trimmed, findingsOmitted: withoutRaw.findings.length - keep };
      candidate = {
        ...message,
        payload: { ...message.payload, incident: { ...withoutRaw, findings: withoutRaw.findings.slice(0, keep) }, trimmed },
      };
      if (jsonBytes(candidate) <= QUEUE_JSON_BUDGET_BYTES) return candidate;
    }
    trimmed = { ...trimmed, textShortened: true };
    for (const [maxString, maxArray] of [[2048, 200], [512, 50], [128, 10]] as const) {
      const shrunk = shrinkDeep(candidate.payload.incident, maxString, maxArray) as Incident;
      const next: IncidentMessage = { ...candidate, payload: { ...candidate.payload, incident: shrunk, trimmed } };
      if (jsonBytes(next) <= QUEUE_JSON_BUDGET_BYTES) return next;
    }
    throw new Error(`notification ${message.notificationId} cannot be made to fit a queue message`);
  }
  for (const [maxString, maxArray] of [[1024, 50], [128, 10]] as const) {
    const next = { ...message, payload: shrinkDeep(message.payload, maxString, maxArray) } as NotificationMessage;
    if (jsonBytes(next) <= QUEUE_JSON_BUDGET_BYTES) return next;
  }
  throw new Error(`notification ${message.notificationId} cannot be made to fit a queue message`);
}

export function encodeQueueMessage(message: NotificationMessage): string {
  return Buffer.from(JSON.stringify(fitForQueue(message)), 'utf8').toString('base64');
}

export class MessageFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MessageFormatError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const isString = (v: unknown): v is string => typeof v === 'string';
const isNullableString = (v: unknown): v is string | null => v === null || typeof v === 'string';
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every(isString);

/** The fields the card and webhook read; a message failing this goes to the poison queue. */
function checkIncident(value: unknown): string | null {
  if (!isRecord(value)) return 'incident is not an object';
  const i = value;
  if (!isString(i.id) || !isString(i.title) || !isString(i.firstSeen) || !isString(i.lastSeen)) return 'incident id/title/times';
  if (!SEVERITIES.includes(i.severity as Severity)) return 'incident severity';
  if (typeof i.findingCount !== 'number') return 'incident findingCount';
  if (typeof i.revision !== 'number' || !Number.isInteger(i.revision) || i.revision < 0) return 'incident revision';
  if (!isRecord(i.device) || !isString(i.device.name) || !isNullableString(i.device.id)) return 'incident device';
  if (!isStringArray(i.accounts) || !isStringArray(i.findingIds) || !isStringArray(i.falsePositiveHints)) return 'incident lists';
  if (!isRecord(i.signer) || !isNullableString(i.signer.subject) || !isNullableString(i.signer.thumbprint) || !isNullableString(i.signer.file))
    return 'incident signer';
  if (!isRecord(i.links) || !isNullableString(i.links.device) || !isNullableString(i.links.huntingQuery) || !isNullableString(i.links.allowlistSigner))
    return 'incident links';
  if (!Array.isArray(i.reasons) || !i.reasons.every((r) => isRecord(r) && isString(r.text) && typeof r.severityDelta === 'number'))
    return 'incident reasons';
  if (!Array.isArray(i.attack) || !i.attack.every((a) => isRecord(a) && isString(a.id) && isString(a.name))) return 'incident attack';
  if (!Array.isArray(i.findings)) return 'incident findings';
  for (const f of i.findings) {
    if (!isRecord(f) || !isString(f.commandLine) || !isString(f.timestamp) || !isString(f.tool) || !isString(f.action)) return 'finding fields';
    if (!isRecord(f.account) || !isNullableString(f.account.name) || !isNullableString(f.account.domain)) return 'finding account';
    if (!isRecord(f.certificate) || !isStringArray(f.certificate.files) || !isStringArray(f.signedFiles)) return 'finding files';
  }
  return null;
}

function checkPayload(kind: NotificationKind, payload: unknown): string | null {
  if (!isRecord(payload)) return 'payload is not an object';
  switch (kind) {
    case 'incident':
      if (payload.event !== 'created' && payload.event !== 'updated' && payload.event !== 'closed') return 'payload.event';
      return checkIncident(payload.incident);
    case 'digest':
      if (typeof payload.total !== 'number' || typeof payload.omitted !== 'number' || !isRecord(payload.bySeverity)) return 'digest counts';
      if (!Array.isArray(payload.items)) return 'digest items';
      for (const it of payload.items) {
        if (!isRecord(it) || !isString(it.incidentId) || !isString(it.title) || !isString(it.deviceName) || !isString(it.lastSeen))
          return 'digest item';
        if (!SEVERITIES.includes(it.severity as Severity) || typeof it.findingCount !== 'number' || !isNullableString(it.deviceLink))
          return 'digest item';
        if (typeof it.revision !== 'number') return 'digest item revision';
      }
      return null;
    case 'health':
      if (!isString(payload.key) || !isString(payload.code) || !isString(payload.summary) || !isString(payload.at)) return 'health fields';
      if (payload.level !== 'warning' && payload.level !== 'error') return 'health level';
      if (!isNullableString(payload.channelId) || !isNullableString(payload.notificationId) || !isRecord(payload.details)) return 'health refs';
      return null;
    case 'allowlist-change':
      if (!isString(payload.changeId) || !isString(payload.entryId) || !isString(payload.action) || !isString(payload.at)) return 'allowlist fields';
      if (!isNullableString(payload.actor) || !isNullableString(payload.reason) || !isNullableString(payload.expiresAt)) return 'allowlist fields';
      if (!isRecord(payload.signer) || !isNullableString(payload.signer.subject) || !isNullableString(payload.signer.thumbprint))
        return 'allowlist signer';
      return null;
  }
}

/** Validates an already-parsed message. Error texts name fields, never values. */
export function parseNotificationMessage(value: unknown): NotificationMessage {
  if (!isRecord(value)) throw new MessageFormatError('message is not a JSON object');
  if (value.version !== NOTIFICATION_MESSAGE_VERSION) throw new MessageFormatError('unsupported message version');
  if (!NOTIFICATION_KINDS.includes(value.kind as NotificationKind)) throw new MessageFormatError('unknown message kind');
  if (!isString(value.channelId) || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(value.channelId))
    throw new MessageFormatError('invalid channelId');
  if (!isString(value.notificationId) || !NOTIFICATION_ID_PATTERN.test(value.notificationId))
    throw new MessageFormatError('invalid notificationId');
  if (typeof value.attempt !== 'number' || !Number.isInteger(value.attempt) || value.attempt < 1)
    throw new MessageFormatError('invalid attempt');
  if (!isString(value.createdAt)) throw new MessageFormatError('invalid createdAt');
  const problem = checkPayload(value.kind as NotificationKind, value.payload);
  if (problem) throw new MessageFormatError(`invalid payload (${problem})`);
  return value as unknown as NotificationMessage;
}

/**
 * Accepts what a queue hands over: the parsed object (the Functions host parses JSON), the JSON
 * text, or the base64 text (our own in-process drain and the poison queue).
 */
export function decodeQueueMessage(entry: unknown): NotificationMessage {
  if (typeof entry !== 'string') return parseNotificationMessage(entry);
  const text = entry.trim();
  let json = text;
  if (!text.startsWith('{')) {
    json = Buffer.from(text, 'base64').toString('utf8');
    if (!json.trim().startsWith('{')) throw new MessageFormatError('message is neither JSON nor base64 JSON');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new MessageFormatError('message is not valid JSON');
  }
  return parseNotificationMessage(parsed);
}

/**
 * Notification channels: parsing and validating the channels setting (NOTIFY_CHANNELS, a JSON
 * array) and routing announcements to channels. Channel urls and secrets are credentials (a
 * Teams Workflows url carries its signature in the query string), so no error, log line or
 * returned value of this module ever contains them; errors name the channel by index and id.
 */
import { createHash } from 'node:crypto';
import { SEVERITIES, type Severity } from '../model/finding';
import {
  NOTIFICATION_MESSAGE_VERSION,
  allowlistChangeNotificationId,
  buildDigestPayload,
  digestNotificationId,
  healthNotificationId,
  incidentNotificationId,
  severityRank,
  type Announcement,
  type IncidentEvent,
  type NotificationMessage,
} from './message';
import type { Incident } from '../model/incident';

export const CHANNEL_TYPES = ['teams', 'webhook', 'folder'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** Kinds a channel subscribes to; digests are how a Teams channel receives many incidents. */
export const CHANNEL_KINDS = ['incident', 'health', 'allowlist-change'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];

interface ChannelBase {
  id: string;
  minSeverity: Severity;
  kinds: readonly ChannelKind[];
}
export interface TeamsChannel extends ChannelBase {
  type: 'teams';
  url: string;
}
export interface WebhookChannel extends ChannelBase {
  type: 'webhook';
  url: string;
  secret: string;
}
/** Demo only: writes the exact Teams and webhook payloads to a folder (localFolderSender.ts). */
export interface FolderChannel extends ChannelBase {
  type: 'folder';
  dir: string;
  secret: string | null;
}
export type Channel = TeamsChannel | WebhookChannel | FolderChannel;

export const DEFAULT_DIGEST_THRESHOLD = 10;
export const CHANNEL_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/;

export class ChannelConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid channels setting: ${issues.join('; ')}`);
    this.name = 'ChannelConfigError';
  }
}

export interface ParseChannelsOptions {
  /** Tests only: accept http:// urls whose host is a loopback literal. */
  allowLoopbackForTests?: boolean;
  /** The demo channel type; off in production settings. */
  allowFolder?: boolean;
}

const KNOWN_KEYS = new Set(['id', 'type', 'url', 'dir', 'minSeverity', 'secret', 'kinds']);
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Decoded Standard Webhooks secret: `whsec_` + base64 of 24..64 random bytes. */
export function isValidWebhookSecret(secret: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(secret);
  if (!match?.[1] || match[1].length % 4 !== 0) return false;
  const bytes = Buffer.from(match[1], 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

function describeKey(key: string): string {
  return /^[A-Za-z0-9_]{1,40}$/.test(key) ? `"${key}"` : 'a key with an unexpected name';
}

function checkUrl(raw: unknown, options: ParseChannelsOptions, issues: string[], where: string): string | null {
  if (typeof raw !== 'string' || raw.length === 0) {
    issues.push(`${where}: url is required`);
    return null;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    issues.push(`${where}: url is not a valid absolute URL`);
    return null;
  }
  if (url.username || url.password) issues.push(`${where}: url must not contain credentials`);
  if (url.protocol === 'http:' && options.allowLoopbackForTests && LOOPBACK_HOSTS.has(url.hostname)) return raw;
  if (url.protocol !== 'https:') issues.push(`${where}: url must use https`);
  return raw;
}

/**
 * Parses the channels setting. Every problem is collected (one error lists them all) and no
 * message quotes a url or a secret, or the JSON parser's own message, which quotes input.
 */
export function parseChannels(text: string | undefined, options: ParseChannelsOptions = {}): Channel[] {
  if (text === undefined || text.trim() === '') return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const position = /position (\d+)/.exec(error instanceof Error ? error.message : '')?.[1];
    throw new ChannelConfigError([`the setting is not valid JSON${position ? ` (near character ${position})` : ''}`]);
  }
  if (!Array.isArray(parsed)) throw new ChannelConfigError(['the setting must be a JSON array of channels']);
  const issues: string[] = [];
  const channels: Channel[] = [];
  const seen = new Set<string>();
  parsed.forEach((entry: unknown, index) => {
    let where = `channel #${index}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      issues.push(`${where}: must be an object`);
      return;
    }
    const e = entry as Record<string, unknown>;
    const before = issues.length;
    const id = e.id;
    if (typeof id !== 'string' || !CHANNEL_ID_PATTERN.test(id)) {
      issues.push(`${where}: id must be 1-63 letters, digits, '-' or '_' (starting with a letter or digit)`);
    } else {
      where = `channel #${index} ("${id}")`;
      if (seen.has(id)) issues.push(`${where}: duplicate id`);
      seen.add(id);
    }
    for (const key of Object.keys(e)) if (!KNOWN_KEYS.has(key)) issues.push(`${where}: unknown key ${describeKey(key)}`);
    const type = e.type;
    if (!CHANNEL_TYPES.includes(type as ChannelType) || (type === 'folder' && !options.allowFolder)) {
      issues.push(`${where}: type must be ${options.allowFolder ? '"teams", "webhook" or "folder"' : '"teams" or "webhook"'}`);
    }
    const minSeverity = e.minSeverity;
    if (!SEVERITIES.includes(minSeverity as Severity)) issues.push(`${where}: minSeverity must be one of ${SEVERITIES.join(', ')}`);
    // Allowlist changes by default: an entry blinds a detection, so whoever sees incidents sees it.
    let kinds: ChannelKind[] = ['incident', 'allowlist-change'];
    if (e.kinds !== undefined) {
      if (!Array.isArray(e.kinds) || e.kinds.length === 0 || !e.kinds.every((k) => CHANNEL_KINDS.includes(k as ChannelKind))) {
        issues.push(`${where}: kinds must be a non-empty array of ${CHANNEL_KINDS.join(', ')}`);
      } else {
        kinds = [...new Set(e.kinds as ChannelKind[])];
      }
    }
    const secret = e.secret;
    if (secret !== undefined && (typeof secret !== 'string' || !isValidWebhookSecret(secret))) {
      issues.push(`${where}: secret must be "whsec_" followed by the base64 of 24 to 64 random bytes`);
    }
    if (type === 'webhook' && secret === undefined) issues.push(`${where}: a webhook channel needs a secret`);
    if (type === 'teams' && secret !== undefined) issues.push(`${where}: a teams channel takes no secret (Teams does not verify signatures)`);
    let url: string | null = null;
    if (type === 'teams' || type === 'webhook') {
      url = checkUrl(e.url, options, issues, where);
      if (e.dir !== undefined) issues.push(`${where}: dir is only for folder channels`);
    }
    if (type === 'folder') {
      if (typeof e.dir !== 'string' || e.dir.trim() === '') issues.push(`${where}: a folder channel needs dir`);
      if (e.url !== undefined) issues.push(`${where}: a folder channel takes dir, not url`);
    }
    if (issues.length !== before) return;
    const base = { id: id as string, minSeverity: minSeverity as Severity, kinds };
    if (type === 'teams') channels.push({ ...base, type, url: url as string });
    else if (type === 'webhook') channels.push({ ...base, type, url: url as string, secret: secret as string });
    else channels.push({ ...base, type: 'folder', dir: e.dir as string, secret: (secret as string | undefined) ?? null });
  });
  if (issues.length > 0) throw new ChannelConfigError(issues);
  return channels;
}

/** The strings that must never be logged: every url and secret, and each url's query and path. */
export function channelSecrets(channels: readonly Channel[]): string[] {
  const out = new Set<string>();
  for (const c of channels) {
    if (c.type === 'folder') {
      if (c.secret) out.add(c.secret);
      continue;
    }
    out.add(c.url);
    try {
      const u = new URL(c.url);
      out.add(u.href);
      if (u.search.length > 1) out.add(u.search.slice(1));
      if (u.pathname.length > 1) out.add(u.pathname);
      for (const value of u.searchParams.values()) if (value.length >= 8) out.add(value);
    } catch {
      // parseChannels only admits valid urls
    }
    if (c.type === 'webhook') {
      out.add(c.secret);
      out.add(c.secret.slice('whsec_'.length));
    }
  }
  return [...out].filter((s) => s.length >= 6);
}

/** A one-way fingerprint of a channel url: says "the url changed" without storing the url. */
export function channelFingerprint(channel: Channel): string {
  const target = channel.type === 'folder' ? `folder:${channel.dir}` : channel.url;
  return createHash('sha256').update(target).digest('hex').slice(0, 32);
}

export interface RouteOptions {
  /** A Teams or folder channel getting more incidents than this in one call gets one digest. */
  digestThreshold?: number;
  /** Channels to leave out (a health alert about a channel that is gone is not sent to it). */
  excludeChannelIds?: readonly string[];
}

/**
 * One message per announcement per subscribed channel. Incidents go to channels whose
 * minSeverity they reach; health and allowlist changes only to channels that list those kinds.
 * A Teams Workflow may post only 25 messages per 5 minutes, so above the threshold a Teams (or
 * folder) channel receives one digest instead; webhooks always receive every incident.
 *
 * A message is a function of the announcements alone (ids from what is announced, `createdAt` from
 * when it was minted, never from the clock), so routing the same announcements again after a crash
 * yields the same messages, byte for byte.
 */
export function routeAnnouncements(
  announcements: readonly Announcement[],
  channels: readonly Channel[],
  options: RouteOptions = {},
): NotificationMessage[] {
  const threshold = options.digestThreshold ?? DEFAULT_DIGEST_THRESHOLD;
  const base = { version: NOTIFICATION_MESSAGE_VERSION, attempt: 1 } as const;
  const messages: NotificationMessage[] = [];
  for (const channel of channels) {
    if (options.excludeChannelIds?.includes(channel.id)) continue;
    const incidents: Array<{ event: IncidentEvent; incident: Incident; mintedAt: string }> = [];
    for (const a of announcements) {
      if (a.kind === 'incident') {
        if (channel.kinds.includes('incident') && severityRank(a.incident.severity) >= severityRank(channel.minSeverity)) {
          incidents.push({ event: a.event, incident: a.incident, mintedAt: a.mintedAt });
        }
      } else if (a.kind === 'health') {
        if (channel.kinds.includes('health')) {
          messages.push({
            ...base,
            createdAt: a.health.at,
            kind: 'health',
            channelId: channel.id,
            notificationId: healthNotificationId(a.health.key, a.health.at),
            payload: a.health,
          });
        }
      } else if (channel.kinds.includes('allowlist-change')) {
        messages.push({
          ...base,
          createdAt: a.change.at,
          kind: 'allowlist-change',
          channelId: channel.id,
          notificationId: allowlistChangeNotificationId(a.change.changeId),
          payload: a.change,
        });
      }
    }
    if (channel.type !== 'webhook' && incidents.length > threshold) {
      const payload = buildDigestPayload(incidents);
      const ids = incidents.map((i) => ({ incidentId: i.incident.id, event: i.event, revision: i.incident.revision }));
      // The latest mint time of its items: the same items make the same digest, whenever routed.
      const createdAt = incidents.map((i) => i.mintedAt).reduce((a, b) => (a > b ? a : b));
      messages.push({ ...base, createdAt, kind: 'digest', channelId: channel.id, notificationId: digestNotificationId(ids), payload });
    } else {
      for (const { event, incident, mintedAt } of incidents) {
        messages.push({
          ...base,
          createdAt: mintedAt,
          kind: 'incident',
          channelId: channel.id,
          notificationId: incidentNotificationId(incident.id, event, incident.revision),
          payload: { event, incident },
        });
      }
    }
  }
  return messages;
}

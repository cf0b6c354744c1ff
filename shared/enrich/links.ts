/**
 * Links an incident carries: the device page and an advanced-hunting deep link in the Defender
 * portal, and a prefilled allowlist request for the signer. Pure (gzip is deterministic).
 *
 * Deep-link format, as the portal and public tooling use it: `/v2/advanced-hunting?query=<q>` with
 * q = URL-encoded base64 of the gzip of the query text in UTF-16LE (UTF-8 shows as garbage in the
 * editor). The incident's window is written INTO the query (a `where Timestamp between ...`), so
 * the link shows the same rows whatever time-range picker the portal applies; `timeRangeId=month`
 * keeps the picker wide enough (advanced hunting keeps 30 days).
 */
import { gzipSync } from 'node:zlib';
import type { IncidentLinks } from '../model/incident';

export const DEFAULT_PORTAL_BASE_URL = 'https://security.microsoft.com';

function trimBase(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export function deviceLink(deviceId: string | null, portalBaseUrl = DEFAULT_PORTAL_BASE_URL): string | null {
  if (!deviceId?.trim()) return null;
  return `${trimBase(portalBaseUrl)}/machines/v2/${encodeURIComponent(deviceId.trim())}/overview`;
}

/** Encodings per query text: incidents of one device and hour render the same query. */
const encodedQueries = new Map<string, string>();
const MAX_REMEMBERED_QUERIES = 1024;

/** base64(gzip(UTF-16LE(query))), before URL encoding. */
export function encodeHuntingQuery(query: string): string {
  const known = encodedQueries.get(query);
  if (known !== undefined) return known;
  // Level 1: any gzip decodes the same; a busy cycle builds thousands of these links.
  const encoded = gzipSync(Buffer.from(query, 'utf16le'), { level: 1 }).toString('base64');
  // Bounded: when full, the oldest entry makes room (Map keeps insertion order).
  if (encodedQueries.size >= MAX_REMEMBERED_QUERIES) {
    const oldest = encodedQueries.keys().next();
    if (!oldest.done) encodedQueries.delete(oldest.value);
  }
  encodedQueries.set(query, encoded);
  return encoded;
}

/** KQL string literal: double quotes with backslash escapes. */
function kqlString(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The rule's query narrowed to this incident: its time window and, when known, its device. Assumes
 * the query's output keeps `Timestamp` and `DeviceId`, as findings are built from those columns.
 */
export function incidentHuntingQuery(query: string, window: { start: Date; end: Date }, deviceId: string | null): string {
  const lines = [
    query.trimEnd(),
    `| where Timestamp between (datetime(${window.start.toISOString()}) .. datetime(${window.end.toISOString()}))`,
  ];
  if (deviceId?.trim()) lines.push(`| where DeviceId == ${kqlString(deviceId.trim())}`);
  return lines.join('\n');
}

export function huntingLink(
  query: string,
  window: { start: Date; end: Date },
  deviceId: string | null,
  portalBaseUrl = DEFAULT_PORTAL_BASE_URL,
): string | null {
  if (!query.trim()) return null;
  const encoded = encodeURIComponent(encodeHuntingQuery(incidentHuntingQuery(query, window, deviceId)));
  return `${trimBase(portalBaseUrl)}/v2/advanced-hunting?query=${encoded}&timeRangeId=month`;
}

export interface AllowlistLinkInput {
  ruleId: string;
  incidentId: string;
  signer: { subject: string | null; thumbprint: string | null; file: string | null };
}

/**
 * `<base>/allowlist/new?incident=<id>`: the allowlist page, which loads the incident and proposes
 * the narrowest entry for it. Null without a base URL, or when the signer is unknown (an entry
 * without a signer would allow far more than this incident).
 */
export function allowlistLink(baseUrl: string | null | undefined, input: AllowlistLinkInput): string | null {
  if (!baseUrl?.trim()) return null;
  const { subject, thumbprint, file } = input.signer;
  if (!subject && !thumbprint && !file) return null;
  return `${trimBase(baseUrl)}/allowlist/new?${new URLSearchParams({ incident: input.incidentId }).toString()}`;
}

export interface LinkContext {
  ruleId: string;
  incidentId: string;
  query: string;
  deviceId: string | null;
  window: { start: Date; end: Date };
  signer: AllowlistLinkInput['signer'];
  portalBaseUrl?: string;
  allowlistBaseUrl?: string | null;
}

export function incidentLinks(ctx: LinkContext): IncidentLinks {
  const portal = ctx.portalBaseUrl ?? DEFAULT_PORTAL_BASE_URL;
  return {
    device: deviceLink(ctx.deviceId, portal),
    huntingQuery: huntingLink(ctx.query, ctx.window, ctx.deviceId, portal),
    allowlistSigner: allowlistLink(ctx.allowlistBaseUrl, { ruleId: ctx.ruleId, incidentId: ctx.incidentId, signer: ctx.signer }),
  };
}

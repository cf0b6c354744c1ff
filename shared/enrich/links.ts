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
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import type { IncidentLinks } from '../model/incident';
import { crc32 } from './crc32';

export const DEFAULT_PORTAL_BASE_URL = 'https://security.microsoft.com';

function trimBase(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export function deviceLink(deviceId: string | null, portalBaseUrl = DEFAULT_PORTAL_BASE_URL): string | null {
  if (!deviceId?.trim()) return null;
  return `${trimBase(portalBaseUrl)}/machines/v2/${encodeURIComponent(deviceId.trim())}/overview`;
}

/**
 * A query's text compressed once, ending in a full flush: a deflate stream that later blocks can
 * continue without referring back into it. Every incident's link is the rule's query plus a few
 * lines of its own, so the query is compressed once per rule, not once per incident. The gzip
 * header and these blocks are padded to a multiple of three bytes, so their base64 (and its URL
 * encoding) is also made once and every link just continues it.
 */
interface CompressedPrefix {
  crc: number;
  bytes: number;
  /** base64 of the gzip header and the prefix's blocks. */
  base64: string;
  /** The same, URL-encoded. */
  urlEncoded: string;
}

const prefixes = { trimmed: new Map<string, CompressedPrefix>(), exact: new Map<string, CompressedPrefix>() };
const MAX_REMEMBERED_PREFIXES = 64;

/** gzip member header: magic, deflate, no flags, no mtime, no extra flags, OS unknown. */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff]);

/** An empty, not final, stored block: valid anywhere the stream is byte-aligned (after a full flush). */
const EMPTY_STORED_BLOCK = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);

/** Keyed by the text as given (the rule's query object, whose hash the engine keeps). */
function compressedPrefix(text: string, trimEnd: boolean): CompressedPrefix {
  const cache = trimEnd ? prefixes.trimmed : prefixes.exact;
  const known = cache.get(text);
  if (known) return known;
  const bytes = Buffer.from(trimEnd ? text.trimEnd() : text, 'utf16le');
  // Level 1: any deflate decodes the same; the full flush byte-aligns and resets the window.
  const parts = [GZIP_HEADER, deflateRawSync(bytes, { level: 1, finishFlush: zlibConstants.Z_FULL_FLUSH })];
  // Five bytes a block: at most two blocks reach a multiple of three.
  let length = GZIP_HEADER.length + (parts[1] as Buffer).length;
  while (length % 3 !== 0) {
    parts.push(EMPTY_STORED_BLOCK);
    length += EMPTY_STORED_BLOCK.length;
  }
  const base64 = Buffer.concat(parts).toString('base64');
  const compressed = { crc: crc32(bytes), bytes: bytes.length, base64, urlEncoded: encodeURIComponent(base64) };
  if (cache.size >= MAX_REMEMBERED_PREFIXES) cache.clear();
  cache.set(text, compressed);
  return compressed;
}

/** Longest stored (uncompressed) deflate block (RFC 1951 3.2.4). */
const MAX_STORED_BLOCK = 0xffff;

/**
 * The tail as stored deflate blocks, the last one final. The tail is one incident's few lines
 * (its window and device): compressing them would save about a hundred bytes, but each zlib call
 * sets up a whole compressor (about 50 µs), which at thousands of incidents a cycle cost more than
 * the rest of the links together. Stored blocks follow the prefix's full flush byte-aligned.
 */
function storedBlocks(bytes: Buffer): Buffer {
  const blocks = Math.max(1, Math.ceil(bytes.length / MAX_STORED_BLOCK));
  const out = Buffer.allocUnsafe(bytes.length + 5 * blocks);
  let at = 0;
  for (let b = 0; b < blocks; b++) {
    const start = b * MAX_STORED_BLOCK;
    const length = Math.min(MAX_STORED_BLOCK, bytes.length - start);
    // BFINAL on the last block, BTYPE 00 (stored); the rest of the header byte is padding.
    out[at++] = b === blocks - 1 ? 1 : 0;
    out.writeUInt16LE(length, at);
    out.writeUInt16LE(~length & 0xffff, at + 2);
    at += 4;
    bytes.copy(out, at, start, start + length);
    at += length;
  }
  return out;
}

/** base64 of the tail's stored blocks and the gzip trailer (CRC-32 and length of the whole text). */
function tailBase64(head: CompressedPrefix, tail: string): string {
  const tailBytes = Buffer.from(tail, 'utf16le');
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc32(tailBytes, head.crc), 0);
  trailer.writeUInt32LE((head.bytes + tailBytes.length) % 2 ** 32, 4);
  return Buffer.concat([storedBlocks(tailBytes), trailer]).toString('base64');
}

/**
 * base64(gzip(UTF-16LE(prefix + tail))), before URL encoding: one ordinary gzip member (RFC 1952)
 * whose deflate stream is the prefix's cached blocks followed by the tail's stored blocks, with
 * the CRC-32 and length of the whole text.
 */
export function encodeHuntingQueryParts(prefix: string, tail: string, options: { trimPrefixEnd?: boolean } = {}): string {
  const head = compressedPrefix(prefix, options.trimPrefixEnd === true);
  return head.base64 + tailBase64(head, tail);
}

/** base64(gzip(UTF-16LE(query))), before URL encoding. */
export function encodeHuntingQuery(query: string): string {
  return encodeHuntingQueryParts(query, '');
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
  return query.trimEnd() + incidentNarrowing(window, deviceId);
}

/** What incidentHuntingQuery appends to the rule's query. */
function incidentNarrowing(window: { start: Date; end: Date }, deviceId: string | null): string {
  const lines = [`\n| where Timestamp between (datetime(${window.start.toISOString()}) .. datetime(${window.end.toISOString()}))`];
  if (deviceId?.trim()) lines.push(`\n| where DeviceId == ${kqlString(deviceId.trim())}`);
  return lines.join('');
}

export function huntingLink(
  query: string,
  window: { start: Date; end: Date },
  deviceId: string | null,
  portalBaseUrl = DEFAULT_PORTAL_BASE_URL,
): string | null {
  if (!query.trim()) return null;
  const head = compressedPrefix(query, true);
  const encoded = head.urlEncoded + encodeURIComponent(tailBase64(head, incidentNarrowing(window, deviceId)));
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

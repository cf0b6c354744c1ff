/**
 * The HTTP sender: one POST attempt to a channel, classified. It owns the outbound safety rules:
 * https only, no redirects (a 3xx is a failure, never followed), a per-attempt timeout covering
 * the whole exchange, reading at most a few KB of the answer, and refusing hosts that resolve to
 * loopback, private, CGNAT, link-local, multicast/reserved or cloud metadata addresses (every
 * resolved address is checked, IPv4-mapped/NAT64/6to4 forms included). The url is a credential:
 * no outcome, error or log from here contains it (outcomes carry only status and error codes).
 *
 * Known limit: the address check resolves the name before `fetch` resolves it again; a DNS answer
 * that changes in between (rebinding) is not caught unless the injected fetch pins addresses.
 */
import { BlockList, isIP } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import type { Clock } from '../clock';
import { parseRetryAfter } from './retry';

export interface HttpRequestSpec {
  url: string;
  body: string;
  headers: Record<string, string>;
}

export type SendOutcome =
  | { kind: 'success'; status: number }
  /** `maybeDelivered`: the request may have reached the receiver (timeout, reset after sending). */
  | { kind: 'retryable'; status: number | null; code: string; retryAfterSeconds: number | null; maybeDelivered: boolean }
  | { kind: 'gone'; status: 410; code: 'http-410' }
  | { kind: 'permanent'; status: number | null; code: string };

export type Sender = (request: HttpRequestSpec) => Promise<SendOutcome>;

export type LookupAll = (hostname: string) => Promise<Array<{ address: string; family: number }>>;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface SenderOptions {
  clock: Clock;
  fetch?: FetchLike;
  lookup?: LookupAll;
  /** Whole attempt: connect, send, headers and the capped body read. */
  timeoutMs?: number;
  maxResponseBytes?: number;
  /** Tests only: allow http:// and loopback addresses (private ranges stay blocked). */
  allowLoopbackForTests?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Address policy

export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'metadata' | 'reserved' | 'invalid';

function subnets(entries: ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>): BlockList {
  const list = new BlockList();
  for (const [net, prefix, type] of entries) list.addSubnet(net, prefix, type);
  return list;
}

/** Cloud instance metadata / host agents (canonical forms: full, unpadded IPv6 hextets). */
const METADATA = new Set(['169.254.169.254', 'fd00:ec2:0:0:0:0:0:254', '168.63.129.16', '100.100.100.200']);
const LOOPBACK = subnets([['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]);
const PRIVATE = subnets([
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // CGNAT
  ['fc00::', 7, 'ipv6'], // ULA
]);
const LINK_LOCAL = subnets([['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]);
const RESERVED = subnets([
  ['0.0.0.0', 8, 'ipv4'], // "this network"; 0.0.0.0 reaches the local host on Linux
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved + broadcast
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'], // local-use NAT64
  ['100::', 64, 'ipv6'], // discard
]);

/** Expands an IPv6 text form to 8 hextets (handles `::` and a trailing dotted IPv4). */
function ipv6Hextets(address: string): number[] | null {
  let text = address.split('%')[0] ?? '';
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const parts = dotted[1].split('.').map(Number);
    const [a = 0, b = 0, c = 0, d = 0] = parts;
    text = `${text.slice(0, -dotted[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const missing = 8 - h.length - t.length;
  if (tail === undefined && missing !== 0) return null;
  const all = [...h, ...Array<string>(Math.max(0, missing)).fill('0'), ...t].map((x) => parseInt(x, 16));
  return all.length === 8 && all.every((n) => Number.isInteger(n) && n >= 0 && n <= 0xffff) ? all : null;
}

/** An IPv4 address embedded in IPv4-mapped, IPv4-compatible, NAT64 or 6to4 IPv6 forms. */
function embeddedIpv4(address: string): string | null {
  const h = ipv6Hextets(address);
  if (!h) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  const zeros = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zeros(0, 5) && (h[5] === 0xffff || h[5] === 0) && !(h[5] === 0 && h[6] === 0)) return v4(h[6] ?? 0, h[7] ?? 0);
  if (h[0] === 0x64 && h[1] === 0xff9b && zeros(2, 6)) return v4(h[6] ?? 0, h[7] ?? 0);
  if (h[0] === 0x2002) return v4(h[1] ?? 0, h[2] ?? 0);
  return null;
}

export function classifyAddress(address: string): AddressClass {
  const version = isIP(address.split('%')[0] ?? '');
  if (version === 0) return 'invalid';
  const bare = address.split('%')[0] ?? address;
  if (version === 6) {
    const inner = embeddedIpv4(bare);
    if (inner) return classifyAddress(inner);
  }
  const type = version === 4 ? 'ipv4' : 'ipv6';
  const canonical = version === 6 ? (ipv6Hextets(bare)?.map((x) => x.toString(16)).join(':') ?? bare) : bare;
  if (METADATA.has(canonical)) return 'metadata';
  if (LOOPBACK.check(bare, type)) return 'loopback';
  if (LINK_LOCAL.check(bare, type)) return 'link-local';
  if (PRIVATE.check(bare, type)) return 'private';
  if (RESERVED.check(bare, type)) return 'reserved';
  return 'public';
}

const defaultLookup: LookupAll = async (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** Error codes that mean the request never reached the receiver: safe to retry anywhere. */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function errorCode(error: unknown): string {
  // undici wraps the socket error as `cause`; codes are safe to report, messages may not be.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    const name = (current as { name?: unknown }).name;
    if (name === 'AbortError' || name === 'TimeoutError') return 'TIMEOUT';
    current = (current as { cause?: unknown }).cause;
  }
  return 'UNKNOWN';
}

async function readCapped(response: Response, maxBytes: number): Promise<void> {
  const body = response.body;
  if (!body) return;
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  const reader = body.getReader();
  try {
    if (Number.isFinite(declared) && declared > maxBytes) return;
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      total += value.byteLength;
      if (total >= maxBytes) return;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export function classifyStatus(status: number, retryAfter: string | null, now: Date): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'success', status };
  if (status === 410) return { kind: 'gone', status: 410, code: 'http-410' };
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
    // The receiver answered: it did not accept the request, so a retry cannot duplicate it.
    return { kind: 'retryable', status, code: `http-${status}`, retryAfterSeconds: parseRetryAfter(retryAfter, now), maybeDelivered: false };
  }
  if (status >= 300 && status < 400) return { kind: 'permanent', status, code: 'redirect-refused' };
  return { kind: 'permanent', status, code: `http-${status}` };
}

/** Checks the url and every address its host resolves to; returns a refusal or null. */
async function checkDestination(url: URL, lookup: LookupAll, allowLoopback: boolean): Promise<SendOutcome | null> {
  if (url.protocol !== 'https:' && !(allowLoopback && url.protocol === 'http:')) {
    return { kind: 'permanent', status: null, code: 'insecure-url' };
  }
  if (url.username || url.password) return { kind: 'permanent', status: null, code: 'credentials-in-url' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host)) {
    addresses = [host];
  } else {
    try {
      addresses = (await lookup(host)).map((a) => a.address);
    } catch (error) {
      const code = errorCode(error);
      // NXDOMAIN may be a typo (permanent) or a DNS outage; retrying is the safe choice.
      return { kind: 'retryable', status: null, code: `dns-${code}`, retryAfterSeconds: null, maybeDelivered: false };
    }
  }
  if (addresses.length === 0) return { kind: 'retryable', status: null, code: 'dns-empty', retryAfterSeconds: null, maybeDelivered: false };
  for (const address of addresses) {
    const cls = classifyAddress(address);
    if (cls === 'public') continue;
    if (cls === 'loopback' && allowLoopback) continue;
    return { kind: 'permanent', status: null, code: `blocked-address-${cls}` };
  }
  return null;
}

export function createHttpSender(options: SenderOptions): Sender {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const lookup = options.lookup ?? defaultLookup;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const allowLoopback = options.allowLoopbackForTests === true;

  return async (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return { kind: 'permanent', status: null, code: 'invalid-url' };
    }
    const refused = await checkDestination(url, lookup, allowLoopback);
    if (refused) return refused;

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      let response: Response;
      try {
        response = await doFetch(url.href, {
          method: 'POST',
          body: request.body,
          headers: request.headers,
          redirect: 'manual',
          signal: controller.signal,
        });
      } catch (error) {
        const code = controller.signal.aborted ? 'TIMEOUT' : errorCode(error);
        return {
          kind: 'retryable',
          status: null,
          code: code === 'TIMEOUT' ? 'timeout' : `network-${code}`,
          retryAfterSeconds: null,
          maybeDelivered: !NOT_SENT_CODES.has(code),
        };
      }
      if (response.type === 'opaqueredirect' || response.status === 0) {
        return { kind: 'permanent', status: null, code: 'redirect-refused' };
      }
      // The status decides; the capped read only frees the connection (and bounds memory).
      await readCapped(response, maxResponseBytes).catch(() => undefined);
      return classifyStatus(response.status, response.headers.get('retry-after'), options.clock.now());
    } finally {
      clearTimeout(timer);
    }
  };
}

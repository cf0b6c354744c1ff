/**
 * A local Graph for many tenants (tests and the tenants benchmark): the local runHuntingQuery
 * server (replaySource.ts) answering each call from the data of the tenant its bearer token was
 * issued for (`tid`), as Graph does, and throttling every tenant on its own like Defender (45
 * calls in any minute, then 429 with Retry-After). It records when each tenant's calls arrived,
 * so a test can check the peak per minute from the server's side, and lets a test make one tenant
 * answer 401 or 429 while the others carry on.
 *
 * Tokens come from LocalTenantCredential: unsigned JWTs with `tid` and `roles`, read (never
 * trusted) by this server only. Nothing here is used by the function app.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { rowsForQuery } from '../demo/windowedReplay';
import { peakCallsPerMinute, QUOTA_WINDOW_MS } from '../tenants/quota';
import { startLocalGraphServer, type LocalGraphReply, type LocalGraphRequest } from './replaySource';
import type { HuntingQueryResults } from './types';

export const DEFENDER_CALLS_PER_MINUTE = 45;

export interface LocalTenant {
  /** The tenant's Defender data; each query gets the rows of its window, bounded by its `| take`. */
  data: HuntingQueryResults;
  /** Answers every call of the tenant with this reply while it returns one (401s, 429s, ...). */
  fault?: (now: number) => LocalGraphReply | undefined;
}

export interface TenantGraphServerOptions {
  /** Keyed by Entra tenant id (the token's `tid`). May be changed while the server runs. */
  tenants: Map<string, LocalTenant>;
  /** The server's clock (ms); a test passes its fake clock so quota and faults follow it. */
  now?: () => number;
  maxCallsPerMinute?: number;
}

export interface TenantGraphServer {
  baseUrl: string;
  /** Arrival times of every call per tenant id (answered or refused). */
  calls: Map<string, number[]>;
  /** Calls refused with 429 because the tenant went over Defender's rate. */
  rateRefusals: Map<string, number>;
  /** The largest number of calls of `tid` that arrived in any one minute. */
  peakPerMinute(tid: string): number;
  close(): Promise<void>;
}

function base64url(value: string): string {
  return Buffer.from(value, 'utf8').toString('base64').replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** An unsigned JWT shaped like an Entra app-only token for Graph. */
export function localTenantToken(tid: string, options: { roles?: string[]; expiresAt: number; appId?: string }): string {
  const header = base64url(JSON.stringify({ alg: 'none', typ: 'JWT' }));
  const payload = base64url(
    JSON.stringify({
      aud: 'https://graph.microsoft.com',
      tid,
      roles: options.roles ?? ['ThreatHunting.Read.All'],
      appid: options.appId ?? '00000000-0000-0000-0000-00000000c0de',
      exp: Math.floor(options.expiresAt / 1000),
    }),
  );
  return `${header}.${payload}.`;
}

/** Issues local tokens for one tenant and counts how often it was asked (token caching tests). */
export class LocalTenantCredential implements TokenCredential {
  issued = 0;

  constructor(
    readonly tid: string,
    private readonly options: { roles?: string[]; now?: () => number; lifetimeMs?: number } = {},
  ) {}

  async getToken(): Promise<AccessToken> {
    this.issued += 1;
    const expiresOnTimestamp = (this.options.now ?? Date.now)() + (this.options.lifetimeMs ?? 3_600_000);
    return { token: localTenantToken(this.tid, { roles: this.options.roles, expiresAt: expiresOnTimestamp }), expiresOnTimestamp };
  }
}

/**
 * Test and benchmark data: the rows of `data` with their ingestion times (and Timestamps, keeping
 * each row's own gap between them) spread evenly over [start, end), in their original order.
 */
export function spreadRows(data: HuntingQueryResults, start: number, end: number): HuntingQueryResults {
  const step = (end - start) / Math.max(1, data.results.length);
  return {
    schema: data.schema,
    results: data.results.map((row, index) => {
      const ingested = start + Math.floor(index * step);
      const time = (value: unknown): number => (typeof value === 'string' ? Date.parse(value) : NaN);
      const original = time(row.IngestionTime ?? row.Timestamp);
      const timestamp = time(row.Timestamp);
      const lead = Number.isNaN(original) || Number.isNaN(timestamp) ? 0 : original - timestamp;
      return { ...row, IngestionTime: new Date(ingested).toISOString(), Timestamp: new Date(ingested - lead).toISOString() };
    }),
  };
}

/**
 * `count` rows of one busy workstation's certificate work (the rows of `data`'s first device,
 * repeated as new events with their own ReportId), spread over [start, end): a cycle of them
 * makes a handful of incidents, as a real tenant's would.
 */
export function busyDeviceRows(data: HuntingQueryResults, count: number, start: number, end: number): HuntingQueryResults {
  const first = data.results[0]?.DeviceName;
  const device = data.results.filter((row) => row.DeviceName === first);
  const rows = Array.from({ length: device.length === 0 ? 0 : count }, (_, i) => ({ ...device[i % device.length], ReportId: 100_000 + i }));
  return spreadRows({ schema: data.schema, results: rows }, start, end);
}

/** A stable Entra tenant id (GUID) for the n-th test tenant. */
export function localTenantId(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

function tidOf(request: LocalGraphRequest): string | null {
  const header = request.headers.authorization;
  const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
  const payload = token.split('.')[1];
  if (!payload) return null;
  try {
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof claims.tid === 'string' ? claims.tid : null;
  } catch {
    return null;
  }
}

function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): LocalGraphReply {
  return { status, headers, body: { error: { code, message, innerError: { date: new Date().toISOString() } } } };
}

export async function startTenantGraphServer(options: TenantGraphServerOptions): Promise<TenantGraphServer> {
  const now = options.now ?? Date.now;
  const limit = options.maxCallsPerMinute ?? DEFENDER_CALLS_PER_MINUTE;
  const calls = new Map<string, number[]>();
  const rateRefusals = new Map<string, number>();

  const respond = (request: LocalGraphRequest): LocalGraphReply => {
    const tid = tidOf(request);
    if (!tid) return graphError(401, 'InvalidAuthenticationToken', 'Access token is empty.');
    const tenant = options.tenants.get(tid);
    if (!tenant) return graphError(401, 'InvalidAuthenticationToken', `Access token validation failure: tenant ${tid} is unknown here.`);
    const at = now();
    const log = calls.get(tid) ?? [];
    calls.set(tid, log);
    log.push(at);
    const recent = log.filter((t) => t > at - QUOTA_WINDOW_MS).length;
    if (recent > limit) {
      rateRefusals.set(tid, (rateRefusals.get(tid) ?? 0) + 1);
      return graphError(429, 'TooManyRequests', 'Rate limit is exceeded. You can run queries again in 00:01:00.', { 'Retry-After': '60' });
    }
    const fault = tenant.fault?.(at);
    if (fault) return fault;
    const rows = rowsForQuery(tenant.data, request.query ?? '');
    return { status: 200, body: { schema: rows.schema, results: rows.results } };
  };

  const server = await startLocalGraphServer({ schema: [], results: [] }, { respond });
  return {
    baseUrl: server.baseUrl,
    calls,
    rateRefusals,
    peakPerMinute: (tid) => peakCallsPerMinute(calls.get(tid) ?? []),
    async close() {
      await server.close();
    },
  };
}

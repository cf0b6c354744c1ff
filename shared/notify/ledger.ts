/**
 * The delivery ledger (Azure Table `deliveries`): PartitionKey = channel id, RowKey =
 * notificationId, one row per notification per channel. It is what makes delivery at-most-once
 * for Teams and effectively-once for webhooks although the queue is at-least-once:
 *
 * - `sending`: claimed before posting, by an ETag-guarded insert (or update), with a lease;
 * - `delivered`: the receiver accepted it; a redelivered queue message is acked without posting;
 * - `retrying`: a retry is scheduled (the receiver refused it, so it was not delivered);
 * - `failed`: permanent refusal or attempts exhausted (also in the poison queue);
 * - `parked`: needs a human: `uncertain` (a Teams post may or may not have happened) or
 *   `unknown-channel` (the channel was removed from the settings);
 * - `disabled-channel`: the channel answered 410 Gone (or had before);
 * - `pending`: reset by `deliveries replay`, to be claimed again.
 *
 * Each row keeps the message itself (chunked: table string properties hold 32K characters) so a
 * failed or parked notification can be replayed from the ledger alone. A row with RowKey
 * `~channel` in the channel's partition records that the channel is disabled, with a fingerprint
 * of the url that was gone (never the url): a new url in the settings re-enables the channel.
 */
import { TableClient, odata, type TableEntity, type TableEntityResult } from '@azure/data-tables';
import type { NotificationMessage } from './message';
import { parseNotificationMessage } from './message';
import { toStoredJson } from '../storage/json';
import { escapeKey } from '../storage/keys';

export const DELIVERY_STATES = ['pending', 'sending', 'retrying', 'held', 'delivered', 'superseded', 'failed', 'parked', 'disabled-channel'] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];

/**
 * States that end a delivery until someone replays it: a queue message finding one is acked.
 * `superseded`: not posted because the channel already had a newer revision of the incident (or
 * it went out inside a digest). `held` is not settled: the message waits, stored here, for its
 * paused channel to recover (shared/notify/pause.ts).
 */
export const SETTLED_STATES: readonly DeliveryState[] = ['delivered', 'superseded', 'failed', 'parked', 'disabled-channel'];

export interface DeliveryRecord {
  channelId: string;
  notificationId: string;
  state: DeliveryState;
  kind: string;
  attempt: number;
  leaseUntil: string | null;
  updatedAt: string;
  deliveredAt: string | null;
  /** A short code (http-400, attempts-exhausted, uncertain, ...), never a url or a body. */
  reason: string | null;
  httpStatus: number | null;
  replays: number;
  message: NotificationMessage | null;
  etag: string;
}

/** Proof of a claim: the ETag of the `sending` row this worker wrote. */
export interface ClaimToken {
  channelId: string;
  notificationId: string;
  etag: string;
  record: DeliveryRecord;
}

export type ClaimResult =
  | { outcome: 'claimed'; token: ClaimToken; takeover: boolean }
  | { outcome: 'settled'; record: DeliveryRecord }
  | { outcome: 'in-flight'; record: DeliveryRecord; leaseUntil: Date }
  /** `sending` with an expired lease and no takeover wanted: the caller decides (Teams parks). */
  | { outcome: 'expired'; record: DeliveryRecord };

export interface ClaimOptions {
  now: Date;
  leaseMs: number;
  /** Re-claim a `sending` row whose lease expired (webhooks: receivers dedupe on webhook-id). */
  takeOverExpired: boolean;
}

export interface SettleInfo {
  now: Date;
  reason?: string | null;
  httpStatus?: number | null;
  /** The message to keep for replay (e.g. the attempt that will run next). */
  message?: NotificationMessage;
}

export interface ChannelStatus {
  disabled: boolean;
  urlFingerprint: string | null;
  reason: string | null;
  updatedAt: string;
  /** Consecutive retryable failures of posts to the channel (0 after a success). */
  failures: number;
  /** Set while the channel is paused: since when, and when it may be probed again. */
  pausedSince: string | null;
  pausedUntil: string | null;
  /** The one notification allowed to probe a paused channel that is due, and until when. */
  probeHolder: string | null;
  probeUntil: string | null;
  /** ETag of the row ('' when there is none yet), for `updateChannelStatus`. */
  etag: string;
}

/** A channel nobody has written anything about yet. */
export function freshChannelStatus(): ChannelStatus {
  return {
    disabled: false,
    urlFingerprint: null,
    reason: null,
    updatedAt: '',
    failures: 0,
    pausedSince: null,
    pausedUntil: null,
    probeHolder: null,
    probeUntil: null,
    etag: '',
  };
}

/** Holds one incident on one channel while one of its revisions is posted (see `beginRevision`). */
export interface RevisionToken {
  channelId: string;
  incidentId: string;
  revision: number;
  notificationId: string;
}

export type RevisionBegin =
  | { outcome: 'go'; token: RevisionToken }
  /** The channel already received this revision or a newer one (`deliveredId`: the notification that did). */
  | { outcome: 'stale'; delivered: number; deliveredId: string | null }
  /** Another revision of the incident is being posted to the channel until `until`. */
  | { outcome: 'busy'; until: Date };

export interface ListFilter {
  state?: DeliveryState;
  channelId?: string;
  notificationId?: string;
  limit?: number;
}

/** What the deliverer and the CLI need; TableDeliveryLedger is the implementation. */
export interface DeliveryLedger {
  claim(message: NotificationMessage, options: ClaimOptions): Promise<ClaimResult>;
  /** Unconditional: a receiver's acceptance is ground truth, whoever holds the row now. */
  markDelivered(token: ClaimToken, info: SettleInfo): Promise<void>;
  /** ETag-guarded; false if the row changed since the claim (then it is left alone). */
  settle(token: ClaimToken, state: Exclude<DeliveryState, 'delivered' | 'sending' | 'pending'>, info: SettleInfo): Promise<boolean>;
  /** Parks an expired claim found by another worker (ETag of the record it read). */
  parkExpired(record: DeliveryRecord, reason: string, now: Date): Promise<boolean>;
  get(channelId: string, notificationId: string): Promise<DeliveryRecord | null>;
  list(filter?: ListFilter): Promise<DeliveryRecord[]>;
  /** Sets a settled row back to `pending` for `deliveries replay`; false if it changed meanwhile. */
  resetForReplay(record: DeliveryRecord, now: Date): Promise<boolean>;
  getChannelStatus(channelId: string): Promise<ChannelStatus | null>;
  disableChannel(channelId: string, urlFingerprint: string, reason: string, now: Date): Promise<void>;
  /** Writes the channel's status if its row is unchanged since `status` was read (false otherwise). */
  updateChannelStatus(channelId: string, status: ChannelStatus, now: Date): Promise<boolean>;
  /**
   * Before posting `revision` of an incident to a channel: `stale` when the channel already has
   * that revision or a newer one, `busy` while another revision of the incident is being posted
   * there (its hold expires after `leaseMs`), otherwise `go`, holding the incident on the channel.
   */
  beginRevision(channelId: string, incidentId: string, revision: number, notificationId: string, options: { now: Date; leaseMs: number }): Promise<RevisionBegin>;
  /** After the post: raises the channel's revision of the incident if it was posted, and releases the hold. */
  endRevision(token: RevisionToken, posted: boolean, now: Date): Promise<void>;
}

// ---------------------------------------------------------------------------------------------

const CHANNEL_ROW = '~channel';
/** Rows `~rev|<incident>` in a channel's partition: the highest revision it received of an incident. */
const REVISION_ROW_PREFIX = '~rev|';
const CHUNK_CHARS = 30_000;
const MAX_CHUNKS = 12;

interface DeliveryEntityProps {
  recordType: 'delivery';
  state: DeliveryState;
  kind: string;
  attempt: number;
  leaseUntil: string;
  updatedAt: string;
  deliveredAt: string;
  reason: string;
  httpStatus: number;
  replays: number;
  chunks: number;
  [chunk: `m${number}`]: string;
}

interface RevisionEntityProps {
  recordType: 'revision';
  incidentId: string;
  /** Highest revision posted to the channel (0: none), and the notification that posted it. */
  delivered: number;
  deliveredId: string;
  /** The revision being posted now, by which notification, until when ('' / 0 when none). */
  sending: number;
  sendingId: string;
  sendingUntil: string;
  updatedAt: string;
}

interface ChannelEntityProps {
  recordType: 'channel';
  disabled: boolean;
  urlFingerprint: string;
  reason: string;
  updatedAt: string;
  failures: number;
  pausedSince: string;
  pausedUntil: string;
  probeHolder: string;
  probeUntil: string;
}

function channelEntity(status: ChannelStatus, now: Date): ChannelEntityProps {
  return {
    recordType: 'channel',
    disabled: status.disabled,
    urlFingerprint: status.urlFingerprint ?? '',
    reason: status.reason ?? '',
    updatedAt: now.toISOString(),
    failures: status.failures,
    pausedSince: status.pausedSince ?? '',
    pausedUntil: status.pausedUntil ?? '',
    probeHolder: status.probeHolder ?? '',
    probeUntil: status.probeUntil ?? '',
  };
}

function statusCode(error: unknown): number | undefined {
  const code = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof code === 'number' ? code : undefined;
}

function messageChunks(message: NotificationMessage | null): Record<string, string | number> {
  if (!message) return { chunks: 0 };
  const json = toStoredJson(message);
  const out: Record<string, string | number> = {};
  let n = 0;
  for (let i = 0; i < json.length && n < MAX_CHUNKS; i += CHUNK_CHARS, n++) out[`m${n}`] = json.slice(i, i + CHUNK_CHARS);
  out.chunks = n;
  return out;
}

function readMessage(entity: Record<string, unknown>): NotificationMessage | null {
  const chunks = typeof entity.chunks === 'number' ? entity.chunks : 0;
  if (chunks === 0) return null;
  let json = '';
  for (let i = 0; i < chunks; i++) {
    const part = entity[`m${i}`];
    if (typeof part !== 'string') return null;
    json += part;
  }
  try {
    return parseNotificationMessage(JSON.parse(json));
  } catch {
    return null;
  }
}

function toRecord(entity: TableEntityResult<Record<string, unknown>>): DeliveryRecord {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
  const num = (v: unknown, fallback: number) => (typeof v === 'number' ? v : fallback);
  const httpStatus = num(entity.httpStatus, -1);
  return {
    channelId: entity.partitionKey ?? '',
    notificationId: entity.rowKey ?? '',
    state: DELIVERY_STATES.includes(entity.state as DeliveryState) ? (entity.state as DeliveryState) : 'pending',
    kind: str(entity.kind) ?? 'unknown',
    attempt: num(entity.attempt, 1),
    leaseUntil: str(entity.leaseUntil),
    updatedAt: str(entity.updatedAt) ?? '',
    deliveredAt: str(entity.deliveredAt),
    reason: str(entity.reason),
    httpStatus: httpStatus < 0 ? null : httpStatus,
    replays: num(entity.replays, 0),
    message: readMessage(entity),
    etag: entity.etag,
  };
}

export interface TableLedgerOptions {
  allowInsecureConnection?: boolean;
}

export class TableDeliveryLedger implements DeliveryLedger {
  constructor(private readonly table: TableClient) {}

  static fromConnectionString(connectionString: string, tableName: string, options: TableLedgerOptions = {}): TableDeliveryLedger {
    return new TableDeliveryLedger(
      TableClient.fromConnectionString(connectionString, tableName, { allowInsecureConnection: options.allowInsecureConnection ?? false }),
    );
  }

  async ensureTable(): Promise<void> {
    await this.table.createTable();
  }

  private entity(
    message: NotificationMessage | null,
    key: { channelId: string; notificationId: string },
    fields: { state: DeliveryState; kind: string; attempt: number; leaseUntil?: Date | null; now: Date; deliveredAt?: string | null; reason?: string | null; httpStatus?: number | null; replays: number },
  ): TableEntity<Record<string, unknown>> {
    const props: Omit<DeliveryEntityProps, `m${number}` | 'chunks'> = {
      recordType: 'delivery',
      state: fields.state,
      kind: fields.kind,
      attempt: fields.attempt,
      leaseUntil: fields.leaseUntil ? fields.leaseUntil.toISOString() : '',
      updatedAt: fields.now.toISOString(),
      deliveredAt: fields.deliveredAt ?? '',
      reason: fields.reason ?? '',
      httpStatus: fields.httpStatus ?? -1,
      replays: fields.replays,
    };
    return { partitionKey: key.channelId, rowKey: key.notificationId, ...props, ...messageChunks(message) };
  }

  async get(channelId: string, notificationId: string): Promise<DeliveryRecord | null> {
    try {
      return toRecord(await this.table.getEntity<Record<string, unknown>>(channelId, notificationId));
    } catch (error) {
      if (statusCode(error) === 404) return null;
      throw error;
    }
  }

  async claim(message: NotificationMessage, options: ClaimOptions): Promise<ClaimResult> {
    const key = { channelId: message.channelId, notificationId: message.notificationId };
    const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
    // A few rounds: each conflict means another worker moved the row; re-read and decide again.
    for (let round = 0; round < 4; round++) {
      const existing = await this.get(key.channelId, key.notificationId);
      if (!existing) {
        const entity = this.entity(message, key, { state: 'sending', kind: message.kind, attempt: message.attempt, leaseUntil, now: options.now, replays: 0 });
        try {
          const response = await this.table.createEntity(entity);
          const record = await this.recordAfterWrite(entity, response.etag);
          return { outcome: 'claimed', token: { ...key, etag: record.etag, record }, takeover: false };
        } catch (error) {
          if (statusCode(error) === 409) continue;
          throw error;
        }
      }
      if (SETTLED_STATES.includes(existing.state)) return { outcome: 'settled', record: existing };
      let takeover = false;
      if (existing.state === 'sending') {
        const lease = existing.leaseUntil ? Date.parse(existing.leaseUntil) : 0;
        if (lease > options.now.getTime()) return { outcome: 'in-flight', record: existing, leaseUntil: new Date(lease) };
        if (!options.takeOverExpired) return { outcome: 'expired', record: existing };
        takeover = true;
      }
      const entity = this.entity(message, key, {
        state: 'sending',
        kind: message.kind,
        attempt: Math.max(message.attempt, existing.attempt),
        leaseUntil,
        now: options.now,
        replays: existing.replays,
        reason: existing.reason,
        httpStatus: existing.httpStatus,
      });
      try {
        const response = await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
        const record = await this.recordAfterWrite(entity, response.etag);
        return { outcome: 'claimed', token: { ...key, etag: record.etag, record }, takeover };
      } catch (error) {
        if (statusCode(error) === 412 || statusCode(error) === 404) continue;
        throw error;
      }
    }
    throw new Error(`ledger contention on ${key.channelId}/${key.notificationId}`);
  }

  private async recordAfterWrite(entity: TableEntity<Record<string, unknown>>, etag: string | undefined): Promise<DeliveryRecord> {
    if (etag) return toRecord({ ...entity, etag });
    const read = await this.get(entity.partitionKey, entity.rowKey);
    if (!read) throw new Error('ledger row vanished after write');
    return read;
  }

  async markDelivered(token: ClaimToken, info: SettleInfo): Promise<void> {
    const r = token.record;
    const entity = this.entity(info.message ?? r.message, token, {
      state: 'delivered',
      kind: r.kind,
      attempt: info.message?.attempt ?? r.attempt,
      now: info.now,
      deliveredAt: info.now.toISOString(),
      reason: info.reason ?? null,
      httpStatus: info.httpStatus ?? null,
      replays: r.replays,
    });
    await this.table.upsertEntity(entity, 'Replace');
  }

  async settle(token: ClaimToken, state: Exclude<DeliveryState, 'delivered' | 'sending' | 'pending'>, info: SettleInfo): Promise<boolean> {
    const r = token.record;
    const entity = this.entity(info.message ?? r.message, token, {
      state,
      kind: r.kind,
      attempt: info.message?.attempt ?? r.attempt,
      now: info.now,
      reason: info.reason ?? null,
      httpStatus: info.httpStatus ?? null,
      replays: r.replays,
    });
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: token.etag });
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404) return false;
      throw error;
    }
  }

  async parkExpired(record: DeliveryRecord, reason: string, now: Date): Promise<boolean> {
    const entity = this.entity(record.message, record, {
      state: 'parked',
      kind: record.kind,
      attempt: record.attempt,
      now,
      reason,
      httpStatus: record.httpStatus,
      replays: record.replays,
    });
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: record.etag });
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404) return false;
      throw error;
    }
  }

  async resetForReplay(record: DeliveryRecord, now: Date): Promise<boolean> {
    const message = record.message ? { ...record.message, attempt: 1, replay: true } : null;
    const entity = this.entity(message, record, {
      state: 'pending',
      kind: record.kind,
      attempt: 1,
      now,
      reason: `replay-of-${record.state}`,
      httpStatus: record.httpStatus,
      replays: record.replays + 1,
    });
    try {
      await this.table.updateEntity(entity, 'Replace', { etag: record.etag });
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 404) return false;
      throw error;
    }
  }

  async list(filter: ListFilter = {}): Promise<DeliveryRecord[]> {
    const clauses = [odata`recordType eq ${'delivery'}`];
    if (filter.state) clauses.push(odata`state eq ${filter.state}`);
    if (filter.channelId) clauses.push(odata`PartitionKey eq ${filter.channelId}`);
    if (filter.notificationId) clauses.push(odata`RowKey eq ${filter.notificationId}`);
    const out: DeliveryRecord[] = [];
    const limit = filter.limit ?? 1000;
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: clauses.join(' and ') } })) {
      out.push(toRecord(entity));
      if (out.length >= limit) break;
    }
    return out;
  }

  async getChannelStatus(channelId: string): Promise<ChannelStatus | null> {
    try {
      const e = await this.table.getEntity<Record<string, unknown>>(channelId, CHANNEL_ROW);
      const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
      return {
        disabled: e.disabled === true,
        urlFingerprint: text(e.urlFingerprint),
        reason: text(e.reason),
        updatedAt: typeof e.updatedAt === 'string' ? e.updatedAt : '',
        failures: typeof e.failures === 'number' ? e.failures : 0,
        pausedSince: text(e.pausedSince),
        pausedUntil: text(e.pausedUntil),
        probeHolder: text(e.probeHolder),
        probeUntil: text(e.probeUntil),
        etag: e.etag,
      };
    } catch (error) {
      if (statusCode(error) === 404) return null;
      throw error;
    }
  }

  async disableChannel(channelId: string, urlFingerprint: string, reason: string, now: Date): Promise<void> {
    const status: ChannelStatus = { ...freshChannelStatus(), disabled: true, urlFingerprint, reason };
    await this.table.upsertEntity({ partitionKey: channelId, rowKey: CHANNEL_ROW, ...channelEntity(status, now) }, 'Replace');
  }

  async updateChannelStatus(channelId: string, status: ChannelStatus, now: Date): Promise<boolean> {
    const entity = { partitionKey: channelId, rowKey: CHANNEL_ROW, ...channelEntity(status, now) };
    try {
      if (status.etag) await this.table.updateEntity(entity, 'Replace', { etag: status.etag });
      else await this.table.createEntity(entity);
      return true;
    } catch (error) {
      if (statusCode(error) === 412 || statusCode(error) === 409 || statusCode(error) === 404) return false;
      throw error;
    }
  }

  async beginRevision(
    channelId: string,
    incidentId: string,
    revision: number,
    notificationId: string,
    options: { now: Date; leaseMs: number },
  ): Promise<RevisionBegin> {
    const token: RevisionToken = { channelId, incidentId, revision, notificationId };
    return this.updateRevision<RevisionBegin>(token, (row) => {
      if (row.delivered >= revision) return { result: { outcome: 'stale', delivered: row.delivered, deliveredId: row.deliveredId || null } };
      const until = Date.parse(row.sendingUntil);
      if (row.sendingId && row.sendingId !== notificationId && until > options.now.getTime()) {
        return { result: { outcome: 'busy', until: new Date(until) } };
      }
      const write: RevisionEntityProps = {
        ...row,
        sending: revision,
        sendingId: notificationId,
        sendingUntil: new Date(options.now.getTime() + options.leaseMs).toISOString(),
        updatedAt: options.now.toISOString(),
      };
      return { write, result: { outcome: 'go', token } };
    });
  }

  async endRevision(token: RevisionToken, posted: boolean, now: Date): Promise<void> {
    await this.updateRevision<void>(token, (row) => {
      const ours = row.sendingId === token.notificationId;
      const raise = posted && token.revision > row.delivered;
      if (!ours && !raise) return { result: undefined };
      const write: RevisionEntityProps = {
        ...row,
        delivered: raise ? token.revision : row.delivered,
        deliveredId: raise ? token.notificationId : row.deliveredId,
        ...(ours ? { sending: 0, sendingId: '', sendingUntil: '' } : {}),
        updatedAt: now.toISOString(),
      };
      return { write, result: undefined };
    });
  }

  /**
   * Reads the incident's revision row on the channel and lets `decide` say what to return and,
   * optionally, the row to write first (ETag-guarded; a conflict reads and decides again).
   */
  private async updateRevision<T>(
    token: RevisionToken,
    decide: (row: RevisionEntityProps) => { result: T; write?: RevisionEntityProps },
  ): Promise<T> {
    const rowKey = `${REVISION_ROW_PREFIX}${escapeKey(token.incidentId)}`;
    const text = (v: unknown) => (typeof v === 'string' ? v : '');
    const count = (v: unknown) => (typeof v === 'number' ? v : 0);
    for (let round = 0; round < 6; round++) {
      let existing: TableEntityResult<Record<string, unknown>> | null = null;
      try {
        existing = await this.table.getEntity<Record<string, unknown>>(token.channelId, rowKey);
      } catch (error) {
        if (statusCode(error) !== 404) throw error;
      }
      const decision = decide({
        recordType: 'revision',
        incidentId: token.incidentId,
        delivered: count(existing?.delivered),
        deliveredId: text(existing?.deliveredId),
        sending: count(existing?.sending),
        sendingId: text(existing?.sendingId),
        sendingUntil: text(existing?.sendingUntil),
        updatedAt: text(existing?.updatedAt),
      });
      if (!decision.write) return decision.result;
      const entity = { partitionKey: token.channelId, rowKey, ...decision.write };
      try {
        if (existing) await this.table.updateEntity(entity, 'Replace', { etag: existing.etag });
        else await this.table.createEntity(entity);
        return decision.result;
      } catch (error) {
        if (statusCode(error) === 412 || statusCode(error) === 409 || statusCode(error) === 404) continue;
        throw error;
      }
    }
    throw new Error(`ledger contention on the revision of an incident on ${token.channelId}`);
  }
}

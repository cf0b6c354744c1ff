/**
 * Signed generic webhooks, per the Standard Webhooks spec: the body is the announced object
 * wrapped as `{ type, timestamp, data }` (data = the Incident, the digest, the health alert or the
 * allowlist change), and the headers are `webhook-id` (the notificationId, identical on every
 * retry so receivers can deduplicate), `webhook-timestamp` (unix seconds of this attempt) and
 * `webhook-signature` (`v1,` + base64 HMAC-SHA256 over `id.timestamp.body` with the decoded
 * `whsec_` secret). Signing takes the timestamp as an argument so it is testable and so each
 * retry is signed fresh (receivers reject stale timestamps).
 */
import { createHmac } from 'node:crypto';
import type { NotificationMessage } from './message';

export type WebhookEventType =
  | 'incident.created'
  | 'incident.updated'
  | 'incident.closed'
  | 'incident.digest'
  | 'health.alert'
  | 'allowlist.changed';

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

export interface WebhookRequest {
  body: string;
  headers: WebhookHeaders & { 'content-type': 'application/json' };
}

export function webhookEventType(message: NotificationMessage): WebhookEventType {
  switch (message.kind) {
    case 'incident':
      return `incident.${message.payload.event}`;
    case 'digest':
      return 'incident.digest';
    case 'health':
      return 'health.alert';
    case 'allowlist-change':
      return 'allowlist.changed';
  }
}

/** The exact body bytes; `timestamp` is when the announcement was made, stable across retries. */
export function webhookBody(message: NotificationMessage): string {
  const data = message.kind === 'incident' ? message.payload.incident : message.payload;
  return JSON.stringify({ type: webhookEventType(message), timestamp: message.createdAt, data });
}

export function decodeWebhookSecret(secret: string): Buffer {
  if (!secret.startsWith('whsec_')) throw new Error('webhook secret must start with whsec_');
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  if (key.length < 24 || key.length > 64) throw new Error('webhook secret must decode to 24-64 bytes');
  return key;
}

export function signWebhook(input: { id: string; timestamp: Date; body: string; secret: string }): WebhookHeaders {
  const seconds = Math.floor(input.timestamp.getTime() / 1000);
  const signature = createHmac('sha256', decodeWebhookSecret(input.secret))
    .update(`${input.id}.${seconds}.${input.body}`, 'utf8')
    .digest('base64');
  return { 'webhook-id': input.id, 'webhook-timestamp': String(seconds), 'webhook-signature': `v1,${signature}` };
}

export function buildWebhookRequest(message: NotificationMessage, secret: string, timestamp: Date): WebhookRequest {
  const body = webhookBody(message);
  const headers = signWebhook({ id: message.notificationId, timestamp, body, secret });
  return { body, headers: { ...headers, 'content-type': 'application/json' } };
}

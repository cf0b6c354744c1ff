import { Webhook } from 'standardwebhooks';
import { NOTIFICATION_MESSAGE_VERSION, incidentNotificationId, type NotificationMessage } from '../../../shared/notify/message';
import { buildWebhookRequest, decodeWebhookSecret, signWebhook, webhookBody, webhookEventType } from '../../../shared/notify/webhook';
import { incident } from '../../support/notifyFixtures';

const SECRET = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
const inc = incident();
const message: NotificationMessage = {
  version: NOTIFICATION_MESSAGE_VERSION,
  kind: 'incident',
  channelId: 'soar',
  notificationId: incidentNotificationId(inc.id, 'created', inc.revision),
  attempt: 1,
  createdAt: '2024-05-01T12:00:00.000Z',
  payload: { event: 'created', incident: inc },
};

describe('Standard Webhooks signing', () => {
  test('the body wraps the Incident as { type, timestamp, data }', () => {
    expect(JSON.parse(webhookBody(message))).toEqual({ type: 'incident.created', timestamp: '2024-05-01T12:00:00.000Z', data: inc });
    expect(webhookEventType({ ...message, payload: { event: 'updated', incident: inc } })).toBe('incident.updated');
    expect(webhookEventType({ ...message, payload: { event: 'closed', incident: inc } })).toBe('incident.closed');
  });

  test('same signature as the standardwebhooks library for a fixed timestamp', () => {
    const timestamp = new Date('2024-05-01T12:00:00.000Z');
    const body = webhookBody(message);
    const headers = signWebhook({ id: message.notificationId, timestamp, body, secret: SECRET });
    expect(headers).toEqual({
      'webhook-id': message.notificationId,
      'webhook-timestamp': String(timestamp.getTime() / 1000),
      'webhook-signature': new Webhook(SECRET).sign(message.notificationId, timestamp, body),
    });
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
  });

  test('verifies with Webhook.verify; tampering or a wrong secret fails', () => {
    const request = buildWebhookRequest(message, SECRET, new Date());
    expect(request.headers['content-type']).toBe('application/json');
    expect(new Webhook(SECRET).verify(request.body, request.headers)).toEqual(JSON.parse(request.body));
    expect(() => new Webhook(SECRET).verify(request.body.replace('high', 'low'), request.headers)).toThrow();
    const other = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
    expect(() => new Webhook(other).verify(request.body, request.headers)).toThrow();
  });

  test('a retry keeps webhook-id and body, and is signed fresh for its own timestamp', () => {
    const first = buildWebhookRequest(message, SECRET, new Date(Date.now() - 60_000));
    const retry = buildWebhookRequest({ ...message, attempt: 3 }, SECRET, new Date());
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['webhook-timestamp']).not.toBe(first.headers['webhook-timestamp']);
    expect(new Webhook(SECRET).verify(retry.body, retry.headers)).toBeTruthy();
  });

  test('secrets must be whsec_ + 24..64 bytes', () => {
    expect(decodeWebhookSecret(SECRET)).toHaveLength(32);
    expect(() => decodeWebhookSecret('0123456789abcdef0123456789abcdef')).toThrow();
    expect(() => decodeWebhookSecret(`whsec_${Buffer.alloc(8).toString('base64')}`)).toThrow();
  });

  test('health, digest and allowlist payloads are wrapped too', () => {
    const health: NotificationMessage = {
      ...message,
      kind: 'health',
      payload: { key: 'k', code: 'channel-gone', level: 'error', summary: 's', channelId: 'a', notificationId: null, at: 'now', details: {} },
    };
    expect(JSON.parse(webhookBody(health))).toMatchObject({ type: 'health.alert', data: { code: 'channel-gone' } });
    const change: NotificationMessage = {
      ...message,
      kind: 'allowlist-change',
      payload: { changeId: 'c', action: 'removed', entryId: 'e', actor: null, reason: null, signer: { subject: null, thumbprint: null }, expiresAt: null, at: 'now' },
    };
    expect(JSON.parse(webhookBody(change))).toMatchObject({ type: 'allowlist.changed', data: { entryId: 'e' } });
  });
});

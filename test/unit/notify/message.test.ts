import {
  MessageFormatError,
  NOTIFICATION_MESSAGE_VERSION,
  QUEUE_MESSAGE_MAX_CHARS,
  decodeQueueMessage,
  encodeQueueMessage,
  fitForQueue,
  incidentNotificationId,
  type IncidentMessage,
} from '../../../shared/notify/message';
import { finding, incident } from '../../support/notifyFixtures';

function messageFor(i = incident()): IncidentMessage {
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'incident',
    channelId: 'soc-teams',
    notificationId: incidentNotificationId(i.id, 'created', i.revision),
    attempt: 1,
    createdAt: '2024-05-01T12:00:00.000Z',
    payload: { event: 'created', incident: i },
  };
}

describe('queue encoding', () => {
  test('base64 JSON on the queue; decodes from base64, JSON text or the parsed object', () => {
    const m = messageFor();
    const text = encodeQueueMessage(m);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(m);
    expect(decodeQueueMessage(text)).toEqual(m);
    expect(decodeQueueMessage(JSON.stringify(m))).toEqual(m);
    expect(decodeQueueMessage(JSON.parse(JSON.stringify(m)))).toEqual(m);
  });

  test('rejects malformed messages naming the field, never quoting values', () => {
    const m = messageFor();
    const cases: Array<[unknown, RegExp]> = [
      ['not base64 at all!', /neither JSON nor base64/],
      ['{broken', /not valid JSON/],
      [[], /not a JSON object/],
      [{ ...m, version: 2 }, /version/],
      [{ ...m, kind: 'sms' }, /kind/],
      [{ ...m, channelId: '../etc' }, /channelId/],
      [{ ...m, notificationId: 'x' }, /notificationId/],
      [{ ...m, attempt: 0 }, /attempt/],
      [{ ...m, payload: { event: 'created', incident: { ...m.payload.incident, severity: 'SECRET-severity' } } }, /incident severity/],
      [{ ...m, payload: { event: 'created', incident: { ...m.payload.incident, findings: [{ commandLine: 1 }] } } }, /finding fields/],
    ];
    for (const [entry, pattern] of cases) {
      let error: unknown;
      try {
        decodeQueueMessage(entry);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MessageFormatError);
      expect((error as Error).message).toMatch(pattern);
      expect((error as Error).message).not.toContain('SECRET');
    }
  });
});

describe('fitForQueue', () => {
  test('small messages are untouched', () => {
    const m = messageFor();
    expect(fitForQueue(m)).toBe(m);
  });

  test('raw rows go first, then evidence findings; ids and counts survive', () => {
    const findings = Array.from({ length: 40 }, (_, k) => finding({ id: `f${k}`, commandLine: `cmd ${'x'.repeat(1500)}`, raw: { blob: 'r'.repeat(3000) } }));
    const m = messageFor(incident({ findings, findingCount: 40, findingIds: findings.map((f) => f.id) }));
    const fitted = fitForQueue(m) as IncidentMessage;
    const text = encodeQueueMessage(m);
    expect(text.length).toBeLessThanOrEqual(QUEUE_MESSAGE_MAX_CHARS);
    expect(fitted.payload.trimmed).toMatchObject({ rawOmitted: true, textShortened: false });
    expect(fitted.payload.trimmed!.findingsOmitted).toBeGreaterThan(0);
    expect(fitted.payload.incident.findings.every((f) => Object.keys(f.raw).length === 0)).toBe(true);
    expect(fitted.payload.incident.findingIds).toHaveLength(40);
    expect(fitted.payload.incident.findingCount).toBe(40);
    expect(fitted.notificationId).toBe(m.notificationId);
    // Deterministic: the same announcement always carries the same body.
    expect(encodeQueueMessage(m)).toBe(text);
  });

  test('absurd sizes are shortened until they fit', () => {
    const huge = 'é'.repeat(200_000);
    const m = messageFor(incident({ title: huge, reasons: Array.from({ length: 500 }, () => ({ code: 'x', text: huge.slice(0, 2000), severityDelta: 0, confidenceDelta: 0 })) }));
    const fitted = fitForQueue(m) as IncidentMessage;
    expect(fitted.payload.trimmed?.textShortened).toBe(true);
    expect(encodeQueueMessage(m).length).toBeLessThanOrEqual(QUEUE_MESSAGE_MAX_CHARS);
    expect(decodeQueueMessage(encodeQueueMessage(m)).notificationId).toBe(m.notificationId);
  });
});

/**
 * Issue #15 item 9: the `allowlist-change` announcement says exactly what was allowed. The card and
 * the webhook show every condition, the enabled flag, the expiry and a before → after diff, and
 * channels subscribe to allowlist changes unless told otherwise.
 */
import type { AllowlistChange } from '../../../shared/allowlist/notifier';
import { changePayload } from '../../../shared/app/notifications';
import { parseChannels } from '../../../shared/notify/channels';
import { NOTIFICATION_MESSAGE_VERSION, type NotificationMessage } from '../../../shared/notify/message';
import { buildTeamsPayload } from '../../../shared/notify/teamsCard';
import { webhookBody } from '../../../shared/notify/webhook';
import { textsOf } from '../../support/adaptiveCards';
import { makeEntry } from './helpers';

const before = makeEntry({ id: 'wide', conditions: { deviceName: 'ws01.contoso.com', parentProcess: 'cmd.exe' }, expiresAt: '2025-03-10T00:00:00.000Z', permanent: false, enabled: false });
const after = { ...before, conditions: { deviceName: '*.*' }, expiresAt: '2025-05-01T00:00:00.000Z', enabled: true };
const change: AllowlistChange = { action: 'update', entryId: 'wide', before, after, actor: 'mallory@contoso.com', reason: 'quiet please', at: '2025-03-01T00:00:00.000Z', override: null };

function message(): NotificationMessage {
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    channelId: 'soc',
    attempt: 1,
    createdAt: change.at,
    kind: 'allowlist-change',
    notificationId: 'ntf_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    payload: changePayload(change),
  };
}

test('the payload carries every condition, enabled, expiry, scope and the diff', () => {
  const payload = changePayload(change);
  expect(payload).toMatchObject({
    conditions: { deviceName: '*.*' },
    enabled: true,
    permanent: false,
    scope: 'global',
    expiresAt: '2025-05-01T00:00:00.000Z',
  });
  expect(payload.changes).toEqual(
    expect.arrayContaining([
      { field: 'conditions.deviceName', before: 'ws01.contoso.com', after: '*.*' },
      { field: 'conditions.parentProcess', before: 'cmd.exe', after: null },
      { field: 'enabled', before: 'false', after: 'true' },
      { field: 'expiresAt', before: '2025-03-10T00:00:00.000Z', after: '2025-05-01T00:00:00.000Z' },
    ]),
  );
});

test('the Teams card shows the conditions, the enabled flag and the diff, not "Signer subject: —"', () => {
  const built = buildTeamsPayload(message());
  const content = built.payload.attachments[0].content;
  const text = [...textsOf(content, 'TextBlock'), ...textsOf(content, 'TextRun')].join('\n');
  expect(text).toContain('Device name');
  expect(text).toContain('*.*');
  expect(text).toContain('Enabled');
  // Device names are defanged in cards (shared/notify/escape.ts): a bare domain must not become a link.
  expect(text).toMatch(/ws01\[\.\]contoso\[\.\]com\s*→\s*\*\.\*/);
  expect(text).toMatch(/Parent process.*cmd\.exe\s*→\s*\(none\)/s);
  expect(text).not.toContain('Signer subject');
});

test('the webhook body carries the same', () => {
  const body = JSON.parse(webhookBody(message())) as { data: { conditions: unknown; changes: unknown[]; enabled: boolean } };
  expect(body.data.conditions).toEqual({ deviceName: '*.*' });
  expect(body.data.enabled).toBe(true);
  expect(body.data.changes.length).toBeGreaterThanOrEqual(4);
});

test('a channel without kinds subscribes to incidents and allowlist changes', () => {
  const [channel] = parseChannels(JSON.stringify([{ id: 'soc', type: 'teams', url: 'https://prod-00.westeurope.logic.azure.com/workflows/x', minSeverity: 'medium' }]), {});
  expect(channel?.kinds).toEqual(expect.arrayContaining(['incident', 'allowlist-change']));
});

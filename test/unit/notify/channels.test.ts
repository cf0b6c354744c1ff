import {
  ChannelConfigError,
  channelFingerprint,
  channelSecrets,
  isValidWebhookSecret,
  parseChannels,
  routeAnnouncements,
  type Channel,
} from '../../../shared/notify/channels';
import { incidentNotificationId, type Announcement, type HealthPayload } from '../../../shared/notify/message';
import { incident } from '../../support/notifyFixtures';

const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const TEAMS_URL = 'https://prod-42.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=SuperSecretSig123';
const HOOK_URL = 'https://soar.example.com/hooks/codesign?token=HookToken987654';

function parseError(text: string, options = {}): ChannelConfigError {
  try {
    parseChannels(text, options);
  } catch (error) {
    if (error instanceof ChannelConfigError) return error;
    throw error;
  }
  throw new Error('expected a ChannelConfigError');
}

describe('parseChannels', () => {
  test('parses teams and webhook channels with defaults', () => {
    const channels = parseChannels(
      JSON.stringify([
        { id: 'soc-teams', type: 'teams', url: TEAMS_URL, minSeverity: 'medium' },
        { id: 'soar', type: 'webhook', url: HOOK_URL, minSeverity: 'low', secret: SECRET, kinds: ['incident', 'health', 'health'] },
      ]),
    );
    expect(channels).toEqual([
      { id: 'soc-teams', type: 'teams', url: TEAMS_URL, minSeverity: 'medium', kinds: ['incident', 'allowlist-change'] },
      { id: 'soar', type: 'webhook', url: HOOK_URL, minSeverity: 'low', secret: SECRET, kinds: ['incident', 'health'] },
    ]);
    expect(parseChannels(undefined)).toEqual([]);
    expect(parseChannels('  ')).toEqual([]);
  });

  test('collects every problem, and no message contains a url or a secret', () => {
    const bad = [
      { id: 'ok', type: 'teams', url: 'http://prod-1.logic.azure.com/workflows?sig=LeakedSig1', minSeverity: 'high' },
      { id: 'ok', type: 'webhook', url: 'https://user:Pa55word@hooks.example.com/x', minSeverity: 'high', secret: 'whsec_short' },
      { id: 'bad id!', type: 'slack', url: 'not a url SecretishText', minSeverity: 'urgent', kinds: ['incident', 'spam'] },
      { id: 'w', type: 'webhook', url: 'https://hooks.example.com/NoSecretHere', minSeverity: 'low' },
      { id: 't', type: 'teams', url: 'https://x.example.com/', minSeverity: 'low', secret: SECRET, extra: 1, 'weird key with secret whsec_zzz': 2 },
      'string',
    ];
    const error = parseError(JSON.stringify(bad));
    const text = error.message;
    expect(error.issues).toEqual([
      'channel #0 ("ok"): url must use https',
      'channel #1 ("ok"): duplicate id',
      'channel #1 ("ok"): secret must be "whsec_" followed by the base64 of 24 to 64 random bytes',
      'channel #1 ("ok"): url must not contain credentials',
      "channel #2: id must be 1-63 letters, digits, '-' or '_' (starting with a letter or digit)",
      'channel #2: type must be "teams" or "webhook"',
      'channel #2: minSeverity must be one of informational, low, medium, high',
      'channel #2: kinds must be a non-empty array of incident, health, allowlist-change',
      'channel #3 ("w"): a webhook channel needs a secret',
      'channel #4 ("t"): unknown key "extra"',
      'channel #4 ("t"): unknown key a key with an unexpected name',
      'channel #4 ("t"): a teams channel takes no secret (Teams does not verify signatures)',
      'channel #5: must be an object',
    ]);
    for (const leak of ['LeakedSig1', 'Pa55word', 'SecretishText', 'NoSecretHere', 'whsec_short', SECRET, 'whsec_zzz', 'logic.azure.com']) {
      expect(text).not.toContain(leak);
    }
  });

  test('invalid JSON is reported without quoting the input', () => {
    const error = parseError(`[{"id":"x","url":"https://a.example/?sig=SecretInBrokenJson" oops`);
    expect(error.message).toMatch(/not valid JSON/);
    expect(error.message).not.toContain('SecretInBrokenJson');
    expect(parseError('{"id":"x"}').issues).toEqual(['the setting must be a JSON array of channels']);
  });

  test('http loopback only with allowLoopbackForTests; folder only with allowFolder', () => {
    const loop = JSON.stringify([{ id: 'l', type: 'teams', url: 'http://127.0.0.1:8080/x', minSeverity: 'low' }]);
    expect(() => parseChannels(loop)).toThrow(ChannelConfigError);
    expect(parseChannels(loop, { allowLoopbackForTests: true })).toHaveLength(1);
    const notLoop = JSON.stringify([{ id: 'l', type: 'teams', url: 'http://10.0.0.1/x', minSeverity: 'low' }]);
    expect(() => parseChannels(notLoop, { allowLoopbackForTests: true })).toThrow(ChannelConfigError);
    const folder = JSON.stringify([{ id: 'demo', type: 'folder', dir: './demo-out', minSeverity: 'informational' }]);
    expect(() => parseChannels(folder)).toThrow(/type must be "teams" or "webhook"/);
    expect(parseChannels(folder, { allowFolder: true })).toEqual([
      { id: 'demo', type: 'folder', dir: './demo-out', minSeverity: 'informational', kinds: ['incident', 'allowlist-change'], secret: null },
    ]);
  });

  test('webhook secrets: whsec_ + base64 of 24..64 bytes', () => {
    expect(isValidWebhookSecret(SECRET)).toBe(true);
    expect(isValidWebhookSecret(`whsec_${Buffer.alloc(24).toString('base64')}`)).toBe(true);
    expect(isValidWebhookSecret(`whsec_${Buffer.alloc(23).toString('base64')}`)).toBe(false);
    expect(isValidWebhookSecret(`whsec_${Buffer.alloc(65).toString('base64')}`)).toBe(false);
    expect(isValidWebhookSecret(Buffer.alloc(32).toString('base64'))).toBe(false);
    expect(isValidWebhookSecret('whsec_not*base64')).toBe(false);
  });

  test('channelSecrets lists urls, their query and path, and secrets; fingerprints differ per url', () => {
    const [teams, hook] = parseChannels(
      JSON.stringify([
        { id: 'a', type: 'teams', url: TEAMS_URL, minSeverity: 'low' },
        { id: 'b', type: 'webhook', url: HOOK_URL, minSeverity: 'low', secret: SECRET },
      ]),
    ) as [Channel, Channel];
    const secrets = channelSecrets([teams, hook]);
    for (const s of [TEAMS_URL, 'SuperSecretSig123', HOOK_URL, 'HookToken987654', SECRET, '/hooks/codesign']) expect(secrets).toContain(s);
    expect(channelFingerprint(teams)).not.toBe(channelFingerprint(hook));
    expect(channelFingerprint(teams)).not.toContain('SuperSecretSig123');
  });
});

describe('routeAnnouncements', () => {
  const now = new Date('2024-05-01T12:00:00.000Z');
  const channels = parseChannels(
    JSON.stringify([
      { id: 'teams-high', type: 'teams', url: TEAMS_URL, minSeverity: 'high' },
      { id: 'teams-all', type: 'teams', url: TEAMS_URL, minSeverity: 'informational', kinds: ['incident', 'allowlist-change'] },
      { id: 'soar', type: 'webhook', url: HOOK_URL, minSeverity: 'low', secret: SECRET, kinds: ['incident', 'health'] },
    ]),
  );
  const high = incident({ id: 'inc-high', severity: 'high' });
  const low = incident({ id: 'inc-low', severity: 'low' });
  const info = incident({ id: 'inc-info', severity: 'informational' });
  const health: HealthPayload = {
    key: 'hunt-unhealthy|t1',
    code: 'hunt-unhealthy',
    level: 'error',
    summary: 'x',
    channelId: null,
    notificationId: null,
    at: now.toISOString(),
    details: {},
  };

  test('by minimum severity, one message per incident per channel, with stable ids', () => {
    const mintedAt = '2024-05-01T11:59:00.000Z';
    const announcements: Announcement[] = [high, low, info].map((i) => ({ kind: 'incident', event: 'created', incident: i, mintedAt }));
    const messages = routeAnnouncements(announcements, channels);
    expect(messages.map((m) => `${m.channelId}:${m.kind === 'incident' ? m.payload.incident.id : m.kind}`)).toEqual([
      'teams-high:inc-high',
      'teams-all:inc-high',
      'teams-all:inc-low',
      'teams-all:inc-info',
      'soar:inc-high',
      'soar:inc-low',
    ]);
    const first = messages[0]!;
    // createdAt is when the revision was minted, not when it was routed.
    expect(first).toMatchObject({ version: 1, attempt: 1, createdAt: mintedAt });
    expect(first.notificationId).toBe(incidentNotificationId('inc-high', 'created', high.revision));
    // Re-announcing the same revision (a re-run after a crash) gives the same messages, byte for byte.
    const again = routeAnnouncements(announcements, channels);
    expect(again).toEqual(messages);
    // The id is the revision's: more findings under the same revision cannot change it.
    expect(routeAnnouncements([{ ...announcements[0]!, incident: { ...high, findingCount: 9 } } as Announcement], channels)[0]!.notificationId).toBe(
      first.notificationId,
    );
    expect(incidentNotificationId('inc-high', 'created', 2)).not.toBe(first.notificationId);
    expect(incidentNotificationId('inc-high', 'updated', 1)).not.toBe(first.notificationId);
  });

  test('health and allowlist changes only to channels that list them', () => {
    const messages = routeAnnouncements(
      [
        { kind: 'health', health },
        {
          kind: 'allowlist-change',
          change: { changeId: 'c1', action: 'added', entryId: 'e1', actor: 'bob', reason: null, signer: { subject: null, thumbprint: null }, expiresAt: null, at: now.toISOString() },
        },
      ],
      channels,
    );
    // teams-high lists no kinds: by default it gets incidents and allowlist changes (issue #15 item 9).
    expect(messages.map((m) => `${m.channelId}:${m.kind}`)).toEqual(['teams-high:allowlist-change', 'teams-all:allowlist-change', 'soar:health']);
    // Their createdAt is their own time; a health alert's id covers one raise (key and time).
    expect(messages.map((m) => m.createdAt)).toEqual([now.toISOString(), now.toISOString(), now.toISOString()]);
    const later = routeAnnouncements([{ kind: 'health', health: { ...health, at: '2030-01-01T00:00:00.000Z' } }], channels);
    expect(later[0]!.notificationId).not.toBe(messages[2]!.notificationId);
    expect(routeAnnouncements([{ kind: 'health', health }], channels, { excludeChannelIds: ['soar'] })).toEqual([]);
  });

  test('above the digest threshold a Teams channel gets one digest; webhooks still get every incident', () => {
    const many: Announcement[] = Array.from({ length: 12 }, (_, k) => ({
      kind: 'incident',
      event: 'created',
      incident: incident({ id: `i${k}`, severity: 'high' }),
      mintedAt: `2024-05-01T12:${String(k).padStart(2, '0')}:00.000Z`,
    }));
    const messages = routeAnnouncements(many, channels, { digestThreshold: 10 });
    const byChannel = (id: string) => messages.filter((m) => m.channelId === id);
    expect(byChannel('teams-high').map((m) => m.kind)).toEqual(['digest']);
    expect(byChannel('teams-all').map((m) => m.kind)).toEqual(['digest']);
    expect(byChannel('soar')).toHaveLength(12);
    const digest = byChannel('teams-high')[0]!;
    expect(digest.kind === 'digest' && digest.payload.total).toBe(12);
    // The digest's time is its newest item's mint time, so the same items make the same body.
    expect(digest.createdAt).toBe('2024-05-01T12:11:00.000Z');
    // Exactly at the threshold: individual cards.
    expect(routeAnnouncements(many.slice(0, 10), channels, { digestThreshold: 10 }).filter((m) => m.kind === 'digest')).toEqual([]);
    // Same set → same digest id, whatever the order.
    const reversed = routeAnnouncements([...many].reverse(), channels, { digestThreshold: 10 });
    expect(reversed.find((m) => m.kind === 'digest')?.notificationId).toBe(digest.notificationId);
  });
});

import fc from 'fast-check';
import type { Incident } from '../../../shared/model/incident';
import {
  NOTIFICATION_MESSAGE_VERSION,
  buildDigestPayload,
  incidentNotificationId,
  type AllowlistChangePayload,
  type HealthPayload,
  type NotificationMessage,
} from '../../../shared/notify/message';
import { TEAMS_CARD_MAX_BYTES, buildTeamsPayload, type TeamsWorkflowPayload } from '../../../shared/notify/teamsCard';
import { adaptiveCardProblems, cardTypes, textsOf } from '../../support/adaptiveCards';
import { HOSTILE, finding, hostileIncident, incident, incidentArb } from '../../support/notifyFixtures';

const base = { version: NOTIFICATION_MESSAGE_VERSION, channelId: 'soc-teams', attempt: 1, createdAt: '2024-05-01T12:00:00.000Z' } as const;

function incidentMessage(i: Incident): NotificationMessage {
  return { ...base, kind: 'incident', notificationId: incidentNotificationId(i.id, 'created', i.revision), payload: { event: 'created', incident: i } };
}

function healthMessage(overrides: Partial<HealthPayload> = {}): NotificationMessage {
  return {
    ...base,
    kind: 'health',
    notificationId: 'ntf_0123456789abcdef0123456789abcdef',
    payload: {
      key: 'k',
      code: 'channel-gone',
      level: 'error',
      summary: 'The channel answered 410 Gone and is now disabled.',
      channelId: 'soc-teams',
      notificationId: 'ntf_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
      at: '2024-05-01T12:00:00.000Z',
      details: { reason: 'http-410', attempts: 1, final: true, none: null },
      ...overrides,
    },
  };
}

function allowlistMessage(overrides: Partial<AllowlistChangePayload> = {}): NotificationMessage {
  return {
    ...base,
    kind: 'allowlist-change',
    notificationId: 'ntf_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
    payload: {
      changeId: 'c1',
      action: 'added',
      entryId: 'al-42',
      actor: 'bob@contoso.com',
      reason: 'Build server test certificate',
      signer: { subject: 'CN=Contoso Build', thumbprint: 'A1B2' },
      expiresAt: '2024-08-01T00:00:00.000Z',
      at: '2024-05-01T12:00:00.000Z',
      ...overrides,
    },
  };
}

const ALLOWED_TYPES = new Set(['AdaptiveCard', 'Container', 'TextBlock', 'RichTextBlock', 'TextRun', 'Action.OpenUrl']);

/** The checks every card must pass, whatever went in. */
function expectSafeValidCard(payload: TeamsWorkflowPayload, bytes: number): void {
  expect(bytes).toBe(Buffer.byteLength(JSON.stringify(payload), 'utf8'));
  expect(bytes).toBeLessThan(TEAMS_CARD_MAX_BYTES);
  expect(payload.type).toBe('message');
  expect(payload.attachments).toHaveLength(1);
  const attachment = payload.attachments[0];
  expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
  expect(attachment.contentUrl).toBeNull();
  expect(attachment.content.version).toBe('1.5');
  expect(adaptiveCardProblems(attachment.content)).toEqual([]);
  for (const type of cardTypes(attachment.content)) expect(ALLOWED_TYPES).toContain(type);
  expect(JSON.stringify(attachment.content)).not.toContain('"entities"');
  const texts = [...textsOf(attachment.content, 'TextBlock'), ...textsOf(attachment.content, 'TextRun')];
  for (const t of texts) expect(t).not.toContain('://');
  for (const a of attachment.content.actions ?? []) expect(a.url).toMatch(/^https:\/\//);
}

describe('incident card', () => {
  test('Workflows payload with severity, title, facts, command line, reasons, ATT&CK and actions', () => {
    const { payload, bytes, level } = buildTeamsPayload(incidentMessage(incident({ revision: 3 })));
    expectSafeValidCard(payload, bytes);
    expect(level).toBe(0);
    const content = payload.attachments[0].content;
    const all = [...textsOf(content, 'TextBlock'), ...textsOf(content, 'TextRun')].join('\n');
    for (const expected of [
      'HIGH severity · high confidence · new incident · revision 3',
      'Self-signed code-signing certificate created and used on ws-build-01',
      'ws-build-01.contoso.local',
      'CONTOSO\\alice',
      '2024-05-01 10:00:00 UTC to 2024-05-01 10:05:00 UTC (2 steps)',
      // The story as a timeline: step, time, tool and action, what it touched.
      'The story in 2 steps',
      '10:00:00 UTC · ',
      'makecert / create-cert',
      '10:05:00 UTC · ',
      'signtool / sign',
      'payload.exe',
      'CN=Contoso Code Signing',
      'A1B2C3D4E5F60718293A4B5C6D7E8F9011223344',
      'c.pfx, payload.exe',
      'makecert.exe -r -pe -n "CN=Contoso Code Signing"',
      'The certificate is made for code signing',
      'T1587.002 Develop Capabilities: Code Signing Certificates · T1553.002 Subvert Trust Controls: Code Signing',
      'Chain: a certificate was created',
    ]) {
      expect(all).toContain(expected);
    }
    expect(content.actions?.map((a) => a.title)).toEqual(['Open device in Defender', 'Open hunting query', 'Allowlist this signer']);
  });

  test('a one-step story says "1 step"', () => {
    const one = incident({ findingCount: 1, findings: incident().findings.slice(0, 1) });
    const content = buildTeamsPayload(incidentMessage(one)).payload.attachments[0].content;
    const all = [...textsOf(content, 'TextBlock'), ...textsOf(content, 'TextRun')].join('\n');
    expect(all).toContain('The story in 1 step');
    expect(all).toContain('(1 step)');
    expect(all).not.toContain('1 steps');
  });

  test('a chain incident says how creation and use were linked', () => {
    const i = incident({ chainLink: { linkedBy: 'thumbprint', createdFindingIds: [], usedFindingIds: [], mergedIncidentIds: [] } });
    const blocks = textsOf(buildTeamsPayload(incidentMessage(i)).payload.attachments[0].content, 'TextBlock');
    expect(blocks).toContain('Chain: a certificate was created and then used on the same device, T1587.002 then T1553.002, linked by thumbprint');
  });

  test('null and non-https links are skipped', () => {
    const i = incident({ links: { device: null, huntingQuery: 'javascript:alert(1)', allowlistSigner: 'https://ok.example/a' } });
    const { payload } = buildTeamsPayload(incidentMessage(i));
    expect(payload.attachments[0].content.actions).toEqual([{ type: 'Action.OpenUrl', title: 'Allowlist this signer', url: 'https://ok.example/a' }]);
    const none = buildTeamsPayload(incidentMessage(incident({ links: { device: null, huntingQuery: null, allowlistSigner: null } })));
    expect(none.payload.attachments[0].content.actions).toBeUndefined();
    expectSafeValidCard(none.payload, none.bytes);
  });

  test.each(Object.entries(HOSTILE))('hostile text (%s) stays inert: only in TextRuns, neutralized', (_name, text) => {
    const { payload, bytes } = buildTeamsPayload(incidentMessage(hostileIncident(text)));
    expectSafeValidCard(payload, bytes);
    const content = payload.attachments[0].content;
    // TextBlocks (markdown-processed) carry only our labels: no hostile fragment reaches them.
    for (const block of textsOf(content, 'TextBlock')) {
      for (const fragment of ['click', 'evil', 'Security Team', 'bold', 'onerror', 'invoice', 'Heading', 'DATE', 'hidden', 'surrogate']) {
        expect(block).not.toContain(fragment);
      }
    }
    const runs = textsOf(content, 'TextRun').join('\n');
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(runs).not.toMatch(/[\u202a-\u202e\u200b-\u200f\ufeff\u0000-\u0008]/u);
  });

  test('specific hostile renderings', () => {
    const runsFor = (text: string) => textsOf(buildTeamsPayload(incidentMessage(hostileIncident(text))).payload.attachments[0].content, 'TextRun').join('\n');
    expect(runsFor(HOSTILE.link)).toContain('[click](https[:]//evil.example/phish)');
    expect(runsFor(HOSTILE.rtl)).toContain('invoice[U+202E]exe.pdf');
    expect(runsFor(HOSTILE.url)).toContain('www[.]evil.example');
    // Mentions need msteams.entities, which are never emitted; the text is shown as typed.
    expect(runsFor(HOSTILE.mention)).toContain('<at>Security Team</at>');
  });

  test('a huge command line is cut and the card says evidence is missing', () => {
    const i = incident({ findings: [finding({ commandLine: `powershell -enc ${'A'.repeat(200_000)}` })], findingCount: 1 });
    const { payload, bytes, level } = buildTeamsPayload(incidentMessage(i));
    expectSafeValidCard(payload, bytes);
    const runs = textsOf(payload.attachments[0].content, 'TextRun').join('\n');
    expect(runs).toMatch(/… \(\+\d+ chars\)/);
    expect(level).toBe(0); // 3000 code points of ASCII fit: nothing else had to go
  });

  test('cuts file names and timeline lines first, then the command line', () => {
    const files = Array.from({ length: 10 }, (_, k) => `${'f'.repeat(120)}${k}.pfx`);
    const primary = finding({ severity: 'high', commandLine: `certutil -addstore Root ${'界'.repeat(3000)}`, certificate: { subject: 'CN=x', thumbprint: null, files: [], store: null, codeSigningEku: true } });
    const others = Array.from({ length: 8 }, (_, k) =>
      finding({ id: `f${k}`, severity: 'low', tool: k % 2 ? 'signtool' : 'certutil', action: k % 2 ? 'sign' : 'import-store', timestamp: `2024-05-01T10:0${k + 1}:00.000Z`, signedFiles: [`${'😀'.repeat(280)}${k}.exe`], certificate: { subject: null, thumbprint: null, files: [`${'😀'.repeat(280)}${k}.cer`], store: null, codeSigningEku: false } }),
    );
    const story = { actor: 'contoso\\alice', fileCount: 40, files, previousIncidentId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' };
    const build = (findings: typeof others) => buildTeamsPayload(incidentMessage(incident({ findings, findingCount: findings.length, story })));

    // Full detail is over 20 KB: file names and timeline lines go first; the whole command line stays.
    const first = build([primary, ...others]);
    expectSafeValidCard(first.payload, first.bytes);
    let content = first.payload.attachments[0].content;
    expect(first.level).toBeGreaterThan(0);
    let runs = textsOf(content, 'TextRun').join('\n');
    expect(runs).toContain('界'.repeat(2970));
    expect(runs).toContain('a1b2c3d4e5f60718293a4b5c6d7e8f90');
    expect(textsOf(content, 'TextBlock').join('\n')).toContain('The story in 9 steps');
    expect(textsOf(content, 'TextBlock').join('\n')).toMatch(/and \d+ more steps/);

    // With a command line that alone nearly fills the card, the timeline and the file names are
    // gone and the command line is cut last.
    const huge = finding({ ...primary, commandLine: `certutil ${'😀'.repeat(6000)}`, decodedCommand: '😀'.repeat(6000) });
    const second = build([huge, ...others]);
    expectSafeValidCard(second.payload, second.bytes);
    content = second.payload.attachments[0].content;
    runs = textsOf(content, 'TextRun').join('\n');
    expect(textsOf(content, 'TextBlock').join('\n')).not.toContain('The story in');
    expect(runs).not.toContain('.pfx');
    expect(runs).toMatch(/(😀){500,}… \(\+\d+ chars\)/u);
    expect(runs).not.toMatch(/(😀){3000}/u);
    expect(textsOf(content, 'TextBlock').join('\n')).toContain('Some evidence is not shown here');
  });

  test('repeated work is one timeline line with a count; a long story says how many steps are not shown', () => {
    const signs = Array.from({ length: 30 }, (_, k) =>
      finding({ id: `s${k}`, tool: 'signtool', action: 'sign', timestamp: `2024-05-01T10:${String(10 + k).padStart(2, '0')}:00.000Z`, signedFiles: [`Lib${k}.dll`], signedFile: `Lib${k}.dll` }),
    );
    const i = incident({ findings: [finding(), ...signs], findingCount: 31 });
    const content = buildTeamsPayload(incidentMessage(i)).payload.attachments[0].content;
    const runs = textsOf(content, 'TextRun').join('\n');
    expect(runs).toContain('signtool / sign ×30');
    expect(runs).toContain('Lib0.dll');
    expect(runs).toContain(' and 29 more');
    const trimmed = incident({ findings: [finding()], findingCount: 31 });
    expect(textsOf(buildTeamsPayload(incidentMessage(trimmed)).payload.attachments[0].content, 'TextBlock').join('\n')).toContain('and 30 more steps');
  });

  test('every level-0 section is present for a small incident and the note is absent', () => {
    const i = incident({ findings: [finding()], findingCount: 1 });
    const { payload } = buildTeamsPayload(incidentMessage(i));
    expect(textsOf(payload.attachments[0].content, 'TextBlock').join('\n')).not.toContain('Some evidence is not shown');
  });

  test('fuzzed incidents: always valid in the official renderer, inert, and under 20 KB', () => {
    fc.assert(
      fc.property(incidentArb, (i) => {
        const { payload, bytes } = buildTeamsPayload(incidentMessage(i));
        expectSafeValidCard(payload, bytes);
      }),
      { numRuns: 100 },
    );
  });
});

describe('digest, health and allowlist-change cards', () => {
  test('digest of 60 incidents: counts by severity, most severe first, the rest counted', () => {
    const incidents = Array.from({ length: 60 }, (_, k) =>
      incident({ id: `inc${k}`, title: `Incident ${k}`, severity: k % 7 === 0 ? 'high' : 'low', lastSeen: `2024-05-01T10:${String(k % 60).padStart(2, '0')}:00.000Z` }),
    );
    const payload = buildDigestPayload(incidents.map((incident) => ({ event: 'created' as const, incident })));
    expect(payload.total).toBe(60);
    expect(payload.bySeverity).toEqual({ informational: 0, low: 51, medium: 0, high: 9 });
    expect(payload.items[0]?.severity).toBe('high');
    const built = buildTeamsPayload({ ...base, kind: 'digest', notificationId: 'ntf_cccccccccccccccccccccccccccccccc', payload });
    expectSafeValidCard(built.payload, built.bytes);
    const content = built.payload.attachments[0].content;
    const blocks = textsOf(content, 'TextBlock').join('\n');
    expect(blocks).toContain('60 incidents in this hunting cycle');
    expect(blocks).toContain('High 9 · Medium 0 · Low 51 · Informational 0');
    expect(blocks).toMatch(/and \d+ more incidents/);
  });

  test('digest groups stories by device, the most severe device first, its top stories listed', () => {
    const incidents = [
      incident({ id: 'a1', title: 'Build signing', severity: 'low', device: { id: 'd1', name: 'ci-win-03' } }),
      incident({ id: 'b1', title: 'Word macro chain', severity: 'high', device: { id: 'd2', name: 'ws-fin-0412' } }),
      ...Array.from({ length: 5 }, (_, k) => incident({ id: `a${k + 2}`, title: `Build ${k}`, severity: 'low', device: { id: 'd1', name: 'ci-win-03' } })),
      incident({ id: 'c1', title: 'Root import', severity: 'medium', device: { id: 'd3', name: 'srv-app-07' } }),
    ];
    const payload = buildDigestPayload(incidents.map((incident) => ({ event: 'created' as const, incident })));
    const built = buildTeamsPayload({ ...base, kind: 'digest', notificationId: 'ntf_eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee', payload });
    expectSafeValidCard(built.payload, built.bytes);
    const runs = textsOf(built.payload.attachments[0].content, 'TextRun');
    const devices = runs.filter((t) => ['ci-win-03', 'ws-fin-0412', 'srv-app-07'].includes(t));
    expect(devices).toEqual(['ws-fin-0412', 'srv-app-07', 'ci-win-03']);
    expect(runs).toContain(' · 6 stories');
    expect(textsOf(built.payload.attachments[0].content, 'TextBlock')).toContain('and 3 more on this device');
  });

  test('fuzzed digests stay valid and small', () => {
    fc.assert(
      fc.property(fc.array(incidentArb, { minLength: 11, maxLength: 60 }), (incidents) => {
        const payload = buildDigestPayload(incidents.map((incident) => ({ event: 'updated' as const, incident })));
        const built = buildTeamsPayload({ ...base, kind: 'digest', notificationId: 'ntf_dddddddddddddddddddddddddddddddd', payload });
        expectSafeValidCard(built.payload, built.bytes);
      }),
      { numRuns: 15 },
    );
  });

  test('health card', () => {
    const built = buildTeamsPayload(healthMessage());
    expectSafeValidCard(built.payload, built.bytes);
    const runs = textsOf(built.payload.attachments[0].content, 'TextRun').join('\n');
    expect(runs).toContain('channel-gone');
    expect(runs).toContain('410 Gone');
    const hostile = buildTeamsPayload(healthMessage({ summary: HOSTILE.link.repeat(2000), code: HOSTILE.url, details: { [HOSTILE.bold]: HOSTILE.mention } }));
    expectSafeValidCard(hostile.payload, hostile.bytes);
  });

  test('allowlist-change card', () => {
    const built = buildTeamsPayload(allowlistMessage());
    expectSafeValidCard(built.payload, built.bytes);
    const content = built.payload.attachments[0].content;
    expect(textsOf(content, 'TextBlock')).toContain('Allowlist entry added');
    expect(textsOf(content, 'TextRun').join('\n')).toContain('CN=Contoso Build');
    const hostile = buildTeamsPayload(allowlistMessage({ reason: 'x'.repeat(100_000), actor: HOSTILE.link, signer: { subject: HOSTILE.rtl, thumbprint: null } }));
    expectSafeValidCard(hostile.payload, hostile.bytes);
  });
});

/**
 * Why a row was selected and flagged, on the row (issue 12.4): the query's
 * InitiatingProcessParentFileName and DecodedCommand reach the Finding, the Teams card and the
 * webhook payload, so a triager sees them without re-running anything.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { incidentNotificationId, NOTIFICATION_MESSAGE_VERSION, type NotificationMessage } from '../../../shared/notify/message';
import { buildTeamsPayload } from '../../../shared/notify/teamsCard';
import { webhookBody } from '../../../shared/notify/webhook';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { textsOf } from '../../support/adaptiveCards';
import { incident } from '../../support/notifyFixtures';

const positive = JSON.parse(readFileSync(join(__dirname, '../../../rules/t1587-002/fixtures/positive.json'), 'utf8')) as {
  schema: { name: string; type: string }[];
  results: Record<string, unknown>[];
};
const { findings } = normaliseResults(positive, { ruleId: 't1587-002' });

test('the Finding carries the grandparent and the decoded payload the query projected', () => {
  const encodedRow = positive.results.find((r) => String(r.ProcessCommandLine).includes(' -Enc '))!;
  const encoded = findings.find((f) => f.commandLine === encodedRow.ProcessCommandLine)!;
  expect(encodedRow.DecodedCommand).not.toBe('');
  expect(encoded.decodedCommand).toBe(encodedRow.DecodedCommand);
  expect(encoded.parent).toMatchObject({ fileName: 'winword.exe' });
  for (const [i, row] of positive.results.entries()) {
    expect(findings[i]!.parent.parentFileName).toBe(row.InitiatingProcessParentFileName === '' ? null : row.InitiatingProcessParentFileName);
  }
});

test('the Teams card shows the parent with its own parent, and the webhook payload carries both fields', () => {
  const throughShell = findings.find((f) => f.parent.fileName === 'cmd.exe' && f.parent.parentFileName === 'winword.exe')!;
  expect(throughShell).toBeDefined();
  const i = incident({ findings: [throughShell] });
  const message: NotificationMessage = {
    version: NOTIFICATION_MESSAGE_VERSION,
    channelId: 'soc',
    attempt: 1,
    createdAt: '2024-05-14T08:10:00.000Z',
    kind: 'incident',
    notificationId: incidentNotificationId(i.id, 'created', i.revision),
    payload: { event: 'created', incident: i },
  };
  const card = buildTeamsPayload(message).payload.attachments[0].content;
  const texts = textsOf(card, 'TextRun').join('\n');
  expect(texts).toContain('Parent process: ');
  expect(texts).toContain('cmd.exe, started by winword.exe');
  const body = JSON.parse(webhookBody(message)) as { data: { findings: { parent: { parentFileName: string }; decodedCommand: string | null }[] } };
  expect(body.data.findings[0]!.parent.parentFileName).toBe('winword.exe');
  expect(body.data.findings[0]).toHaveProperty('decodedCommand');
});

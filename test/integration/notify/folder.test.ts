import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { parseChannels, type FolderChannel } from '../../../shared/notify/channels';
import { writeFolderDelivery } from '../../../shared/notify/localFolderSender';
import { jsonForScript, readFolderCards, renderCardsHtml, writeCardsPreview } from '../../../shared/notify/preview';
import { buildTeamsPayload, type TeamsWorkflowPayload } from '../../../shared/notify/teamsCard';
import { adaptiveCardProblems } from '../../support/adaptiveCards';
import { WEBHOOK_SECRET, incidentMessage } from '../../support/deliveryHarness';
import { HOSTILE, hostileIncident } from '../../support/notifyFixtures';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codesign-folder-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function folderChannel(secret: string | null): FolderChannel {
  const [channel] = parseChannels(JSON.stringify([{ id: 'demo', type: 'folder', dir, minSeverity: 'low', ...(secret ? { secret } : {}) }]), { allowFolder: true });
  return channel as FolderChannel;
}

describe('folder channel and card preview', () => {
  test('writes the exact Teams payload and a verifiable signed webhook', async () => {
    const message = incidentMessage('demo');
    const files = await writeFolderDelivery(folderChannel(WEBHOOK_SECRET), message, new Date());
    const teamsText = await readFile(files.teamsPath, 'utf8');
    expect(teamsText).toBe(JSON.stringify(buildTeamsPayload(message).payload));
    expect(files.teamsPath).toBe(join(dir, 'teams', `${message.notificationId}.json`));
    const webhook = JSON.parse(await readFile(files.webhookPath, 'utf8')) as { headers: Record<string, string>; body: string };
    expect(new Webhook(WEBHOOK_SECRET).verify(webhook.body, webhook.headers)).toMatchObject({ type: 'incident.created' });
    // Rewriting the same notification replaces the files (a replay cannot duplicate).
    await writeFolderDelivery(folderChannel(WEBHOOK_SECRET), message, new Date());
    expect(await readFolderCards(dir)).toHaveLength(1);
  });

  test('without a secret the webhook file has id and timestamp but no signature', async () => {
    const files = await writeFolderDelivery(folderChannel(null), incidentMessage('demo'), new Date());
    const webhook = JSON.parse(await readFile(files.webhookPath, 'utf8')) as { headers: Record<string, string> };
    expect(Object.keys(webhook.headers).sort()).toEqual(['content-type', 'webhook-id', 'webhook-timestamp']);
  });

  test('cards.html inlines the official renderer and embeds hostile cards inertly', async () => {
    const hostile = incidentMessage('demo', { ...hostileIncident(`</script><script>alert(1)</script>${HOSTILE.mention}\u2028`), id: 'inc-hostile' });
    await writeFolderDelivery(folderChannel(null), hostile, new Date());
    await writeFolderDelivery(folderChannel(null), incidentMessage('demo'), new Date());
    const path = await writeCardsPreview(dir);
    expect(path).toBe(join(dir, 'cards.html'));
    const html = await readFile(path, 'utf8');
    expect(html).toContain('Content-Security-Policy');
    expect(html).toContain('e.AdaptiveCards=t()'); // the renderer bundle is inline (works offline)
    expect(html).not.toMatch(/<script src=/);
    // Only our three script elements open and close; the hostile text cannot end one.
    expect(html.match(/<script/gi)).toHaveLength(3);
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    expect(html).not.toContain('<at>');
    const data = /<script type="application\/json" id="card-data">([\s\S]*?)<\/script>/.exec(html)?.[1];
    const cards = JSON.parse(data ?? 'null') as Array<{ title: string; payload: TeamsWorkflowPayload }>;
    expect(cards).toHaveLength(2);
    for (const card of cards) expect(adaptiveCardProblems(card.payload.attachments[0].content)).toEqual([]);
    // The page's own script compiles (it runs in the browser; no DOM here).
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? '');
    expect(scripts).toHaveLength(2);
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    for (const script of scripts) expect(() => new Function(script)).not.toThrow();
  });

  test('jsonForScript escapes what could end or confuse a script element', () => {
    const text = jsonForScript({ a: '</script><!-- & \u2028' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ a: '</script><!-- & \u2028' });
    expect(renderCardsHtml([], 'var x = "</script>";')).toContain('var x = "<\\/script>";');
  });
});

/**
 * The demo's `folder` channel: instead of posting, writes exactly what would be posted, so the
 * demo runs offline and a reader can inspect it:
 *   <dir>/teams/<notificationId>.json     the Workflows payload, byte for byte
 *   <dir>/webhooks/<notificationId>.json  { headers, body } with the Standard Webhooks headers
 *                                         (signed when the channel has a secret) and the exact body
 * Files are written atomically (temp file + rename) and rewriting the same notification replaces
 * the file, so a replay cannot produce a duplicate. Production settings do not allow this type.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { FolderChannel } from './channels';
import { NOTIFICATION_ID_PATTERN, type NotificationMessage } from './message';
import { buildTeamsPayload } from './teamsCard';
import { buildWebhookRequest, webhookBody } from './webhook';

export interface FolderDeliveryFiles {
  teamsPath: string;
  webhookPath: string;
  cardBytes: number;
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temp, content, 'utf8');
  await rename(temp, path);
}

/**
 * Removes the notifications an earlier run wrote into `dir` (only files named as this sender names
 * them; anything else a person put there stays), so that the folder, and the preview made from it,
 * show one run's notifications rather than a mix of runs.
 */
export async function clearFolderDeliveries(dir: string): Promise<number> {
  let removed = 0;
  for (const sub of ['teams', 'webhooks']) {
    const names = await readdir(join(dir, sub)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [] as string[];
      throw error;
    });
    for (const name of names) {
      if (!name.endsWith('.json') || !NOTIFICATION_ID_PATTERN.test(name.slice(0, -'.json'.length))) continue;
      await rm(join(dir, sub, name), { force: true });
      removed++;
    }
  }
  return removed;
}

export async function writeFolderDelivery(
  channel: FolderChannel,
  message: NotificationMessage,
  timestamp: Date,
  options: { cardMaxBytes?: number } = {},
): Promise<FolderDeliveryFiles> {
  // The id becomes a file name: only our own hash format is accepted.
  if (!NOTIFICATION_ID_PATTERN.test(message.notificationId)) throw new Error('invalid notificationId');
  const teamsDir = join(channel.dir, 'teams');
  const webhookDir = join(channel.dir, 'webhooks');
  await mkdir(teamsDir, { recursive: true });
  await mkdir(webhookDir, { recursive: true });

  const built = buildTeamsPayload(message, { maxBytes: options.cardMaxBytes });
  const teamsPath = join(teamsDir, `${message.notificationId}.json`);
  await writeAtomic(teamsPath, JSON.stringify(built.payload));

  const webhook = channel.secret
    ? buildWebhookRequest(message, channel.secret, timestamp)
    : {
        body: webhookBody(message),
        headers: {
          'webhook-id': message.notificationId,
          'webhook-timestamp': String(Math.floor(timestamp.getTime() / 1000)),
          'content-type': 'application/json',
        },
      };
  const webhookPath = join(webhookDir, `${message.notificationId}.json`);
  await writeAtomic(webhookPath, `${JSON.stringify({ headers: webhook.headers, body: webhook.body }, null, 2)}\n`);
  return { teamsPath, webhookPath, cardBytes: built.bytes };
}

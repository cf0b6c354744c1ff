import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runDeliveriesCommand } from '../../../shared/cli/deliveries';
import { UsageError } from '../../../shared/cli/io';
import { TableDeliveryLedger } from '../../../shared/notify/ledger';
import { NotificationQueue } from '../../../shared/notify/queue';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { WEBHOOK_SECRET, incidentMessage } from '../../support/deliveryHarness';
import { incident } from '../../support/notifyFixtures';

const TEAMS_URL = 'https://prod-1.westeurope.logic.azure.com/workflows/x?sig=CliSecretSig42';

async function setup(extraEnv: Record<string, string> = {}) {
  const queueName = uniqueName('notify');
  const tableName = uniqueName('deliveries');
  const env: Record<string, string | undefined> = {
    Storage: azuriteConnectionString(),
    NOTIFICATION_QUEUE: queueName,
    DELIVERIES_TABLE: tableName,
    NOTIFY_CHANNELS: JSON.stringify([{ id: 'soc-teams', type: 'teams', url: TEAMS_URL, minSeverity: 'low' }]),
    ...extraEnv,
  };
  const ledger = TableDeliveryLedger.fromConnectionString(azuriteConnectionString(), tableName, { allowInsecureConnection: true });
  const queue = NotificationQueue.fromConnectionString(azuriteConnectionString(), queueName);
  await ledger.ensureTable();
  await queue.ensureQueues();
  const out: string[] = [];
  const err: string[] = [];
  const io = { stdout: (t: string) => void out.push(t), stderr: (t: string) => void err.push(t), env };
  const run = (...argv: string[]) => runDeliveriesCommand(argv, io);
  return { env, ledger, queue, out, err, run, io };
}

async function settle(ledger: TableDeliveryLedger, id: string, state: 'parked' | 'failed' | 'delivered') {
  const m = incidentMessage('soc-teams', incident({ id }));
  const claim = await ledger.claim(m, { now: new Date(), leaseMs: 60_000, takeOverExpired: false });
  if (claim.outcome !== 'claimed') throw new Error('not claimed');
  if (state === 'delivered') await ledger.markDelivered(claim.token, { now: new Date(), httpStatus: 202 });
  else await ledger.settle(claim.token, state, { now: new Date(), reason: state === 'parked' ? 'uncertain' : 'http-400' });
  return m;
}

describe('deliveries CLI', () => {
  test('list, filtered by state, and as JSON; never prints urls', async () => {
    const s = await setup();
    const parked = await settle(s.ledger, 'a', 'parked');
    await settle(s.ledger, 'b', 'failed');
    await settle(s.ledger, 'c', 'delivered');
    expect(await s.run('list')).toBe(0);
    expect(s.out.join('')).toContain(parked.notificationId);
    expect(s.out.join('').trim().split('\n')).toHaveLength(3);
    s.out.length = 0;
    expect(await s.run('list', '--state', 'parked')).toBe(0);
    expect(s.out.join('').trim().split('\n')).toEqual([expect.stringMatching(/^parked\s+soc-teams\s+ntf_\w+\s+incident\s+attempt=1\s+\S+\s+uncertain$/)]);
    s.out.length = 0;
    expect(await s.run('list', '--state', 'failed', '--json')).toBe(0);
    expect(JSON.parse(s.out.join(''))).toEqual([expect.objectContaining({ state: 'failed', reason: 'http-400', channelId: 'soc-teams' })]);
    await expect(s.run('list', '--state', 'lost')).rejects.toThrow(UsageError);
    expect(s.out.join('') + s.err.join('')).not.toContain('CliSecretSig42');
  });

  test('replay <id> re-enqueues a parked notification; delivered ones are refused', async () => {
    const s = await setup();
    const parked = await settle(s.ledger, 'a', 'parked');
    const delivered = await settle(s.ledger, 'c', 'delivered');
    expect(await s.run('replay', parked.notificationId)).toBe(0);
    expect(s.out.join('')).toContain(`replayed soc-teams/${parked.notificationId} (was parked)`);
    expect(await s.ledger.get('soc-teams', parked.notificationId)).toMatchObject({ state: 'pending', replays: 1 });
    const queued: unknown[] = [];
    await s.queue.drain(async (m) => void queued.push(m));
    expect(queued).toEqual([{ ...parked, attempt: 1, replay: true }]);

    expect(await s.run('replay', delivered.notificationId)).toBe(1);
    expect(s.err.join('')).toContain('delivered, not replayed (it would be posted twice)');
    expect(await s.run('replay', 'ntf_00000000000000000000000000000000')).toBe(1);
    await expect(s.run('replay')).rejects.toThrow(UsageError);
  });

  test('replay --all-parked', async () => {
    const s = await setup();
    await settle(s.ledger, 'a', 'parked');
    await settle(s.ledger, 'b', 'parked');
    await settle(s.ledger, 'c', 'failed');
    expect(await s.run('replay', '--all-parked')).toBe(0);
    expect(s.err.join('')).toContain('2 replayed, 0 not replayed');
    expect(await s.queue.approximateCount()).toBe(2);
  });

  test('poison list and replay', async () => {
    const s = await setup();
    await s.queue.poison(incidentMessage('soc-teams'), { code: 'http-400', status: 400 });
    expect(await s.run('poison', 'list')).toBe(0);
    expect(s.out.join('')).toMatch(/soc-teams\s+ntf_\w+\s+incident\s+attempt=1\s+http-400/);
    expect(await s.run('poison', 'replay', '--all')).toBe(0);
    expect(s.out.join('')).toContain('1 poison messages moved back to the queue');
    expect(await s.queue.approximateCount()).toBe(1);
  });

  test('drain delivers in-process through a demo folder channel', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'codesign-demo-'));
    try {
      const s = await setup({
        NOTIFY_ALLOW_FOLDER: 'true',
        NOTIFY_CHANNELS: JSON.stringify([{ id: 'demo', type: 'folder', dir, minSeverity: 'informational', secret: WEBHOOK_SECRET }]),
      });
      await s.queue.enqueue([incidentMessage('demo'), incidentMessage('demo', incident({ id: 'two' }))]);
      expect(await s.run('drain')).toBe(0);
      expect(s.out.join('')).toContain('drained: 2 handled, 0 failed, 0 poisoned');
      expect((await readdir(join(dir, 'teams'))).sort()).toHaveLength(2);
      const webhookFile = JSON.parse(await readFile(join(dir, 'webhooks', `${incidentMessage('demo').notificationId}.json`), 'utf8')) as { headers: Record<string, string> };
      expect(webhookFile.headers['webhook-id']).toBe(incidentMessage('demo').notificationId);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('configuration errors exit 2 without echoing secrets', async () => {
    const s = await setup({ NOTIFY_CHANNELS: JSON.stringify([{ id: 'x', type: 'teams', url: 'http://leak.example/?sig=LeakSig99', minSeverity: 'low' }]) });
    expect(await s.run('drain')).toBe(2);
    expect(s.err.join('')).toContain('url must use https');
    expect(s.err.join('')).not.toContain('LeakSig99');
  });
});

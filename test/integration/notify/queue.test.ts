import { QueueClient } from '@azure/storage-queue';
import { NOTIFICATION_MESSAGE_VERSION, incidentNotificationId, type NotificationMessage } from '../../../shared/notify/message';
import { NotificationQueue, poisonQueueName } from '../../../shared/notify/queue';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { incident } from '../../support/notifyFixtures';

function message(id: string): NotificationMessage {
  const i = incident({ id });
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'incident',
    channelId: 'soc-teams',
    notificationId: incidentNotificationId(id, 'created', i.revision),
    attempt: 1,
    createdAt: '2024-05-01T12:00:00.000Z',
    payload: { event: 'created', incident: i },
  };
}

async function newQueue(): Promise<{ queue: NotificationQueue; name: string }> {
  const name = uniqueName('notify');
  const queue = NotificationQueue.fromConnectionString(azuriteConnectionString(), name);
  await queue.ensureQueues();
  return { queue, name };
}

describe('notification queue (Azurite)', () => {
  test('messages are base64 JSON, as the Functions trigger expects', async () => {
    const { queue, name } = await newQueue();
    await queue.enqueue([message('a')]);
    const raw = new QueueClient(azuriteConnectionString(), name);
    const peeked = await raw.peekMessages();
    const text = peeked.peekedMessageItems[0]!.messageText;
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(Buffer.from(text, 'base64').toString('utf8'))).toEqual(message('a'));
  });

  test('drain: handle then delete; a delayed message stays invisible', async () => {
    const { queue } = await newQueue();
    await queue.enqueue([message('a'), message('b')]);
    await queue.enqueue([message('later')], { delaySeconds: 3600 });
    const seen: string[] = [];
    const summary = await queue.drain(async (m) => {
      if (m.kind === 'incident') seen.push(m.payload.incident.id);
    });
    expect(summary).toEqual({ handled: 2, failed: 0, poisoned: 0 });
    expect(seen.sort()).toEqual(['a', 'b']);
    expect(await queue.approximateCount()).toBe(1); // the delayed one
  });

  test('drain: a failing handler sees the message again and it is poisoned after maxDequeueCount', async () => {
    const { queue } = await newQueue();
    await queue.enqueue([message('boom')]);
    let calls = 0;
    const errors: string[] = [];
    const summary = await queue.drain(
      async () => {
        calls++;
        throw new Error('storage down');
      },
      { maxDequeueCount: 3, onError: (error, meta) => errors.push(`${meta.dequeueCount}:${(error as Error).message}`) },
    );
    expect(calls).toBe(3);
    expect(errors).toEqual(['1:storage down', '2:storage down', '3:storage down']);
    expect(summary).toEqual({ handled: 0, failed: 3, poisoned: 1 });
    const poison = await queue.listPoison();
    expect(poison).toHaveLength(1);
    expect(poison[0]!.message?.notificationId).toBe(message('boom').notificationId);
  });

  test('undecodable messages go to the poison queue verbatim', async () => {
    const { queue, name } = await newQueue();
    await new QueueClient(azuriteConnectionString(), name).sendMessage(Buffer.from('{"hello":1}').toString('base64'));
    const summary = await queue.drain(async () => undefined);
    expect(summary).toEqual({ handled: 0, failed: 0, poisoned: 1 });
    const [entry] = await queue.listPoison();
    expect(entry).toMatchObject({ message: null, problem: 'unsupported message version' });
  });

  test('poison: our own entries carry the reason; replay moves them back with attempt 1', async () => {
    const { queue, name } = await newQueue();
    expect(poisonQueueName(name)).toBe(`${name}-poison`);
    await queue.poison({ ...message('p1'), attempt: 6 }, { code: 'attempts-exhausted-http-500', status: 500 });
    await queue.poison({ ...message('p2'), attempt: 2 }, { code: 'http-400', status: 400 });
    await queue.poisonRaw('garbage that is not base64 !');
    const listed = await queue.listPoison();
    expect(listed.map((e) => e.message?.lastError?.code ?? e.problem)).toEqual(['attempts-exhausted-http-500', 'http-400', 'message is neither JSON nor base64 JSON']);

    const target = listed[1]!.messageId;
    expect(await queue.replayPoison({ messageId: target })).toBe(1);
    expect((await queue.listPoison()).map((e) => e.messageId)).not.toContain(target);
    expect(await queue.listPoison()).toHaveLength(2); // the skipped ones are visible again

    expect(await queue.replayPoison()).toBe(1); // p1; the garbage stays
    const back: NotificationMessage[] = [];
    await queue.drain(async (m) => {
      back.push(m);
    });
    expect(back.map((m) => [m.kind === 'incident' ? m.payload.incident.id : '', m.attempt, m.replay, m.lastError]).sort()).toEqual([
      ['p1', 1, true, undefined],
      ['p2', 1, true, undefined],
    ]);
    expect(await queue.listPoison()).toHaveLength(1);
  });
});

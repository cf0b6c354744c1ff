import { TableClient } from '@azure/data-tables';
import { StorageFactory, type StoragePolicy } from '../../../shared/storage/clients';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

test('Azurite from globalSetup answers table requests', async () => {
  const table = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('smoke'), {
    allowInsecureConnection: true,
  });
  await table.createTable();
  await table.createEntity({ partitionKey: 'p', rowKey: 'r', value: 1 });
  const entity = await table.getEntity<{ value: number }>('p', 'r');
  expect(entity.value).toBe(1);
});

describe('StorageFactory with a pipeline policy', () => {
  function countingPolicy(): StoragePolicy & { count: number } {
    const policy = {
      name: 'countingPolicy',
      count: 0,
      async sendRequest(request: unknown, next: (request: unknown) => Promise<unknown>): Promise<unknown> {
        policy.count++;
        return next(request);
      },
    };
    return policy;
  }

  test('a queue client from the factory sends, receives and counts every request once', async () => {
    const policy = countingPolicy();
    const factory = new StorageFactory({ kind: 'connection-string', connectionString: azuriteConnectionString() }, { policies: [policy] });
    const queue = factory.queue(uniqueName('policy'));
    await queue.create();
    await queue.sendMessage('hello');
    const received = await queue.receiveMessages();
    expect(received.receivedMessageItems.map((m) => m.messageText)).toEqual(['hello']);
    expect(policy.count).toBe(3);
  });

  test('one policy object shared by several queue and table clients counts for all of them', async () => {
    const policy = countingPolicy();
    const factory = new StorageFactory({ kind: 'connection-string', connectionString: azuriteConnectionString() }, { policies: [policy] });
    const first = factory.queue(uniqueName('shared-a'));
    const second = factory.queue(uniqueName('shared-b'));
    await first.create();
    await second.create();
    await first.sendMessage('one');
    const table = factory.table(uniqueName('policy'));
    await table.createTable();
    expect(policy.count).toBe(4);
  });
});

import * as fs from 'node:fs';
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { azuriteArguments } from '../../../shared/storage/azurite';
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

describe('Azurite is started without telemetry', () => {
  test('the command line carries --disableTelemetry', () => {
    expect(azuriteArguments({ table: 1, queue: 2, blob: 3 })).toContain('--disableTelemetry');
  });

  test('the running Azurite of this jest run was started with --disableTelemetry', () => {
    // Read the live process's arguments, so a second way of starting Azurite cannot slip by.
    const pid = Number(process.env.AZURITE_PID);
    expect(Number.isInteger(pid) && pid > 0).toBe(true);
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('--disableTelemetry');
  });

  test('no source starts Azurite other than through startAzurite', () => {
    const root = path.resolve(__dirname, '../../..');
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git', 'demo-out'].includes(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (/\.(ts|mjs|js|sh)$/.test(entry.name) || entry.name === 'run') {
          const text = fs.readFileSync(full, 'utf8');
          if (/azurite\/dist\/src\/azurite\.js|npx azurite|azurite --|azurite-table|azurite-queue/.test(text) && !/--disableTelemetry/.test(text)) {
            offenders.push(path.relative(root, full));
          }
        }
      }
    };
    walk(root);
    expect(offenders).toEqual([]);
  });
});

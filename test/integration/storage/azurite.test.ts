import { TableClient } from '@azure/data-tables';
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

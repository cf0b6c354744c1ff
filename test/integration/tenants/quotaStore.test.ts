/**
 * The shared per-tenant call counter on Azurite: four counters (four instances) admitting calls
 * for one tenant at once never admit more than the limit in a minute; a 429 seen by one holds the
 * others; tenants do not share a budget.
 */
import { TableClient } from '@azure/data-tables';
import { peakCallsPerMinute, quotaPolicy } from '../../../shared/tenants/quota';
import { SharedCallCounter } from '../../../shared/tenants/quotaStore';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

let table: TableClient;

beforeEach(async () => {
  table = TableClient.fromConnectionString(azuriteConnectionString(), uniqueName('quota'), { allowInsecureConnection: true });
  await table.createTable();
});

test('four instances racing for one tenant admit at most 45 calls in any minute', async () => {
  const policy = quotaPolicy(45);
  const counters = [0, 1, 2, 3].map(() => new SharedCallCounter(table, 'contoso', policy, { random: () => 0 }));
  const admitted: number[] = [];
  // Every 750 ms all four instances try to start a call at once (clocks up to 21 ms apart), for
  // 30 seconds, then again a minute and a half later: 160 attempts a burst for a budget of 45.
  const rounds = [...Array.from({ length: 40 }, (_, i) => i * 750), ...Array.from({ length: 40 }, (_, i) => 90_000 + i * 750)];
  for (const at of rounds) {
    await Promise.all(
      counters.map(async (counter, n) => {
        if ((await counter.admit(at + n * 7)) === 0) admitted.push(at + n * 7);
      }),
    );
  }
  expect(peakCallsPerMinute(admitted)).toBeLessThanOrEqual(45);
  // Both bursts got their full budget: the counter admits, it does not just refuse.
  expect(admitted.filter((t) => t < 90_000)).toHaveLength(45);
  expect(admitted.filter((t) => t >= 90_000).length).toBeGreaterThan(0);
});

test('a 429 recorded by one instance makes the others wait too; other tenants are not held', async () => {
  const policy = quotaPolicy(45);
  const a = new SharedCallCounter(table, 'contoso', policy);
  const b = new SharedCallCounter(table, 'contoso', policy);
  const other = new SharedCallCounter(table, 'fabrikam', policy);
  expect(await a.admit(1_000)).toBe(0);
  await a.hold(1_000, 60_000);
  expect(await b.admit(2_000)).toBe(59_000);
  expect(await other.admit(2_000)).toBe(0);
  expect(await b.admit(61_000)).toBe(0);
  expect((await b.current(61_000)).calls).toEqual([1_000, 61_000]);
});

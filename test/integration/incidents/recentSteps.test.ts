/**
 * RecentStepsStore against Azurite: what is remembered, what a recall returns (device, rule, chain
 * window), expiry and deletion, bounding, batching and key escaping.
 */
import { deviceKey } from '../../../shared/incidents/identity';
import { RecentStepsStore, recentStepsPartitionKey } from '../../../shared/incidents/recentSteps';
import {
  at,
  certutilAddStore,
  DEVICE_ID,
  makecertCreate,
  makeFinding,
  newSelfSignedCert,
  opensslExportPfx,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';
import { countingTable, HOUR, MINUTE, RULE, rowCount, TENANT } from './support';

const W = 2 * HOUR;
const DEVICE = deviceKey({ id: DEVICE_ID, name: 'WS-042' });
const OTHER = { id: 'other-device', name: 'WS-999' };

function later(base: string, ms: number): Date {
  return new Date(Date.parse(base) + ms);
}

describe('RecentStepsStore (Azurite)', () => {
  test('remembers creation-side steps only, and recalls them for their device', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table);
    const create = makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 });
    const convert = pvk2pfx('SPC', { minutes: 1 });
    const exported = opensslExportPfx('code', { minutes: 2 });
    const elsewhere = newSelfSignedCert('CN=Elsewhere', { minutes: 3, device: OTHER });
    const stored = await steps.remember(
      TENANT,
      [create, convert, exported, elsewhere, signtoolSign('x.exe', {}, { minutes: 4 }), certutilAddStore('Root', 'a.cer', { minutes: 5 }), newSelfSignedCert('CN=Allowed', { suppressedBy: 'entry-1' })],
      new Date(at(5)),
    );
    expect(stored).toBe(4);
    expect(await rowCount(table)).toBe(4);

    const recalled = await steps.recall(TENANT, RULE, [DEVICE], new Date(at(20)), W);
    expect(recalled).toEqual([create, convert, exported]);
    expect(await steps.recall(TENANT, RULE, [deviceKey(OTHER)], new Date(at(20)), W)).toEqual([elsewhere]);
    expect(await steps.recall(TENANT, RULE, ['id:never-seen'], new Date(at(20)), W)).toEqual([]);
    expect(await steps.recall('tenant-2', RULE, [DEVICE], new Date(at(20)), W)).toEqual([]);
    expect(await steps.recall(TENANT, 'other-rule', [DEVICE], new Date(at(20)), W)).toEqual([]);
  });

  test('one query per device partition', async () => {
    const counted = await countingTable('steps');
    const steps = new RecentStepsStore(counted.table);
    await steps.remember(TENANT, [newSelfSignedCert('CN=A'), newSelfSignedCert('CN=B', { device: OTHER })], new Date(at(1)));
    counted.reset();
    const recalled = await steps.recall(TENANT, RULE, [DEVICE, deviceKey(OTHER), DEVICE, 'id:none'], new Date(at(10)), W);
    expect(recalled).toHaveLength(2);
    expect(counted.requests()).toBe(3);
  });

  test('a creation older than the chain window is not recalled', async () => {
    const steps = new RecentStepsStore((await countingTable('steps')).table);
    const create = newSelfSignedCert('CN=Old', { minutes: 0 });
    await steps.remember(TENANT, [create], new Date(at(0)));
    expect(await steps.recall(TENANT, RULE, [DEVICE], later(at(0), W - MINUTE), W)).toEqual([create]);
    expect(await steps.recall(TENANT, RULE, [DEVICE], later(at(0), W + MINUTE), W)).toEqual([]);
    // A shorter window at recall time is honoured too.
    expect(await steps.recall(TENANT, RULE, [DEVICE], new Date(at(40)), 30 * MINUTE)).toEqual([]);
  });

  test('a step remembered late (backfill, late ingestion) counts from when it was remembered', async () => {
    const steps = new RecentStepsStore((await countingTable('steps')).table);
    const create = newSelfSignedCert('CN=Backfill', { minutes: 0 });
    await steps.remember(TENANT, [create], later(at(0), 5 * HOUR));
    expect(await steps.recall(TENANT, RULE, [DEVICE], later(at(0), 5 * HOUR + 10 * MINUTE), W)).toEqual([create]);
  });

  test('expired rows are deleted when a recall meets them, and swept when new steps are written', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table);
    await steps.remember(TENANT, [newSelfSignedCert('CN=A', { minutes: 0 }), newSelfSignedCert('CN=B', { minutes: 1 })], new Date(at(1)));
    await steps.remember(TENANT, [newSelfSignedCert('CN=C', { minutes: 2, device: OTHER })], new Date(at(2)));
    expect(await rowCount(table)).toBe(3);

    // The recall reads only DEVICE's partition: its two expired rows go, OTHER's stays.
    expect(await steps.recall(TENANT, RULE, [DEVICE], later(at(0), W + HOUR), W)).toEqual([]);
    expect(await rowCount(table)).toBe(1);

    // A device that never signs: the next write anywhere sweeps its expired row.
    const fresh = newSelfSignedCert('CN=D', { minutes: 300, device: { id: 'third', name: 'WS-3' } });
    await steps.remember(TENANT, [fresh], new Date(at(300)));
    expect(await rowCount(table)).toBe(1);
    expect(await steps.recall(TENANT, RULE, ['id:third'], new Date(at(301)), W)).toEqual([fresh]);
  });

  test('an expired row is ignored but kept while a longer recall window still wants it', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table, { ttlMs: HOUR });
    const create = newSelfSignedCert('CN=Long', { minutes: 0 });
    await steps.remember(TENANT, [create], new Date(at(0)));
    expect(await steps.recall(TENANT, RULE, [DEVICE], new Date(at(90)), W)).toEqual([create]);
    expect(await rowCount(table)).toBe(1);
  });

  test('a huge finding is stored within one property, without raw first', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table);
    const big = newSelfSignedCert('CN=Big', { minutes: 0 });
    big.raw = { AdditionalFields: 'z'.repeat(100_000) };
    await steps.remember(TENANT, [big], new Date(at(1)));
    for await (const row of table.listEntities<{ finding: string }>()) expect(row.finding.length).toBeLessThanOrEqual(30_000);
    expect(await steps.recall(TENANT, RULE, [DEVICE], new Date(at(5)), W)).toEqual([{ ...big, raw: {} }]);
  });

  test('more than 100 steps of one device are written in several transactions', async () => {
    const counted = await countingTable('steps');
    const steps = new RecentStepsStore(counted.table);
    const many = Array.from({ length: 130 }, (_, i) => newSelfSignedCert(`CN=Many ${i}`, { minutes: i % 60 }));
    expect(await steps.remember(TENANT, many, new Date(at(60)))).toBe(130);
    // Two transactions, then one sweep query (nothing expired).
    expect(counted.requests()).toBe(3);
    expect(await steps.recall(TENANT, RULE, [DEVICE], new Date(at(61)), W)).toHaveLength(130);
  });

  test('ids and keys with characters Table storage forbids are escaped', async () => {
    const steps = new RecentStepsStore((await countingTable('steps')).table);
    const odd = makeFinding({ id: 'a/b\\c#d?e|f', tool: 'makecert', action: 'create-cert', device: { id: null, name: 'LAPTOP/7#x' } });
    await steps.remember('contoso/eu#1', [odd], new Date(at(1)));
    expect(recentStepsPartitionKey('contoso/eu#1', RULE, 'name:laptop/7#x')).toBe('contoso%2Feu%231|t1587-002|name%3Alaptop%2F7%23x');
    expect(await steps.recall('contoso/eu#1', RULE, [deviceKey(odd.device)], new Date(at(5)), W)).toEqual([odd]);
  });

  test('remembering the same step again overwrites it; uses alone store nothing', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table);
    const create = newSelfSignedCert('CN=Twice');
    await steps.remember(TENANT, [create, create], new Date(at(1)));
    await steps.remember(TENANT, [create], new Date(at(2)));
    expect(await steps.remember(TENANT, [setAuthenticode()], new Date(at(3)))).toBe(0);
    expect(await rowCount(table)).toBe(1);
  });

  test('ensure creates the table once and tolerates an existing one', async () => {
    const { table } = await countingTable('steps');
    const steps = new RecentStepsStore(table);
    await expect(steps.ensure()).resolves.toBeUndefined();
    await expect(steps.ensure()).resolves.toBeUndefined();
  });
});

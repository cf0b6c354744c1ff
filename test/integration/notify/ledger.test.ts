import { TableDeliveryLedger, type ClaimResult } from '../../../shared/notify/ledger';
import { NOTIFICATION_MESSAGE_VERSION, incidentNotificationId, type NotificationMessage } from '../../../shared/notify/message';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';
import { finding, incident } from '../../support/notifyFixtures';

const t0 = new Date('2024-05-01T12:00:00.000Z');
const later = (ms: number) => new Date(t0.getTime() + ms);
const LEASE = 60_000;

function message(id = 'inc-1', channelId = 'soc-teams', size = 0): NotificationMessage {
  const i = incident({ id, findings: [finding({ commandLine: `cmd ${'界'.repeat(size)}` })], findingCount: 1 });
  return {
    version: NOTIFICATION_MESSAGE_VERSION,
    kind: 'incident',
    channelId,
    notificationId: incidentNotificationId(id, 'created', 1),
    attempt: 1,
    createdAt: t0.toISOString(),
    payload: { event: 'created', incident: i },
  };
}

async function newLedger(): Promise<TableDeliveryLedger> {
  const ledger = TableDeliveryLedger.fromConnectionString(azuriteConnectionString(), uniqueName('deliveries'), { allowInsecureConnection: true });
  await ledger.ensureTable();
  return ledger;
}

function claimed(result: ClaimResult) {
  if (result.outcome !== 'claimed') throw new Error(`expected claimed, got ${result.outcome}`);
  return result;
}

describe('delivery ledger (Azurite)', () => {
  test('claim → sending with a lease; a second claim while the lease runs is in-flight; delivered is settled', async () => {
    const ledger = await newLedger();
    const m = message();
    const first = claimed(await ledger.claim(m, { now: t0, leaseMs: LEASE, takeOverExpired: false }));
    expect(first.token.record).toMatchObject({ state: 'sending', channelId: 'soc-teams', notificationId: m.notificationId, leaseUntil: later(LEASE).toISOString() });
    const second = await ledger.claim(m, { now: later(1000), leaseMs: LEASE, takeOverExpired: true });
    expect(second).toMatchObject({ outcome: 'in-flight', leaseUntil: later(LEASE) });
    await ledger.markDelivered(first.token, { now: later(2000), httpStatus: 202 });
    const third = await ledger.claim(m, { now: later(3000), leaseMs: LEASE, takeOverExpired: true });
    expect(third).toMatchObject({ outcome: 'settled', record: { state: 'delivered', httpStatus: 202, deliveredAt: later(2000).toISOString() } });
  });

  test('concurrent claims: exactly one worker wins', async () => {
    const ledger = await newLedger();
    const m = message('race');
    const results = await Promise.all(Array.from({ length: 6 }, () => ledger.claim(m, { now: t0, leaseMs: LEASE, takeOverExpired: true })));
    expect(results.filter((r) => r.outcome === 'claimed')).toHaveLength(1);
    expect(results.filter((r) => r.outcome === 'in-flight')).toHaveLength(5);
  });

  test('an expired lease: Teams-style callers get `expired`, webhook-style callers take over', async () => {
    const ledger = await newLedger();
    const m = message('expired');
    const first = claimed(await ledger.claim(m, { now: t0, leaseMs: LEASE, takeOverExpired: false }));
    const expired = await ledger.claim(m, { now: later(LEASE + 1), leaseMs: LEASE, takeOverExpired: false });
    expect(expired.outcome).toBe('expired');
    const takeover = claimed(await ledger.claim(m, { now: later(LEASE + 1), leaseMs: LEASE, takeOverExpired: true }));
    expect(takeover.takeover).toBe(true);
    expect(takeover.token.etag).not.toBe(first.token.etag);
    // The first worker's token is stale: its settle is refused, the row is left alone.
    expect(await ledger.settle(first.token, 'failed', { now: later(LEASE + 2), reason: 'http-400' })).toBe(false);
    expect((await ledger.get(m.channelId, m.notificationId))?.state).toBe('sending');
    // parkExpired with a stale record is refused too.
    if (expired.outcome !== 'expired') throw new Error('unreachable');
    expect(await ledger.parkExpired(expired.record, 'uncertain', later(LEASE + 3))).toBe(false);
  });

  test('retrying rows are claimable again and keep the highest attempt', async () => {
    const ledger = await newLedger();
    const m = message('retry');
    const first = claimed(await ledger.claim(m, { now: t0, leaseMs: LEASE, takeOverExpired: false }));
    expect(await ledger.settle(first.token, 'retrying', { now: later(1), reason: 'http-500', httpStatus: 500, message: { ...m, attempt: 2 } })).toBe(true);
    const again = claimed(await ledger.claim({ ...m, attempt: 1 }, { now: later(2), leaseMs: LEASE, takeOverExpired: false }));
    expect(again.token.record).toMatchObject({ state: 'sending', attempt: 2, reason: 'http-500', httpStatus: 500 });
  });

  test('stores the message (chunked when large) for replay; list filters; replay resets to pending', async () => {
    const ledger = await newLedger();
    const big = message('big', 'soc-teams', 12_000); // ~36 KB of JSON: two chunks
    const small = message('small', 'soar');
    const a = claimed(await ledger.claim(big, { now: t0, leaseMs: LEASE, takeOverExpired: false }));
    const b = claimed(await ledger.claim(small, { now: t0, leaseMs: LEASE, takeOverExpired: false }));
    await ledger.settle(a.token, 'parked', { now: later(1), reason: 'uncertain' });
    await ledger.settle(b.token, 'failed', { now: later(1), reason: 'http-400', httpStatus: 400 });
    await ledger.disableChannel('soar', 'fp', 'http-410', later(2));

    const parked = await ledger.list({ state: 'parked' });
    expect(parked).toHaveLength(1);
    expect(parked[0]!.message).toEqual(big);
    expect((await ledger.list()).map((r) => r.notificationId).sort()).toEqual([big.notificationId, small.notificationId].sort());
    expect(await ledger.list({ channelId: 'soar' })).toHaveLength(1);
    expect(await ledger.list({ notificationId: big.notificationId })).toHaveLength(1);

    expect(await ledger.resetForReplay(parked[0]!, later(3))).toBe(true);
    const row = await ledger.get(big.channelId, big.notificationId);
    expect(row).toMatchObject({ state: 'pending', replays: 1, reason: 'replay-of-parked', message: { ...big, attempt: 1, replay: true } });
    expect(await ledger.resetForReplay(parked[0]!, later(4))).toBe(false); // stale ETag
    expect((await ledger.claim(big, { now: later(5), leaseMs: LEASE, takeOverExpired: false })).outcome).toBe('claimed');
  });

  test('channel status: disabled with a url fingerprint', async () => {
    const ledger = await newLedger();
    expect(await ledger.getChannelStatus('soc-teams')).toBeNull();
    await ledger.disableChannel('soc-teams', 'abc123', 'http-410', t0);
    expect(await ledger.getChannelStatus('soc-teams')).toMatchObject({
      disabled: true,
      urlFingerprint: 'abc123',
      reason: 'http-410',
      updatedAt: t0.toISOString(),
      failures: 0,
      pausedUntil: null,
    });
  });
});

/**
 * processIncidentBatch against Azurite, one call per hunt cycle: chains across cycles (the
 * headline makecert -> signtool detection split by 10-minute windows), escalation at once, held-back
 * updates flushed by quiet cycles, no duplicates, and the request budget.
 */
import { processIncidentBatch, type IncidentBatch, type IncidentBatchDeps } from '../../../shared/incidents/pipeline';
import { RecentStepsStore } from '../../../shared/incidents/recentSteps';
import { IncidentStore } from '../../../shared/incidents/store';
import type { Finding } from '../../../shared/model/finding';
import { validateIncident } from '../../../shared/schema/validate';
import { at, makecertCreate, newSelfSignedCert, pvk2pfx, signtoolSign } from '../../support/findings';
import { buildContext, countingTable, HOUR, RULE, TENANT, type CountingTable } from './support';

const W = 2 * HOUR;

interface Harness {
  incidents: IncidentStore;
  recentSteps: RecentStepsStore;
  incidentTable: CountingTable;
  stepsTable: CountingTable;
  /** One hunt cycle: process, "enqueue", commit. */
  cycle(findings: Finding[], now: string, options?: { commit?: boolean; ruleId?: string; chainRuleIds?: string[] }): Promise<IncidentBatch>;
  requests(): number;
  reset(): void;
}

async function harness(): Promise<Harness> {
  const incidentTable = await countingTable('incidents');
  const stepsTable = await countingTable('steps');
  const incidents = new IncidentStore(incidentTable.table);
  const recentSteps = new RecentStepsStore(stepsTable.table);
  return {
    incidents,
    recentSteps,
    incidentTable,
    stepsTable,
    async cycle(findings, now, options = {}) {
      const batch = await processIncidentBatch(findings, {
        incidents,
        recentSteps,
        build: options.ruleId ? { ...buildContext(), rule: { ...buildContext().rule, id: options.ruleId } } : buildContext(),
        now: new Date(now),
        updateIntervalMs: HOUR,
        chainWindowMs: W,
        ...(options.chainRuleIds ? { chainRuleIds: options.chainRuleIds } : {}),
      });
      if (options.commit !== false) await batch.commit();
      return batch;
    },
    requests: () => incidentTable.requests() + stepsTable.requests(),
    reset: () => {
      incidentTable.reset();
      stepsTable.reset();
    },
  };
}

describe('processIncidentBatch: chains across cycles', () => {
  test('makecert at 10:00 and signtool at 10:15 in different cycles: one incident, escalated at once', async () => {
    const h = await harness();
    const create = makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 });
    const sign = signtoolSign('payload.exe', { subject: 'Contoso Dev' }, { minutes: 15 });

    const first = await h.cycle([create], at(5));
    expect(first.announcements.map((a) => [a.kind, a.incident.chain])).toEqual([['new', false]]);
    expect(first.counts).toEqual({ new: 1, updated: 0 });
    const id = first.announcements[0]!.incident.id;
    expect(first.announcements[0]!.incident.severity).toBe('medium');

    // 15 minutes later, well inside the 1-hour update interval.
    const second = await h.cycle([sign], at(20));
    expect(second.announcements).toHaveLength(1);
    const [update] = second.announcements;
    expect(update).toMatchObject({ kind: 'update', previousFindingCount: 1, incident: { id, chain: true, severity: 'high', status: 'updated' } });
    expect(update!.incident.findings.map((f) => f.id)).toEqual([create.id, sign.id]);
    expect(update!.incident.chainLink).toMatchObject({ linkedBy: 'subject', createdFindingIds: [create.id], usedFindingIds: [sign.id] });
    // The recalled creation was not counted again.
    expect(update!.incident.findingCount).toBe(2);
    expect(update!.incident.findingIds).toEqual([create.id, sign.id]);
    expect(second.counts).toEqual({ new: 0, updated: 1 });
    expect(validateIncident(update!.incident)).toEqual([]);
    expect(await h.incidents.get(TENANT, RULE, id)).toMatchObject({ findingCount: 2, announcedFindingCount: 2, chain: true, announcedChain: true, pendingSince: null });

    // The same window again (a retry, an overlap): nothing.
    const third = await h.cycle([sign], at(30));
    expect(third.announcements).toEqual([]);
    expect(third.counts).toEqual({ new: 0, updated: 0 });
    // A later window that only sees the signing still updates nothing (the signing group is an alias).
    expect((await h.cycle([sign], at(90))).announcements).toEqual([]);
  });

  test('makecert and pvk2pfx in one cycle, signtool /f SPC.pfx in the next: linked by the file through the conversion', async () => {
    const h = await harness();
    const create = makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 });
    const convert = pvk2pfx('SPC', { minutes: 2 });
    const sign = signtoolSign('payload.exe', { pfx: 'C:\\build\\SPC.pfx' }, { minutes: 14 });
    const first = await h.cycle([create, convert], at(5));
    expect(first.announcements).toHaveLength(2);
    const makecertId = first.announcements.find((a) => a.incident.findingIds.includes(create.id))!.incident.id;

    const second = await h.cycle([sign], at(20));
    expect(second.announcements).toHaveLength(1);
    expect(second.announcements[0]).toMatchObject({ kind: 'update', incident: { id: makecertId, chain: true, severity: 'high' } });
    expect(second.announcements[0]!.incident.chainLink!.linkedBy).toBe('file');
    expect(second.announcements[0]!.incident.findings.map((f) => f.id)).toEqual([create.id, convert.id, sign.id]);
  });

  test('creation and signing on different devices do not chain', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 15, device: { id: 'other-device', name: 'WS-999' } });
    const first = await h.cycle([create], at(5));
    const second = await h.cycle([sign], at(20));
    expect(second.announcements.map((a) => [a.kind, a.incident.chain])).toEqual([['new', false]]);
    expect(second.announcements[0]!.incident.id).not.toBe(first.announcements[0]!.incident.id);
    expect(second.announcements[0]!.incident.findingIds).toEqual([sign.id]);
  });

  test('a creation older than the chain window is not recalled', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const late = signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 135 });
    const first = await h.cycle([create], at(5));
    const recall = jest.spyOn(h.recentSteps, 'recall');
    const second = await h.cycle([late], at(140));
    // Not merely left unlinked by the chain code: the memory no longer returns it.
    expect(recall).toHaveBeenCalledTimes(1);
    await expect(recall.mock.results[0]!.value).resolves.toEqual([]);
    expect(second.announcements.map((a) => [a.kind, a.incident.chain, a.incident.findingIds])).toEqual([['new', false, [late.id]]]);
    expect(second.announcements[0]!.incident.id).not.toBe(first.announcements[0]!.incident.id);
  });

  test('a suppressed use step recalls nothing and builds nothing', async () => {
    const h = await harness();
    await h.cycle([newSelfSignedCert('CN=A', { minutes: 0 })], at(5));
    h.reset();
    const batch = await h.cycle([signtoolSign('x.exe', {}, { minutes: 10, suppressedBy: 'entry-1' })], at(15));
    expect(batch.announcements).toEqual([]);
    // Only the pending query: no recall, no upsert, nothing to commit.
    expect(h.requests()).toBe(1);
  });
});

describe('processIncidentBatch: announcing', () => {
  test('a quiet cycle flushes a held-back update once its interval has passed, and only once', async () => {
    const h = await harness();
    const f1 = newSelfSignedCert('CN=Quiet', { minutes: 0 });
    const f2 = newSelfSignedCert('CN=Quiet', { minutes: 12 });
    const [created] = (await h.cycle([f1], at(5))).announcements;
    expect((await h.cycle([f2], at(15))).announcements).toEqual([]);
    expect((await h.cycle([], at(55))).announcements).toEqual([]);
    const flushed = await h.cycle([], at(65));
    expect(flushed.announcements.map((a) => [a.kind, a.incident.id, a.incident.findingCount, a.previousFindingCount])).toEqual([
      ['update', created!.incident.id, 2, 1],
    ]);
    expect(flushed.counts).toEqual({ new: 0, updated: 1 });
    expect((await h.cycle([], at(75))).announcements).toEqual([]);
    expect((await h.cycle([], at(200))).announcements).toEqual([]);
  });

  test('without commit (crash before enqueue) the next cycle re-announces once, with no duplicate', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Crash', { minutes: 0 });
    const lost = await h.cycle([create], at(5), { commit: false });
    expect(lost.announcements).toHaveLength(1);
    // Retried window: the upsert says `new` again and so does the pending query; announced once.
    const retried = await h.cycle([create], at(15));
    expect(retried.announcements.map((a) => a.kind)).toEqual(['new']);
    expect((await h.cycle([create], at(25))).announcements).toEqual([]);
  });

  test('a chain announced but not committed comes back from the pending query next cycle', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 15 });
    await h.cycle([create], at(5));
    const lost = await h.cycle([sign], at(20), { commit: false });
    expect(lost.announcements.map((a) => a.incident.chain)).toEqual([true]);
    const next = await h.cycle([], at(30));
    expect(next.announcements.map((a) => [a.kind, a.incident.id, a.incident.chain])).toEqual([['update', lost.announcements[0]!.incident.id, true]]);
  });

  test('request budget', async () => {
    const h = await harness();
    const create = makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 });
    const sign = signtoolSign('payload.exe', { subject: 'Contoso Dev' }, { minutes: 15 });

    // Nothing found: the pending query only.
    h.reset();
    await h.cycle([], at(1));
    expect(h.requests()).toBe(1);

    // A creation: upsert (read + write), pending query; commit: remember (write + sweep), mark (read + write).
    h.reset();
    const first = await processIncidentBatch([create], { ...deps(h), now: new Date(at(5)) });
    expect(h.requests()).toBe(3);
    h.reset();
    await first.commit();
    expect(h.requests()).toBe(4);

    // The signing: recall (1 device), upsert (one read for the incident and its alias-to-be, one
    // write), pending; commit: mark (read + write). Nothing to remember: a use step.
    h.reset();
    const second = await processIncidentBatch([sign], { ...deps(h), now: new Date(at(20)) });
    const processRequests = h.requests();
    h.reset();
    await second.commit();
    expect([processRequests, h.requests()]).toEqual([4, 2]);
  });
});

function deps(h: Harness): Omit<IncidentBatchDeps, 'now'> {
  return { incidents: h.incidents, recentSteps: h.recentSteps, build: buildContext(), updateIntervalMs: HOUR, chainWindowMs: W };
}

describe('processIncidentBatch: chains across rules', () => {
  test('a creation found by the process rule, then a Root write found by the trust-store rule a cycle later: one escalated incident', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const trustWrite: Finding = {
      ...makecertCreate('CN=ignored', 'x', { minutes: 12 }),
      ruleId: 'trust-store-tampering',
      tool: 'other',
      action: 'import-store',
      branch: 'Registry-TrustStoreWrite',
      certificate: { subject: null, thumbprint: '5F98EBBFE735CDDAE00E33E0FD69050EF9220254', files: [], store: 'LocalMachine\\Root', codeSigningEku: false },
    };
    const rules = [RULE, 'trust-store-tampering'];
    const first = await h.cycle([create], at(5), { chainRuleIds: rules });
    const id = first.announcements[0]!.incident.id;
    const second = await h.cycle([trustWrite], at(20), { ruleId: 'trust-store-tampering', chainRuleIds: rules });
    expect(second.announcements).toHaveLength(1);
    expect(second.announcements[0]).toMatchObject({ kind: 'update', incident: { id, ruleId: RULE, chain: true, severity: 'high' } });
    expect(second.announcements[0]!.incident.findingIds).toEqual([create.id, trustWrite.id]);
    // Without the other rule's memory the write stands alone.
    const h2 = await harness();
    await h2.cycle([create], at(5));
    const alone = await h2.cycle([trustWrite], at(20), { ruleId: 'trust-store-tampering' });
    expect(alone.announcements[0]).toMatchObject({ kind: 'new', incident: { chain: false } });
  });
});

/**
 * processIncidentBatch against Azurite, one call per hunt cycle: stories across cycles (the
 * headline makecert -> signtool chain split by 10-minute windows, rows that arrive hours late, a
 * build agent's repeated signing), the lifecycle (a later finding updates the same incident; a
 * story that restarts is a new incident naming the previous one), escalation at once, held-back
 * updates flushed by quiet cycles, no duplicates, and the request budget.
 */
import { processIncidentBatch, type IncidentBatch, type IncidentBatchDeps } from '../../../shared/incidents/pipeline';
import { IncidentStore } from '../../../shared/incidents/store';
import { StoryMemory } from '../../../shared/incidents/storyMemory';
import type { Finding } from '../../../shared/model/finding';
import { validateIncident } from '../../../shared/schema/validate';
import { at, makecertCreate, newSelfSignedCert, pvk2pfx, signtoolSign } from '../../support/findings';
import { buildContext, countingTable, HOUR, RULE, TENANT, type CountingTable } from './support';

interface Harness {
  incidents: IncidentStore;
  stories: StoryMemory;
  incidentTable: CountingTable;
  storyTable: CountingTable;
  /** One hunt cycle: process, "enqueue", commit. */
  cycle(findings: Finding[], now: string, options?: { commit?: boolean; ruleId?: string }): Promise<IncidentBatch>;
  requests(): number;
  reset(): void;
}

async function harness(): Promise<Harness> {
  const incidentTable = await countingTable('incidents');
  const storyTable = await countingTable('stories');
  const incidents = new IncidentStore(incidentTable.table);
  const stories = new StoryMemory(storyTable.table, { params: buildContext().story });
  return {
    incidents,
    stories,
    incidentTable,
    storyTable,
    async cycle(findings, now, options = {}) {
      const batch = await processIncidentBatch(findings, {
        incidents,
        stories,
        build: options.ruleId ? { ...buildContext(), rule: { ...buildContext().rule, id: options.ruleId } } : buildContext(),
        now: new Date(now),
        updateIntervalMs: HOUR,
      });
      if (options.commit !== false) await batch.commit();
      return batch;
    },
    requests: () => incidentTable.requests() + storyTable.requests(),
    reset: () => {
      incidentTable.reset();
      storyTable.reset();
    },
  };
}

function deps(h: Harness): Omit<IncidentBatchDeps, 'now'> {
  return { incidents: h.incidents, stories: h.stories, build: buildContext(), updateIntervalMs: HOUR };
}

describe('processIncidentBatch: one story, one incident, across cycles', () => {
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
    // The remembered creation was not counted again.
    expect(update!.incident.findingCount).toBe(2);
    expect(update!.incident.findingIds).toEqual([create.id, sign.id]);
    expect(second.counts).toEqual({ new: 0, updated: 1 });
    expect(validateIncident(update!.incident)).toEqual([]);
    expect(await h.incidents.get(TENANT, RULE, id)).toMatchObject({ findingCount: 2, announcedFindingCount: 2, chain: true, announcedChain: true, pendingSince: null });

    // The same window again (a retry, an overlap): nothing.
    const third = await h.cycle([sign], at(30));
    expect(third.announcements).toEqual([]);
    expect(third.counts).toEqual({ new: 0, updated: 0 });
    expect((await h.cycle([sign], at(90))).announcements).toEqual([]);
  });

  test('makecert and pvk2pfx in one cycle are one incident; signtool /f SPC.pfx in the next joins it as a chain', async () => {
    const h = await harness();
    const create = makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 });
    const convert = pvk2pfx('SPC', { minutes: 2 });
    const sign = signtoolSign('payload.exe', { pfx: 'C:\\build\\SPC.pfx' }, { minutes: 14 });
    const first = await h.cycle([create, convert], at(5));
    expect(first.announcements).toHaveLength(1);
    const id = first.announcements[0]!.incident.id;

    const second = await h.cycle([sign], at(20));
    expect(second.announcements).toHaveLength(1);
    expect(second.announcements[0]).toMatchObject({ kind: 'update', incident: { id, chain: true, severity: 'high' } });
    expect(second.announcements[0]!.incident.chainLink!.linkedBy).toBe('file');
    expect(second.announcements[0]!.incident.findings.map((f) => f.id)).toEqual([create.id, convert.id, sign.id]);
  });

  test('a row that arrives three hours late joins the incident of the story it happened in', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Microsoft Corporation', { minutes: 0 });
    const sign = signtoolSign('C:\\Users\\alice\\AppData\\Roaming\\sync.exe', {}, { minutes: 1 });
    const first = await h.cycle([create], at(10));
    const late = await h.cycle([sign], at(190));
    expect(late.announcements.map((a) => [a.kind, a.incident.id, a.incident.chain])).toEqual([['update', first.announcements[0]!.incident.id, true]]);
  });

  test('repetitive signing over several cycles is one incident with a count and the distinct files', async () => {
    const h = await harness();
    const agent = { fileName: 'cmd.exe', commandLine: 'cmd.exe /c "CALL D:\\agent\\_work\\_temp\\sign.cmd"', processId: 30784 };
    const signs = Array.from({ length: 30 }, (_, i) => signtoolSign(`D:\\out\\Lib${i}.dll`, { sha1: '19966BD56F127F4E56286DD576CD7ADAE92A0096' }, { minutes: i * 1.5, parent: agent }));
    const ids = new Set<string>();
    for (const [k, slice] of [signs.slice(0, 7), signs.slice(7, 14), signs.slice(14, 21), signs.slice(21)].entries()) {
      const batch = await h.cycle(slice, at(10 * (k + 1) + 5));
      for (const a of batch.announcements) ids.add(a.incident.id);
    }
    const final = await h.cycle([], at(200));
    for (const a of final.announcements) ids.add(a.incident.id);
    expect(ids.size).toBe(1);
    const stored = await h.incidents.get(TENANT, RULE, [...ids][0]!);
    expect(stored).toMatchObject({ findingCount: 30, announcedFindingCount: 30 });
    expect(final.announcements[0]!.incident.story).toMatchObject({ fileCount: 30 });
  });

  test('creation and signing on different devices are two incidents', async () => {
    const h = await harness();
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 15, device: { id: 'other-device', name: 'WS-999' } });
    const first = await h.cycle([create], at(5));
    const second = await h.cycle([sign], at(20));
    expect(second.announcements.map((a) => [a.kind, a.incident.chain])).toEqual([['new', false]]);
    expect(second.announcements[0]!.incident.id).not.toBe(first.announcements[0]!.incident.id);
    expect(second.announcements[0]!.incident.findingIds).toEqual([sign.id]);
  });

  test('a story that restarts after the grouping window is a new incident that names the previous one', async () => {
    const h = await harness();
    const monday = signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 0 });
    const thursday = signtoolSign('Host.exe', { pfx: 'hansen.pfx' }, { minutes: 3 * 24 * 60, parent: { processId: 3712 } });
    const first = await h.cycle([monday], at(10));
    const later = await h.cycle([thursday], at(3 * 24 * 60 + 10));
    expect(later.announcements.map((a) => a.kind)).toEqual(['new']);
    const incident = later.announcements[0]!.incident;
    expect(incident.id).not.toBe(first.announcements[0]!.incident.id);
    expect(incident.story.previousIncidentId).toBe(first.announcements[0]!.incident.id);
    expect(incident.findingIds).toEqual([thursday.id]);
  });

  test('a suppressed finding recalls nothing and builds nothing', async () => {
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
    // Retried window: the same story, the same id; announced once.
    const retried = await h.cycle([create], at(15));
    expect(retried.announcements.map((a) => [a.kind, a.incident.id])).toEqual([['new', lost.announcements[0]!.incident.id]]);
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

    // A creation: recall (1 device), upsert (read + write), pending query; commit: remember
    // (write + sweep), mark (read + write).
    h.reset();
    const first = await processIncidentBatch([create], { ...deps(h), now: new Date(at(5)) });
    expect(h.requests()).toBe(4);
    h.reset();
    await first.commit();
    expect(h.requests()).toBe(4);

    // The signing: the same shape.
    h.reset();
    const second = await processIncidentBatch([sign], { ...deps(h), now: new Date(at(20)) });
    const processRequests = h.requests();
    h.reset();
    await second.commit();
    expect([processRequests, h.requests()]).toEqual([4, 4]);
  });
});

describe('processIncidentBatch: stories across rules', () => {
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
    const first = await h.cycle([create], at(5));
    const id = first.announcements[0]!.incident.id;
    const second = await h.cycle([trustWrite], at(20), { ruleId: 'trust-store-tampering' });
    expect(second.announcements).toHaveLength(1);
    // The incident stays in the partition of the rule its story started in.
    expect(second.announcements[0]).toMatchObject({ kind: 'update', incident: { id, ruleId: RULE, chain: true, severity: 'high' } });
    expect(second.announcements[0]!.incident.findingIds).toEqual([create.id, trustWrite.id]);
  });
});

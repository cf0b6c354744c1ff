/**
 * The story memory against Azurite: what one cycle remembers, the next recalls (per device
 * partition, across rules); steps are bounded per story; expired rows are not returned and are
 * swept; a finding too large for one property is kept bounded, not lost.
 */
import { deviceKey } from '../../../shared/incidents/identity';
import { assembleStories } from '../../../shared/incidents/stories';
import { MAX_REMEMBERED_STEPS, SEEN_BEFORE_MS, StoryMemory, stepsToRemember, storyMemoryPartitionKey } from '../../../shared/incidents/storyMemory';
import { at, makecertCreate, newSelfSignedCert, pvk2pfx, signtoolSign } from '../../support/findings';
import { countingTable, HOUR, rowCount, TENANT } from './support';

const PARAMS = { gapMs: HOUR / 2, windowMs: 8 * HOUR, maxSpanMs: 24 * HOUR };

describe('StoryMemory (Azurite)', () => {
  test('a story remembered by one cycle is recalled by the next, with its steps and material', async () => {
    const { table } = await countingTable('stories');
    const memory = new StoryMemory(table, { params: PARAMS });
    const steps = [makecertCreate('CN=Dana', 'dana', { minutes: 0 }), pvk2pfx('dana', { minutes: 2 })];
    const drafts = assembleStories({ tenantId: TENANT, fresh: steps, params: PARAMS });
    await memory.remember(TENANT, drafts, new Date(at(5)));

    const recalled = await memory.recall(TENANT, [deviceKey(steps[0]!.device)], new Date(at(15)));
    expect(recalled.stories).toHaveLength(1);
    expect(recalled.stories[0]).toMatchObject({
      incidentId: drafts[0]!.incidentId,
      ruleId: 't1587-002',
      actorKey: 'contoso\\alice',
      firstSeen: Date.parse(at(0)),
      lastSeen: Date.parse(at(2)),
      findingCount: 2,
      fileCount: 3,
    });
    expect(recalled.stories[0]!.materials.get('file:dana.pfx')).toBe(Date.parse(at(2)));
    expect(recalled.steps.map((s) => [s.incidentId, s.finding.id])).toEqual(steps.map((f) => [drafts[0]!.incidentId, f.id]));
    // Another device's partition holds nothing of it.
    expect(await memory.recall(TENANT, ['id:other'], new Date(at(15)))).toEqual({ stories: [], steps: [] });
  });

  test('steps are remembered up to the cap per story; the story row still counts them all', async () => {
    const { table } = await countingTable('stories');
    const memory = new StoryMemory(table, { params: PARAMS });
    const signs = Array.from({ length: MAX_REMEMBERED_STEPS + 10 }, (_, i) => signtoolSign(`f${i}.dll`, { sha1: 'AB' }, { minutes: i }));
    const create = newSelfSignedCert('CN=Build', { minutes: 0 });
    const drafts = assembleStories({ tenantId: TENANT, fresh: [...signs, create], params: PARAMS });
    expect(drafts).toHaveLength(1);
    // The creation is kept even though it is not among the first steps of the cap.
    expect(stepsToRemember(drafts[0]!.findings).map((f) => f.id)).toContain(create.id);
    await memory.remember(TENANT, drafts, new Date(at(60)));
    const recalled = await memory.recall(TENANT, [drafts[0]!.deviceKey], new Date(at(61)));
    expect(recalled.steps).toHaveLength(MAX_REMEMBERED_STEPS);
    expect(recalled.stories[0]!.findingCount).toBe(MAX_REMEMBERED_STEPS + 11);
  });

  test('expired steps and stories are not recalled, and are deleted', async () => {
    const { table } = await countingTable('stories');
    const memory = new StoryMemory(table, { params: PARAMS });
    const drafts = assembleStories({ tenantId: TENANT, fresh: [newSelfSignedCert('CN=Old', { minutes: 0 })], params: PARAMS });
    await memory.remember(TENANT, drafts, new Date(at(5)));
    expect(await rowCount(table)).toBe(2);
    // Past the step's life (span + window) the step goes; the story row stays for "seen before".
    const later = await memory.recall(TENANT, [drafts[0]!.deviceKey], new Date(at(33 * 60)));
    expect(later.steps).toEqual([]);
    expect(later.stories).toHaveLength(1);
    expect(await rowCount(table)).toBe(1);
    // Past SEEN_BEFORE_MS the story goes too.
    const gone = await memory.recall(TENANT, [drafts[0]!.deviceKey], new Date(Date.parse(at(5)) + SEEN_BEFORE_MS + HOUR));
    expect(gone).toEqual({ stories: [], steps: [] });
    expect(await rowCount(table)).toBe(0);
  });

  test('writing sweeps expired rows of other devices too', async () => {
    const { table } = await countingTable('stories');
    const memory = new StoryMemory(table, { params: PARAMS });
    const old = assembleStories({ tenantId: TENANT, fresh: [newSelfSignedCert('CN=Old', { minutes: 0, device: { id: 'dev-a', name: 'A' } })], params: PARAMS });
    await memory.remember(TENANT, old, new Date(at(5)));
    const laterNow = new Date(Date.parse(at(5)) + SEEN_BEFORE_MS + HOUR);
    const fresh = assembleStories({ tenantId: TENANT, fresh: [newSelfSignedCert('CN=New', { timestamp: laterNow.toISOString(), device: { id: 'dev-b', name: 'B' } })], params: PARAMS });
    await memory.remember(TENANT, fresh, laterNow);
    const partitions = new Set<string>();
    for await (const e of table.listEntities()) partitions.add(e.partitionKey!);
    expect([...partitions]).toEqual([storyMemoryPartitionKey(TENANT, 'id:dev-b')]);
  });

  test('a finding too large for one property is remembered bounded, not lost', async () => {
    const { table } = await countingTable('stories');
    const memory = new StoryMemory(table, { params: PARAMS });
    const huge = newSelfSignedCert('CN=Huge', { minutes: 0, commandLine: `powershell -c "${'A'.repeat(200_000)}"` });
    const drafts = assembleStories({ tenantId: TENANT, fresh: [huge], params: PARAMS });
    await memory.remember(TENANT, drafts, new Date(at(1)));
    const recalled = await memory.recall(TENANT, [drafts[0]!.deviceKey], new Date(at(2)));
    expect(recalled.steps.map((s) => s.finding.id)).toEqual([huge.id]);
    expect(recalled.steps[0]!.finding.commandLine.length).toBeLessThan(huge.commandLine.length);
  });
});

/**
 * Rows that cannot be read are never dropped in silence (issue 15.7): a cycle whose answer holds
 * structurally broken rows raises a health alert with their count and reasons (through the real
 * queue, on Azurite), once per cycle; a cycle without any raises none.
 */
import nock from 'nock';
import { DEMO_NOW, loadDemoSample } from '../../../shared/demo/demo';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { createHarness } from '../../support/huntHarness';

const sample = loadDemoSample();
const broken = normaliseResults(sample, { ruleId: 't1587-002' }).rejected;

afterEach(() => {
  nock.cleanAll();
});

test('a cycle that skips rows raises one health alert with the count and the reasons', async () => {
  expect(broken.length).toBe(2);
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  const [run] = await h.runtime().runAll();
  expect(run?.counts.rejectedRows).toBe(2);
  const health = (await h.queuedMessages()).flatMap((m) => (m.kind === 'health' ? [m.payload] : []));
  expect(health.map((p) => p.code)).toEqual(['hunt-rows-rejected']);
  const alert = health[0]!;
  expect(alert.summary).toBe('Hunting t1587-002: 2 result rows could not be read and were skipped');
  for (const row of broken) expect(alert.details.detail).toContain(row.reason);
  expect(h.log.records.filter((r) => r.message.startsWith('HUNT_HEALTH_ALERT')).length).toBe(1);
});

test('a cycle whose rows all read raises no rows-rejected alert', async () => {
  const clean = { schema: sample.schema, results: sample.results.filter((_, i) => !broken.some((b) => b.index === i)) };
  const h = await createHarness({ now: DEMO_NOW, data: clean });
  const [run] = await h.runtime().runAll();
  expect(run?.counts.rejectedRows).toBe(0);
  expect((await h.queuedMessages()).filter((m) => m.kind === 'health')).toEqual([]);
});

/**
 * The `hunt` timer handler called as the Functions host would call it: a Timer object and an
 * InvocationContext, over real storage (Azurite) and a nock'd Graph.
 */
import { InvocationContext, type Timer } from '@azure/functions';
import nock from 'nock';
import { huntHandler } from '../../../functions/hunt';
import { DEMO_NOW, loadDemoSample } from '../../../shared/demo/demo';
import { createHarness } from '../../support/huntHarness';

afterEach(() => nock.cleanAll());

function timer(isPastDue: boolean): Timer {
  return { isPastDue, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };
}

function context(lines: { level: string; text: string }[]): InvocationContext {
  return new InvocationContext({
    functionName: 'hunt',
    invocationId: 'test-invocation',
    logHandler: (level, ...args) => lines.push({ level, text: args.map(String).join(' ') }),
  });
}

test('one timer tick runs a cycle and logs one structured summary line', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: loadDemoSample() });
  const lines: { level: string; text: string }[] = [];
  const records = await huntHandler(timer(false), context(lines), { runtime: async () => h.runtime() });
  expect(records).toHaveLength(1);
  expect(records[0]?.outcome).toBe('succeeded');
  // The harness logs to memory; the handler's own log goes through the context.
  expect(h.log.records.filter((r) => r.message.startsWith('hunt t1587-002 succeeded')).length).toBe(1);
  const summary = h.log.records.find((r) => r.message.startsWith('hunt t1587-002 succeeded'));
  // Every row of the sample is a finding but its two deliberately broken ones.
  expect(summary?.properties).toMatchObject({ ruleId: 't1587-002', outcome: 'succeeded', findings: loadDemoSample().results.length - 2, rejectedRows: 2 });
  expect(lines.some((l) => l.text.includes('past due'))).toBe(false);
});

test('a past-due tick says so and continues from the checkpoint', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: loadDemoSample() });
  const lines: { level: string; text: string }[] = [];
  await huntHandler(timer(true), context(lines), { runtime: async () => h.runtime() });
  expect(lines.some((l) => l.level === 'warning' && l.text.includes('past due'))).toBe(true);
});

test('a failed cycle fails the invocation with the reason, after recording the run', async () => {
  const h = await createHarness({
    now: DEMO_NOW,
    data: loadDemoSample(),
    respond: () => [403, { error: { code: 'Forbidden', message: 'Missing application permission' } }],
  });
  await expect(huntHandler(timer(false), context([]), { runtime: async () => h.runtime() })).rejects.toThrow(/ThreatHunting\.Read\.All/);
  const runs = await h.runtime().checkpoints.listRuns(h.settings.tenantId, 't1587-002');
  expect(runs[0]?.outcome).toBe('failed');
});

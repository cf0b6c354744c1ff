/**
 * A crash or failure in the very first cycle must not open a gap (issue #15 item 4): with no
 * checkpoint yet, the first window's start is recorded durably before the first query, and every
 * later cycle starts from it until a checkpoint exists.
 */
import nock from 'nock';
import { DEMO_NOW, loadDemoSample } from '../../../shared/demo/demo';
import { createHarness } from '../../support/huntHarness';

const MIN = 60_000;
const sample = loadDemoSample();

afterEach(() => {
  nock.cleanAll();
});

test('a first cycle that fails leaves its start behind: the next cycle hunts from there, not from its own later look-back', async () => {
  let failing = true;
  const h = await createHarness({
    now: DEMO_NOW,
    data: sample,
    respond: () => (failing ? [403, { error: { code: 'Forbidden', message: 'Insufficient privileges' } }] : undefined),
  });
  const [first] = await h.runtime().runAll();
  expect(first?.outcome).toBe('failed');
  const firstStart = h.calls[0]!.window!.start;

  failing = false;
  h.clock.advance(30 * MIN);
  const [second] = await h.runtime().runAll();
  expect(['succeeded', 'partial']).toContain(second?.outcome);
  expect(h.calls[1]!.window!.start).toBe(firstStart);
  const hunted = second!.windows.map((w) => [w.start, w.end]);
  expect(hunted[0]![0]).toBe(firstStart);
  for (let i = 1; i < hunted.length; i++) expect(hunted[i]![0]).toBe(hunted[i - 1]![1]);
});

test('a first cycle killed after its first query (no run record at all) leaves its start behind too', async () => {
  const h = await createHarness({ now: DEMO_NOW, data: sample });
  const dying = h.runtime();
  // The process dies right after the query: nothing after it is written, not even the run record.
  dying.checkpoints.advance = async () => {
    throw new Error('killed');
  };
  dying.checkpoints.finish = async () => {
    throw new Error('killed');
  };
  await dying.runAll();
  const firstStart = h.calls[0]!.window!.start;

  // The dead execution's lease expires; a later cycle starts where the first one did.
  h.clock.advance(h.settings.hunt.leaseMs + 10 * MIN);
  const [next] = await h.runtime().runAll();
  expect(['succeeded', 'partial']).toContain(next?.outcome);
  expect(next!.windows[0]!.start).toBe(firstStart);
});

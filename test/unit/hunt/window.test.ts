import { DEFENDER_RETENTION_MS, planWindows, splitWindow } from '../../../shared/hunt/window';

const MIN = 60_000;
const HOUR = 60 * MIN;
const now = new Date('2026-11-27T12:00:00.000Z');
const base = {
  now,
  ingestionDelayMs: 15 * MIN,
  overlapMs: 10 * MIN,
  initialLookbackMs: 24 * HOUR,
  chunkMs: 6 * HOUR,
  maxChunks: 4,
};

describe('planWindows', () => {
  test('first run looks back the initial period in chunks, ending ingestionDelay before now', () => {
    const plan = planWindows({ ...base, checkpoint: null });
    expect(plan.windows).toHaveLength(4);
    expect(plan.windows[0]!.start.toISOString()).toBe('2026-11-26T11:45:00.000Z');
    expect(plan.windows[3]!.end.toISOString()).toBe('2026-11-27T11:45:00.000Z');
    expect(plan.caughtUp).toBe(true);
    expect(plan.lost).toBeNull();
  });

  test('before the first checkpoint, a recorded origin is where every cycle starts (no overlap needed)', () => {
    const origin = new Date('2026-11-26T09:00:00.000Z');
    const plan = planWindows({ ...base, checkpoint: null, origin });
    expect(plan.windows[0]!.start).toEqual(origin);
    expect(plan.windows.map((w) => w.end.getTime() - w.start.getTime())).toEqual([6 * HOUR, 6 * HOUR, 6 * HOUR, 6 * HOUR]);
    expect(plan.caughtUp).toBe(false);
    // Once a checkpoint exists, the origin no longer matters.
    expect(planWindows({ ...base, checkpoint: new Date('2026-11-27T11:35:00.000Z'), origin }).windows[0]!.start.toISOString()).toBe(
      '2026-11-27T11:25:00.000Z',
    );
    // An origin older than Defender keeps: the interval is reported lost, exactly.
    const old = new Date(now.getTime() - DEFENDER_RETENTION_MS - 5 * HOUR);
    expect(planWindows({ ...base, checkpoint: null, origin: old }).lost?.start).toEqual(old);
  });

  test('a normal cycle starts at checkpoint minus overlap', () => {
    const plan = planWindows({ ...base, checkpoint: new Date('2026-11-27T11:35:00.000Z') });
    expect(plan.windows).toEqual([
      { start: new Date('2026-11-27T11:25:00.000Z'), end: new Date('2026-11-27T11:45:00.000Z') },
    ]);
    expect(plan.caughtUp).toBe(true);
  });

  test('consecutive windows cover every minute: each starts before the previous end', () => {
    let checkpoint: Date | null = null;
    let covered = 0;
    for (let minute = 0; minute < 120; minute += 10) {
      const plan = planWindows({ ...base, checkpoint, now: new Date(now.getTime() + minute * MIN) });
      for (const w of plan.windows) {
        if (checkpoint) expect(w.start.getTime()).toBeLessThanOrEqual(checkpoint.getTime());
        covered = Math.max(covered, w.end.getTime());
        checkpoint = w.end;
      }
    }
    expect(covered).toBe(now.getTime() + 110 * MIN - 15 * MIN);
  });

  test('a three-day outage is backfilled in chunks over several cycles', () => {
    const checkpoint = new Date(now.getTime() - 3 * 24 * HOUR);
    const plan = planWindows({ ...base, checkpoint });
    expect(plan.windows).toHaveLength(4);
    expect(plan.windows[0]!.start.getTime()).toBe(checkpoint.getTime() - 10 * MIN);
    for (const w of plan.windows) expect(w.end.getTime() - w.start.getTime()).toBeLessThanOrEqual(6 * HOUR);
    expect(plan.caughtUp).toBe(false);
    expect(plan.remainingBacklogMs).toBe(72 * HOUR - 15 * MIN - (24 * HOUR - 10 * MIN));
  });

  test('data older than 30 days is reported lost with the exact interval', () => {
    const checkpoint = new Date(now.getTime() - 40 * 24 * HOUR);
    const plan = planWindows({ ...base, checkpoint });
    const oldest = now.getTime() - DEFENDER_RETENTION_MS + HOUR;
    expect(plan.lost).toEqual({ start: checkpoint, end: new Date(oldest) });
    expect(plan.windows[0]!.start.getTime()).toBe(oldest);
  });

  test('no window when the checkpoint is already at the end', () => {
    const plan = planWindows({ ...base, checkpoint: new Date(now.getTime() - 5 * MIN) });
    expect(plan.windows).toEqual([]);
    expect(plan.caughtUp).toBe(true);
  });
});

test('splitWindow halves a window without gap or overlap', () => {
  const [a, b] = splitWindow({ start: new Date(0), end: new Date(10 * MIN) });
  expect(a.end).toEqual(b.start);
  expect(a.start).toEqual(new Date(0));
  expect(b.end).toEqual(new Date(10 * MIN));
});

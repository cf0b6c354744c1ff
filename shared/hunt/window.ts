/**
 * Window planning (pure). A cycle hunts `[start, end)` on `ingestion_time()`:
 * `end = now - ingestionDelay` so events still being ingested are left for the next cycle,
 * `start = checkpoint - overlap` so late arrivals near the boundary are caught (duplicates are
 * removed downstream by the stable finding id). Until the first checkpoint exists, every cycle
 * starts at the recorded `origin` (the first window's start, stored before the first query), so a
 * first cycle that fails or dies opens no gap. After an outage the gap is backfilled in chunks,
 * at most `maxChunks` per cycle, never past the 30 days Defender keeps; older data is reported
 * as lost with the exact interval.
 */

export interface HuntWindow {
  start: Date;
  end: Date;
}

export interface WindowPlanInput {
  now: Date;
  /** End of the last window whose results are durably stored; null on the first run. */
  checkpoint: Date | null;
  /** Start of the very first window, recorded before its query; used while `checkpoint` is null. */
  origin?: Date | null;
  ingestionDelayMs: number;
  overlapMs: number;
  initialLookbackMs: number;
  chunkMs: number;
  maxChunks: number;
  /** Defender keeps 30 days; a small safety margin keeps the oldest chunk queryable. */
  retentionMs?: number;
}

export interface WindowPlan {
  windows: HuntWindow[];
  /** Telemetry older than retention that was never hunted, or null. */
  lost: HuntWindow | null;
  /** False when the backlog needs more cycles (more chunks than `maxChunks`). */
  caughtUp: boolean;
  /** How far the hunted data lags behind `now - ingestionDelay` after this plan runs. */
  remainingBacklogMs: number;
}

export const DEFENDER_RETENTION_MS = 30 * 24 * 3600_000;
const RETENTION_SAFETY_MS = 3600_000;

export function planWindows(input: WindowPlanInput): WindowPlan {
  const retentionMs = input.retentionMs ?? DEFENDER_RETENTION_MS;
  const end = input.now.getTime() - input.ingestionDelayMs;
  const oldestQueryable = input.now.getTime() - retentionMs + RETENTION_SAFETY_MS;

  let start: number;
  let lost: HuntWindow | null = null;
  const origin = input.origin ?? null;
  if (input.checkpoint === null && origin === null) {
    start = Math.max(end - input.initialLookbackMs, oldestQueryable);
  } else {
    // Everything before `resumeAt` is hunted (checkpoint) or was never meant to be (origin).
    const resumeAt = input.checkpoint !== null ? input.checkpoint.getTime() : (origin as Date).getTime();
    start = input.checkpoint !== null ? resumeAt - input.overlapMs : resumeAt;
    if (resumeAt < oldestQueryable) {
      lost = { start: new Date(resumeAt), end: new Date(Math.min(oldestQueryable, end)) };
      start = oldestQueryable;
    } else if (start < oldestQueryable) {
      start = oldestQueryable;
    }
  }

  const windows: HuntWindow[] = [];
  let cursor = start;
  while (cursor < end && windows.length < input.maxChunks) {
    const chunkEnd = Math.min(cursor + input.chunkMs, end);
    windows.push({ start: new Date(cursor), end: new Date(chunkEnd) });
    cursor = chunkEnd;
  }
  const reached = windows.length > 0 ? (windows[windows.length - 1]?.end.getTime() ?? start) : Math.max(start, end);
  return {
    windows,
    lost,
    caughtUp: reached >= end,
    remainingBacklogMs: Math.max(0, end - reached),
  };
}

/** Splits a window in two halves, for answers that may have been truncated. */
export function splitWindow(window: HuntWindow): [HuntWindow, HuntWindow] {
  const middle = new Date(window.start.getTime() + Math.floor((window.end.getTime() - window.start.getTime()) / 2));
  return [
    { start: window.start, end: middle },
    { start: middle, end: window.end },
  ];
}

export function windowLabel(window: HuntWindow): string {
  return `${window.start.toISOString()}/${window.end.toISOString()}`;
}

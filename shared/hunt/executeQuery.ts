/**
 * Runs the hunting query for one window until its answer is complete: paces calls under
 * Defender's 45 calls/minute, waits out 429s when the wait fits the cycle's deadline, retries
 * 5xx/timeouts/network failures with backoff and jitter, and splits a window whose answer may
 * have been truncated (row count at the limit, or "result size exceeded") into halves until
 * each part is complete. Rows are never silently lost: what cannot be completed throws.
 */
import type { Clock } from '../clock';
import { HuntingError, HuntingQueryError, HuntingQuotaError, HuntingTimeoutError } from '../hunting/errors';
import type { HuntingQueryRequest, HuntingSchemaColumn, HuntingSource } from '../hunting/types';
import type { RunWindowRecord } from './runRecord';
import { splitWindow, windowLabel, type HuntWindow } from './window';

/** The cycle must end now; the checkpoint stays where the last complete window left it. */
export class CycleDeadlineError extends Error {
  constructor(
    message: string,
    readonly reason: 'quota' | 'deadline',
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CycleDeadlineError';
  }
}

/** A window at the minimum size still came back truncated: rows would be lost, so stop. */
export class TruncatedWindowError extends Error {
  constructor(window: HuntWindow, rows: number) {
    super(
      `The answer for ${windowLabel(window)} may be truncated (${rows} rows) even at the smallest split window; ` +
        'lower HUNT_MIN_SPLIT_WINDOW_SECONDS or narrow the rule',
    );
    this.name = 'TruncatedWindowError';
  }
}

/**
 * Admits Graph calls for one tenant: `admit(now)` answers 0 when a call may start now (and counts
 * it), else how long to wait before asking again; `hold` is told about a 429 so that everyone
 * calling for the tenant holds off. In one process: CallPacer; across instances: the tenant's
 * shared counter (shared/tenants/quotaStore.ts).
 */
export interface CallBudget {
  admit(now: number): number | Promise<number>;
  hold?(now: number, waitMs: number): void | Promise<void>;
}

/** Sliding one-minute window of call times, so one tenant stays under Defender's 45/minute. */
export class CallPacer implements CallBudget {
  private readonly calls: number[] = [];
  constructor(private readonly maxPerMinute: number) {}

  /** How long to wait before the next call may go out. */
  delayBefore(now: number): number {
    while (this.calls.length > 0 && (this.calls[0] ?? 0) <= now - 60_000) this.calls.shift();
    if (this.calls.length < this.maxPerMinute) return 0;
    return (this.calls[0] ?? now) + 60_000 - now;
  }

  record(now: number): void {
    this.calls.push(now);
  }

  admit(now: number): number {
    const wait = this.delayBefore(now);
    if (wait === 0) this.record(now);
    return wait;
  }
}

export interface ExecuteDeps {
  source: HuntingSource;
  clock: Clock;
  random: () => number;
  pacer: CallBudget;
  /** Epoch ms after which the cycle must not start waiting. */
  deadline: number;
  note: (message: string) => void;
}

export interface ExecuteOptions {
  rowLimit: number;
  minSplitWindowMs: number;
  maxAttempts: number;
  baseBackoffMs: number;
  maxBackoffMs: number;
}

export interface WindowAnswer {
  schema: HuntingSchemaColumn[];
  rows: Record<string, unknown>[];
  records: RunWindowRecord[];
}

export const DEFAULT_EXECUTE_OPTIONS: ExecuteOptions = {
  rowLimit: 100_000,
  minSplitWindowMs: 60_000,
  maxAttempts: 4,
  baseBackoffMs: 2_000,
  maxBackoffMs: 60_000,
};

/** Full jitter: a random delay up to the exponential cap, so retries of many tenants spread out. */
export function backoffDelay(attempt: number, options: Pick<ExecuteOptions, 'baseBackoffMs' | 'maxBackoffMs'>, random: () => number): number {
  const cap = Math.min(options.maxBackoffMs, options.baseBackoffMs * 2 ** attempt);
  return Math.floor(cap / 2 + random() * (cap / 2));
}

async function waitWithin(deps: ExecuteDeps, ms: number, why: string, reason: 'quota' | 'deadline'): Promise<void> {
  if (ms <= 0) return;
  const now = deps.clock.now().getTime();
  if (now + ms > deps.deadline) {
    throw new CycleDeadlineError(`${why}: waiting ${Math.ceil(ms / 1000)} s does not fit this cycle`, reason);
  }
  deps.note(`${why}: waiting ${Math.ceil(ms / 1000)} s`);
  await deps.clock.sleep(ms);
}

async function callOnce(
  request: HuntingQueryRequest,
  deps: ExecuteDeps,
  options: ExecuteOptions,
  label: string,
): Promise<{ schema: HuntingSchemaColumn[]; results: Record<string, unknown>[] }> {
  for (let attempt = 0; ; attempt++) {
    for (let wait = await deps.pacer.admit(deps.clock.now().getTime()); wait > 0; wait = await deps.pacer.admit(deps.clock.now().getTime())) {
      await waitWithin(deps, wait, 'Pacing under the tenant\'s calls per minute', 'quota');
    }
    try {
      return await deps.source.runHuntingQuery(request);
    } catch (error) {
      if (error instanceof HuntingQuotaError) {
        const wait = error.waitMs ?? backoffDelay(attempt, options, deps.random);
        await deps.pacer.hold?.(deps.clock.now().getTime(), wait);
        await waitWithin(deps, wait, `Defender quota reached for ${label}`, 'quota');
        continue;
      }
      const retryable = error instanceof HuntingError && error.retryable;
      if (!retryable || attempt + 1 >= options.maxAttempts) throw error;
      await waitWithin(
        deps,
        backoffDelay(attempt, options, deps.random),
        `${(error as Error).name} for ${label} (attempt ${attempt + 1} of ${options.maxAttempts})`,
        'deadline',
      );
    }
  }
}

/**
 * Runs `render(window)` and returns every row of the window, splitting it while the answer may
 * be truncated. Parts are answered in time order.
 */
export async function executeWindow(
  window: HuntWindow,
  render: (window: HuntWindow) => HuntingQueryRequest,
  deps: ExecuteDeps,
  options: ExecuteOptions = DEFAULT_EXECUTE_OPTIONS,
): Promise<WindowAnswer> {
  const span = window.end.getTime() - window.start.getTime();
  const canSplit = span >= 2 * options.minSplitWindowMs;
  let answer: { schema: HuntingSchemaColumn[]; results: Record<string, unknown>[] };
  try {
    answer = await callOnce(render(window), deps, options, windowLabel(window));
  } catch (error) {
    const tooBig = error instanceof HuntingQueryError && error.resultSizeExceeded;
    const slow = error instanceof HuntingTimeoutError;
    if ((tooBig || slow) && canSplit) {
      deps.note(`${windowLabel(window)}: ${tooBig ? 'result size exceeded' : 'timed out'}; splitting the window`);
      return splitAndRun(window, render, deps, options, 0);
    }
    if (tooBig) throw new TruncatedWindowError(window, options.rowLimit);
    throw error;
  }
  if (answer.results.length >= options.rowLimit) {
    if (!canSplit) throw new TruncatedWindowError(window, answer.results.length);
    deps.note(`${windowLabel(window)}: ${answer.results.length} rows may be truncated; splitting the window`);
    return splitAndRun(window, render, deps, options, 1);
  }
  return {
    schema: answer.schema,
    rows: answer.results,
    records: [{ start: window.start.toISOString(), end: window.end.toISOString(), queries: 1, rows: answer.results.length, split: false }],
  };
}

async function splitAndRun(
  window: HuntWindow,
  render: (window: HuntWindow) => HuntingQueryRequest,
  deps: ExecuteDeps,
  options: ExecuteOptions,
  wastedQueries: number,
): Promise<WindowAnswer> {
  const [first, second] = splitWindow(window);
  const a = await executeWindow(first, render, deps, options);
  const b = await executeWindow(second, render, deps, options);
  const records = [...a.records, ...b.records].map((r) => ({ ...r, split: true }));
  if (records[0]) records[0].queries += wastedQueries;
  return { schema: a.schema.length > 0 ? a.schema : b.schema, rows: a.rows.concat(b.rows), records };
}

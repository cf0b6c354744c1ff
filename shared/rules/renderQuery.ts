/**
 * Owns turning rule templates into runnable KQL: the hunt window substituted into a rule query
 * (`renderQuery`), the Graph `Timespan` that goes with it (`timespanFor`), and triage pivots
 * rendered for one finding (`renderPivot`). Pure functions; no I/O.
 */
import { WINDOW_END_PLACEHOLDER, WINDOW_START_PLACEHOLDER, type RuleDefinition, type RulePivot } from './rule';

/** A half-open ingestion-time window [start, end). */
export interface HuntWindow {
  start: Date;
  end: Date;
}

/**
 * The rule's query with `{{WindowStart}}` / `{{WindowEnd}}` replaced by the window's ISO 8601 UTC
 * instants (millisecond precision, `Z`), which the query wraps in `datetime(...)`. Throws when
 * a placeholder is missing, another `{{...}}` placeholder is left, a date is invalid, or
 * start >= end.
 */
export function renderQuery(rule: Pick<RuleDefinition, 'id' | 'query'>, window: HuntWindow): string {
  checkWindow(window, `rule ${rule.id}`);
  return substitute(rule.query, `rule ${rule.id} query`, {
    [WINDOW_START_PLACEHOLDER]: window.start.toISOString(),
    [WINDOW_END_PLACEHOLDER]: window.end.toISOString(),
  });
}

/**
 * ISO 8601 interval `start/end` for Graph runHuntingQuery's `Timespan`, widened by `marginMs` on
 * both sides. Graph bounds rows by Timestamp while the query windows on ingestion_time(), so
 * the margin keeps late-arriving events (Timestamp before the window: offline devices, slow
 * uploads) and device clock skew (Timestamp after it) inside the Timespan.
 */
export function timespanFor(window: HuntWindow, marginMs: number): string {
  checkWindow(window, 'timespan');
  if (!Number.isFinite(marginMs) || marginMs < 0) {
    throw new RangeError(`timespan margin must be a finite number of milliseconds >= 0, got ${marginMs}`);
  }
  const start = new Date(window.start.getTime() - marginMs);
  const end = new Date(window.end.getTime() + marginMs);
  return `${start.toISOString()}/${end.toISOString()}`;
}

/** Values for a pivot: the finding's device and the time range to look at. */
export interface PivotValues {
  deviceId: string;
  from: Date;
  to: Date;
}

/** Defender DeviceIds are hex; anything outside this set is refused rather than quoted. */
const DEVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * A triage pivot with `{{DeviceId}}`, `{{From}}` and `{{To}}` substituted. The DeviceId lands
 * inside a KQL string literal, so it must look like an identifier; anything else throws.
 */
export function renderPivot(pivot: Pick<RulePivot, 'id' | 'query'>, values: PivotValues): string {
  if (!DEVICE_ID.test(values.deviceId)) {
    throw new Error(`pivot ${pivot.id}: DeviceId ${JSON.stringify(values.deviceId)} is not an identifier`);
  }
  checkWindow({ start: values.from, end: values.to }, `pivot ${pivot.id}`);
  return substitute(pivot.query, `pivot ${pivot.id}`, {
    '{{DeviceId}}': values.deviceId,
    '{{From}}': values.from.toISOString(),
    '{{To}}': values.to.toISOString(),
  });
}

function checkWindow(window: HuntWindow, label: string): void {
  const start = window.start.getTime();
  const end = window.end.getTime();
  if (Number.isNaN(start) || Number.isNaN(end)) throw new RangeError(`${label}: window has an invalid date`);
  if (start >= end) {
    throw new RangeError(`${label}: window start ${window.start.toISOString()} must be before end ${window.end.toISOString()}`);
  }
}

function substitute(template: string, label: string, values: Record<string, string>): string {
  let out = template;
  for (const [placeholder, value] of Object.entries(values)) {
    if (!out.includes(placeholder)) throw new Error(`${label}: placeholder ${placeholder} is missing`);
    out = out.split(placeholder).join(value);
  }
  const leftover = /\{\{[^{}]*\}\}/.exec(out);
  if (leftover) throw new Error(`${label}: unknown placeholder ${leftover[0]}`);
  return out;
}

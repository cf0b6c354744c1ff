/**
 * Pure parsers for the two places a throttled Defender answer says how long to wait:
 * the HTTP `Retry-After` header (RFC 9110 §10.2.3: delta-seconds or an HTTP-date) and the
 * body's "You can run queries again in <duration>" text documented for the advanced hunting CPU
 * quota. Both return milliseconds, or undefined when there is nothing usable — callers then
 * fall back to their own back-off. `now` is injected so tests never depend on the clock.
 */

const MONTHS: Readonly<Record<string, number>> = {
  jan: 0,
  feb: 1,
  mar: 2,
  apr: 3,
  may: 4,
  jun: 5,
  jul: 6,
  aug: 7,
  sep: 8,
  oct: 9,
  nov: 10,
  dec: 11,
};

// The three HTTP-date forms RFC 9110 §5.6.7 tells recipients to accept. Date.parse is not used on
// its own because V8 also "parses" strings that are no date at all.
const IMF_FIXDATE = /^[A-Za-z]{3}, (\d{2}) ([A-Za-z]{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const RFC850_DATE = /^[A-Za-z]{6,9}, (\d{2})-([A-Za-z]{3})-(\d{2}) (\d{2}):(\d{2}):(\d{2}) GMT$/;
const ASCTIME_DATE = /^[A-Za-z]{3} ([A-Za-z]{3}) ( \d|\d{2}) (\d{2}):(\d{2}):(\d{2}) (\d{4})$/;

function utc(year: number, monthName: string, day: number, h: number, m: number, s: number): number | undefined {
  const month = MONTHS[monthName.toLowerCase()];
  if (month === undefined || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return undefined;
  const ms = Date.UTC(year, month, day, h, m, Math.min(s, 59));
  // Reject dates that rolled over (31 Feb becomes 3 Mar in Date.UTC).
  return new Date(ms).getUTCDate() === day ? ms : undefined;
}

/** Parses an HTTP-date (IMF-fixdate, RFC 850 or asctime) into epoch milliseconds. */
export function parseHttpDate(value: string, now: Date): number | undefined {
  const text = value.trim();
  let match = IMF_FIXDATE.exec(text);
  if (match) {
    const [, d, mon, y, h, mi, s] = match;
    return utc(Number(y), mon ?? '', Number(d), Number(h), Number(mi), Number(s));
  }
  match = RFC850_DATE.exec(text);
  if (match) {
    const [, d, mon, yy, h, mi, s] = match;
    // Two-digit years: RFC 9110 says a year more than 50 years ahead belongs to the past century.
    let year = 2000 + Number(yy);
    if (year > now.getUTCFullYear() + 50) year -= 100;
    return utc(year, mon ?? '', Number(d), Number(h), Number(mi), Number(s));
  }
  match = ASCTIME_DATE.exec(text);
  if (match) {
    const [, mon, d, h, mi, s, y] = match;
    return utc(Number(y), mon ?? '', Number((d ?? '').trim()), Number(h), Number(mi), Number(s));
  }
  return undefined;
}

/**
 * `Retry-After` → milliseconds to wait from `now`. Delta-seconds are taken as they are (fractions
 * tolerated, though RFC 9110 only allows digits); an HTTP-date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) {
    const ms = Math.round(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const at = parseHttpDate(text, now);
  if (at === undefined) return undefined;
  return Math.max(0, at - now.getTime());
}

// Where the duration starts: Defender's documented text is "You can run queries again in
// <duration>."; "try again in" is accepted too because some throttling bodies word it that way.
const AGAIN_IN = /\b(?:run\s+(?:the\s+)?quer(?:y|ies)|try)\s+again\s+in\s+/i;

// A .NET TimeSpan as Defender formats it: [d.]hh:mm:ss[.fffffff]
const TIMESPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?\b/;

const UNIT_MS: ReadonlyArray<[RegExp, number]> = [
  [/^(?:ms|msecs?|milliseconds?)$/i, 1],
  [/^(?:s|secs?|seconds?)$/i, 1000],
  [/^(?:m|mins?|minutes?)$/i, 60_000],
  [/^(?:h|hrs?|hours?)$/i, 3_600_000],
  [/^(?:d|days?)$/i, 86_400_000],
];

const AMOUNT_WITH_UNIT = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)/;
const SEPARATOR = /^(?:\s*,\s*|\s+and\s+|\s+)/i;

function unitMs(unit: string): number | undefined {
  return UNIT_MS.find(([pattern]) => pattern.test(unit))?.[1];
}

/**
 * The body's "run queries again in …" duration → milliseconds. Understands the TimeSpan form
 * ("00:01:23", "1.02:03:04", "00:00:59.5") and words ("83 seconds", "1 minute and 23 seconds",
 * "2 hours, 5 minutes"). Works on raw text, so it also finds the phrase inside a JSON body.
 */
export function parseRunAgainIn(text: string | null | undefined): number | undefined {
  if (text === null || text === undefined) return undefined;
  const start = AGAIN_IN.exec(text);
  if (!start) return undefined;
  const rest = text.slice(start.index + start[0].length);

  const span = TIMESPAN.exec(rest);
  if (span) {
    const [, days, hours, minutes, seconds, fraction] = span;
    if (Number(minutes) > 59 || Number(seconds) > 59) return undefined;
    const fractionMs = fraction === undefined ? 0 : Math.round(Number(`0.${fraction}`) * 1000);
    return (
      Number(days ?? 0) * 86_400_000 +
      Number(hours) * 3_600_000 +
      Number(minutes) * 60_000 +
      Number(seconds) * 1000 +
      fractionMs
    );
  }

  let remaining = rest;
  let total = 0;
  let parts = 0;
  for (;;) {
    const part = AMOUNT_WITH_UNIT.exec(remaining);
    if (!part) break;
    const factor = unitMs(part[2] ?? '');
    if (factor === undefined) break;
    total += Number(part[1]) * factor;
    parts += 1;
    remaining = remaining.slice(part[0].length);
    const separator = SEPARATOR.exec(remaining);
    if (!separator) break;
    remaining = remaining.slice(separator[0].length);
  }
  return parts === 0 ? undefined : Math.round(total);
}

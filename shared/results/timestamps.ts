/**
 * Date and time values as people save hunting results. Graph answers carry ISO 8601 UTC
 * (`2024-05-14T07:21:44.1834467Z`). The Defender portal's CSV export writes what the portal
 * displays, which follows the user's locale and time-zone setting: ISO 8601, `May 7, 2024 6:35:31 PM`,
 * `05/12/2024 6:41:32 PM` or `13/03/2024, 3:40:13.988 pm` (see docs/cli.md for what is confirmed).
 * Display formats carry no zone: they are read as UTC and the caller says so in a note.
 */

export type TimestampStyle = 'iso' | 'iso-without-zone' | 'month-name' | 'day-first' | 'month-first';

export interface ReadTimestamp {
  /** ISO 8601 UTC, the fraction kept to 7 digits as written. */
  iso: string;
  style: TimestampStyle;
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

const ISO_ZONED = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})$/i;
const ISO_LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?$/;
const TIME = String.raw`(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*([ap]\.?\s?m\.?)?`;
const MONTH_NAME = new RegExp(String.raw`^([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(\d{4}),?\s+${TIME}$`, 'i');
const NUMERIC = new RegExp(String.raw`^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}),?\s+${TIME}$`, 'i');

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function build(year: number, month: number, day: number, hour: number, minute: number, second: number, fraction: string | undefined, meridiem: string | undefined): string | null {
  let h = hour;
  if (meridiem !== undefined) {
    if (h < 1 || h > 12) return null;
    const pm = /^p/i.test(meridiem);
    h = (h % 12) + (pm ? 12 : 0);
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || minute > 59 || second > 59) return null;
  const date = new Date(Date.UTC(year, month - 1, day, h, minute, second));
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return null;
  const digits = (fraction ?? '').slice(0, 7);
  return `${pad(year, 4)}-${pad(month)}-${pad(day)}T${pad(h)}:${pad(minute)}:${pad(second)}${digits ? `.${digits}` : ''}Z`;
}

/**
 * Reads one value. `dayFirst` settles `05/12/2024`: true reads 5 December, false 12 May; the caller
 * decides it once per file ({@link numericDateOrder}).
 */
export function readTimestamp(text: string, dayFirst = false): ReadTimestamp | null {
  const value = text.trim();
  if (value.length > 64) return null;
  if (ISO_ZONED.test(value)) {
    const time = Date.parse(value.replace(' ', 'T').replace(',', '.'));
    return Number.isNaN(time) ? null : { iso: value, style: 'iso' };
  }
  let m = ISO_LOCAL.exec(value);
  if (m !== null) {
    const iso = build(+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0), m[7], undefined);
    return iso === null ? null : { iso, style: 'iso-without-zone' };
  }
  m = MONTH_NAME.exec(value);
  if (m !== null) {
    const month = MONTHS.indexOf(m[1]!.slice(0, 3).toLowerCase()) + 1;
    if (month === 0) return null;
    const iso = build(+m[3]!, month, +m[2]!, +m[4]!, +m[5]!, +(m[6] ?? 0), m[7], m[8]);
    return iso === null ? null : { iso, style: 'month-name' };
  }
  m = NUMERIC.exec(value);
  if (m !== null) {
    const [first, second] = [+m[1]!, +m[2]!];
    const [day, month] = dayFirst ? [first, second] : [second, first];
    const iso = build(+m[3]!, month, day, +m[4]!, +m[5]!, +(m[6] ?? 0), m[7], m[8]);
    return iso === null ? null : { iso, style: dayFirst ? 'day-first' : 'month-first' };
  }
  return null;
}

/**
 * Whether a file's numeric dates put the day first: a first number above 12 anywhere says yes, a
 * second number above 12 says no; when every date is ambiguous, a comma after the date
 * (`13/03/2024, 15:40`, how en-GB and most European locales print it) says day first, its absence
 * (`05/12/2024 6:41 PM`, en-US) month first.
 */
export function numericDateOrder(values: readonly string[]): { dayFirst: boolean; decided: 'by-value' | 'by-style' } {
  let comma = false;
  for (const value of values) {
    const m = NUMERIC.exec(value.trim().slice(0, 64));
    if (m === null) continue;
    if (+m[1]! > 12) return { dayFirst: true, decided: 'by-value' };
    if (+m[2]! > 12) return { dayFirst: false, decided: 'by-value' };
    if (/^\d{1,2}[/.-]\d{1,2}[/.-]\d{4},/.test(value.trim())) comma = true;
  }
  return { dayFirst: comma, decided: 'by-style' };
}

/**
 * Reading a saved hunting results file, whatever a person saved: a Microsoft Graph
 * `runHuntingQuery` answer (JSON `{schema, results}`, any key casing, with or without
 * `@odata.context`) or the Defender portal's advanced hunting CSV export (a header row of column
 * names, then one line per row). Full rows of our rules or seed-shaped ones (the published query's
 * ten columns) alike: the normaliser reads what is there. The format is detected from the text,
 * never flagged. Every command that reads hunting results (`explain`, `replay`) goes through here.
 *
 * CSV values arrive as text; they are typed by column name (the rules' result columns and the
 * published query's) so that a CSV row and the same row from Graph become the same Finding: dates
 * to ISO 8601 UTC, booleans and integers to JSON values. Anything odd in the file is said in
 * `notes`; a CSV record that is structurally broken (wrong number of fields, an unterminated quote)
 * is listed in `rejected` with its line and never guessed at.
 */
import { normaliseHuntingResults } from '../hunting/graphClient';
import type { HuntingQueryResults, HuntingSchemaColumn } from '../hunting/types';
import { OPTIONAL_RESULT_COLUMNS, RESULT_COLUMNS } from '../rules/rule';
import { parseCsv } from './csv';
import { numericDateOrder, readTimestamp, type TimestampStyle } from './timestamps';

export type HuntingResultsFormat = 'graph-json' | 'portal-csv';

/** A CSV record that could not be read as a row. */
export interface UnreadableRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  reason: string;
}

export interface HuntingResultsFile extends HuntingQueryResults {
  format: HuntingResultsFormat;
  /** What the reader assumed or changed, for the operator (time zones, date order, odd values). */
  notes: string[];
  /** CSV records that are not rows (never silently dropped: callers report and count them). */
  rejected: UnreadableRecord[];
  /** For CSV: the file line of each entry of `results` (to point the operator at a row); else empty. */
  lines: number[];
}

/** The file is neither a Graph answer nor a CSV export of hunting results. */
export class HuntingResultsFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'HuntingResultsFileError';
  }
}

/** Graph types of the columns we know by name (the rest are strings). */
const KUSTO_TO_GRAPH: Readonly<Record<string, string>> = { datetime: 'DateTime', long: 'Int64', int: 'Int32', bool: 'Boolean', string: 'String' };
const KNOWN_COLUMNS: ReadonlyMap<string, { name: string; type: string }> = new Map(
  [
    ...RESULT_COLUMNS,
    ...OPTIONAL_RESULT_COLUMNS,
    { name: 'InitiatingProcessParentFileName', type: 'string' },
    { name: 'DecodedCommand', type: 'string' },
  ].map((c) => [c.name.toLowerCase(), { name: c.name, type: KUSTO_TO_GRAPH[c.type] ?? 'String' }]),
);

const STYLE_NOTE: Readonly<Record<Exclude<TimestampStyle, 'iso'>, string>> = {
  'iso-without-zone': 'ISO 8601 without a time zone',
  'month-name': "the portal's display format (e.g. May 7, 2024 6:35:31 PM)",
  'day-first': 'the portal display format dd/mm/yyyy',
  'month-first': 'the portal display format mm/dd/yyyy',
};

/**
 * Reads hunting results from the text of a saved file. `name` (the file name) only words the
 * messages. Throws HuntingResultsFileError when the text is neither format.
 */
export function readHuntingResults(text: string, options: { name?: string } = {}): HuntingResultsFile {
  const name = options.name ?? 'the input';
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const head = body.trimStart()[0];
  if (head === '{' || head === '[') return readGraphJson(body, name);
  if (body.trim() === '') throw new HuntingResultsFileError(`${name} is empty`);
  return readPortalCsv(body, name);
}

function readGraphJson(text: string, name: string): HuntingResultsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HuntingResultsFileError(`${name} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  try {
    const answer = normaliseHuntingResults(json);
    return { ...answer, format: 'graph-json', notes: [], rejected: [], lines: [] };
  } catch (error) {
    throw new HuntingResultsFileError(`${name} is not a Graph huntingQueryResults answer: ${(error as Error).message}`, { cause: error });
  }
}

type Converter = (value: string) => unknown;

function readPortalCsv(text: string, name: string): HuntingResultsFile {
  const records = parseCsv(text);
  const header = records[0];
  if (header === undefined) throw new HuntingResultsFileError(`${name} is empty`);
  const columns = header.fields.map((f) => f.trim());
  const known = columns.filter((c) => KNOWN_COLUMNS.has(c.toLowerCase()));
  if (known.length === 0) {
    throw new HuntingResultsFileError(
      `${name} is neither a Graph huntingQueryResults answer nor an advanced hunting CSV export: its first line names no hunting column (expected a header such as Timestamp,DeviceName,...)`,
    );
  }
  const seen = new Set<string>();
  for (const column of columns) {
    const key = column.toLowerCase();
    if (column === '') throw new HuntingResultsFileError(`${name}: the header row has an empty column name`);
    if (seen.has(key)) throw new HuntingResultsFileError(`${name}: the header row names ${column} twice`);
    seen.add(key);
  }
  const schema: HuntingSchemaColumn[] = columns.map((column) => ({ name: column, type: KNOWN_COLUMNS.get(column.toLowerCase())?.type ?? 'String' }));

  const rows = records.slice(1);
  const notes: string[] = [];
  const rejected: UnreadableRecord[] = [];
  const dateColumns = schema.flatMap((c, i) => (c.type === 'DateTime' ? [i] : []));
  const order = numericDateOrder(rows.flatMap((r) => dateColumns.map((i) => r.fields[i] ?? '')));
  const styles = new Set<TimestampStyle>();
  const converters: Converter[] = schema.map((column) => converterFor(column.type, order.dayFirst, styles));

  const results: Record<string, unknown>[] = [];
  const lines: number[] = [];
  for (const record of rows) {
    if (record.unterminated) {
      rejected.push({ line: record.line, reason: 'a quoted field is never closed (the file is cut or mis-quoted)' });
      continue;
    }
    if (record.fields.length !== columns.length) {
      rejected.push({ line: record.line, reason: `${record.fields.length} fields where the header has ${columns.length}` });
      continue;
    }
    const row: Record<string, unknown> = {};
    columns.forEach((column, i) => {
      row[column] = converters[i]!(record.fields[i]!);
    });
    results.push(row);
    lines.push(record.line);
  }

  for (const style of styles) {
    if (style === 'iso') continue;
    notes.push(
      `${name}: date columns are in ${STYLE_NOTE[style]}, which carries no time zone; read as UTC. ` +
        "If the portal showed local time when you exported, set its time zone to UTC and export again.",
    );
  }
  if ((styles.has('day-first') || styles.has('month-first')) && order.decided === 'by-style') {
    notes.push(
      `${name}: every numeric date could be read either way; read as ${order.dayFirst ? 'day/month/year (a comma follows the date)' : 'month/day/year (no comma after the date)'}.`,
    );
  }
  return { schema, results, format: 'portal-csv', notes, rejected, lines };
}

/**
 * How one CSV cell becomes the value Graph would have sent. A value that does not fit its type is
 * kept as text, so the normaliser reports it with the column's name.
 */
function converterFor(type: string, dayFirst: boolean, styles: Set<TimestampStyle>): Converter {
  switch (type) {
    case 'DateTime':
      return (value) => {
        if (value.trim() === '') return '';
        const read = readTimestamp(value, dayFirst);
        if (read === null) return value;
        styles.add(read.style);
        return read.iso;
      };
    case 'Boolean':
      return (value) => {
        const text = value.trim().toLowerCase();
        return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text === '' ? null : value;
      };
    case 'Int64':
    case 'Int32':
      return (value) => {
        const text = value.trim();
        if (text === '') return null;
        const number = /^-?\d{1,16}$/.test(text) ? Number(text) : NaN;
        return Number.isSafeInteger(number) ? number : value;
      };
    default:
      return (value) => value;
  }
}

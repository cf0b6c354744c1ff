/**
 * A CSV reader for saved hunting results (RFC 4180: quoted fields, doubled quotes, line breaks
 * inside quotes, CRLF or LF). One forward pass, linear in the input, never throws: a quote left
 * open at the end of the file marks the last record as unterminated instead.
 */

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based line of the file where the record starts. */
  readonly line: number;
  /** True when the record ended inside an open quote (the file was cut or mis-quoted). */
  readonly unterminated: boolean;
}

/** Delimiters a spreadsheet may have written; the Defender portal writes commas. */
const DELIMITERS = [',', ';', '\t'] as const;
export type CsvDelimiter = (typeof DELIMITERS)[number];

/**
 * The delimiter of a file, read from its header line (outside quotes): the most frequent of comma,
 * semicolon and tab, comma on a tie. A spreadsheet re-saved in a locale with decimal commas writes
 * semicolons.
 */
export function detectDelimiter(text: string): CsvDelimiter {
  const counts = new Map<string, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === '\n' || ch === '\r')) break;
    else if (!quoted && counts.has(ch)) counts.set(ch, counts.get(ch)! + 1);
  }
  let best: CsvDelimiter = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

/** Every record of the text, blank lines skipped. */
export function parseCsv(text: string, delimiter: CsvDelimiter = detectDelimiter(text)): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  /** The current record has content (a blank line is not a record). */
  let started = false;
  const endRecord = (unterminated: boolean): void => {
    if (started) {
      fields.push(field);
      records.push({ fields, line: recordLine, unterminated });
    }
    fields = [];
    field = '';
    started = false;
  };
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      // Copy the run up to the next quote in one slice.
      const next = text.indexOf('"', i);
      const end = next < 0 ? text.length : next;
      for (let j = i; j < end; j++) if (text.charCodeAt(j) === 10) line++;
      field += text.slice(i, end);
      if (next < 0) {
        i = text.length;
        break;
      }
      if (text[next + 1] === '"') {
        field += '"';
        i = next + 2;
      } else {
        quoted = false;
        i = next + 1;
      }
      continue;
    }
    if (!started) recordLine = line;
    if (ch === '"') {
      quoted = true;
      started = true;
      i++;
    } else if (ch === delimiter) {
      fields.push(field);
      field = '';
      started = true;
      i++;
    } else if (ch === '\r' || ch === '\n') {
      endRecord(false);
      i += ch === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
    } else {
      let end = i + 1;
      while (end < text.length) {
        const c = text[end]!;
        if (c === delimiter || c === '"' || c === '\r' || c === '\n') break;
        end++;
      }
      field += text.slice(i, end);
      started = true;
      i = end;
    }
  }
  endRecord(quoted);
  return records;
}

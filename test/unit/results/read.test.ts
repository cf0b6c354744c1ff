/**
 * Reading saved hunting results (shared/results/read.ts): Graph JSON and the Defender portal's CSV
 * export, full or seed-shaped, detected from the text; dates, booleans and integers typed as Graph
 * sends them; broken CSV records reported with their line, never guessed at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseResults } from '../../../shared/normalise/normalise';
import { parseCsv } from '../../../shared/results/csv';
import { HuntingResultsFileError, readHuntingResults } from '../../../shared/results/read';
import { numericDateOrder, readTimestamp } from '../../../shared/results/timestamps';

const DIR = join(__dirname, '..', '..', 'fixtures', 'published-output');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('readHuntingResults', () => {
  const graph = readHuntingResults(read('graph-answer.json'), { name: 'graph-answer.json' });

  it('reads a Graph answer with only the published query\'s ten columns', () => {
    expect(graph.format).toBe('graph-json');
    expect(graph.schema.map((c) => c.name)).toEqual([
      'Timestamp', 'DeviceName', 'AccountName', 'FileName', 'ProcessCommandLine', 'InitiatingProcessFileName',
      'InitiatingProcessCommandLine', 'DetectionBranch', 'IsSuspiciousParent', 'IsTempLocation',
    ]);
    expect(graph.results.length).toBe(10);
    expect(graph.notes).toEqual([]);
    expect(graph.rejected).toEqual([]);
  });

  it.each(['portal-export-utc.csv', 'portal-export-en-us.csv', 'portal-export-en-gb.csv'])(
    'reads the portal CSV export %s into the same rows as the Graph answer (dates to the millisecond written)',
    (name) => {
      const csv = readHuntingResults(read(name), { name });
      expect(csv.format).toBe('portal-csv');
      expect(csv.rejected).toEqual([]);
      expect(csv.schema).toEqual(graph.schema);
      expect(csv.results.length).toBe(graph.results.length);
      csv.results.forEach((row, i) => {
        const expected = graph.results[i]!;
        expect({ ...row, Timestamp: Date.parse(String(row.Timestamp)) }).toEqual({
          ...expected,
          // The display formats keep milliseconds only.
          Timestamp: Math.floor(Date.parse(String(expected.Timestamp))),
        });
      });
      expect(csv.lines[0]).toBe(2);
    },
  );

  it('says how display-format dates were read, and nothing for ISO dates', () => {
    expect(readHuntingResults(read('portal-export-utc.csv')).notes).toEqual([]);
    const us = readHuntingResults(read('portal-export-en-us.csv'), { name: 'us.csv' });
    expect(us.notes.join('\n')).toMatch(/us\.csv: date columns are in the portal's display format .* read as UTC/);
    const gb = readHuntingResults(read('portal-export-en-gb.csv'), { name: 'gb.csv' });
    expect(gb.notes.join('\n')).toMatch(/dd\/mm\/yyyy/);
  });

  it('turns the published output into findings with content-derived ids that are the same from JSON and CSV, and stable', () => {
    const fromJson = normaliseResults(graph, { ruleId: 't1587-002' });
    const fromCsv = normaliseResults(readHuntingResults(read('portal-export-utc.csv')), { ruleId: 't1587-002' });
    expect(fromJson.rejected).toEqual([]);
    expect(fromCsv.rejected).toEqual([]);
    expect(fromCsv.findings.map((f) => f.id)).toEqual(fromJson.findings.map((f) => f.id));
    expect(new Set(fromJson.findings.map((f) => f.id)).size).toBe(fromJson.findings.length);
    const again = normaliseResults(readHuntingResults(read('graph-answer.json')), { ruleId: 't1587-002' });
    expect(again.findings.map((f) => f.id)).toEqual(fromJson.findings.map((f) => f.id));
    for (const finding of fromJson.findings) {
      expect(finding.device).toEqual({ id: null, name: expect.any(String) });
      expect(finding.reportId).toBeNull();
    }
  });

  it('reads the same certificate facts from the published output as from our full rows of the same events', () => {
    const full = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'rules', 't1587-002', 'fixtures', 'positive.json'), 'utf8')) as {
      schema: { name: string; type: string }[];
      results: Record<string, unknown>[];
    };
    const ours = normaliseResults(full, { ruleId: 't1587-002' }).findings;
    for (const name of ['graph-answer.json', 'portal-export-en-us.csv']) {
      const seed = normaliseResults(readHuntingResults(read(name)), { ruleId: 't1587-002' }).findings;
      expect(seed).toHaveLength(10);
      for (const finding of seed) {
        const same = ours.find((f) => f.commandLine === finding.commandLine);
        expect(same).toBeDefined();
        const facts = (f: typeof finding) => [f.tool, f.action, f.certificate, f.signedFiles, f.decodedCommand, f.branch];
        expect(facts(finding)).toEqual(facts(same!));
      }
    }
  });

  it('detects the format from the text (byte order mark, leading blanks) and refuses what is neither', () => {
    expect(readHuntingResults('\ufeff  {"Schema":[],"Results":[]}').format).toBe('graph-json');
    expect(() => readHuntingResults('{"value": []}', { name: 'x.json' })).toThrow(/x\.json is not a Graph huntingQueryResults answer/);
    expect(() => readHuntingResults('{not json', { name: 'x.json' })).toThrow(/x\.json is not valid JSON/);
    expect(() => readHuntingResults('a,b,c\n1,2,3\n', { name: 'x.csv' })).toThrow(HuntingResultsFileError);
    expect(() => readHuntingResults('   \n', { name: 'x.csv' })).toThrow(/x\.csv is empty/);
    expect(() => readHuntingResults('Timestamp,DeviceName,timestamp\n', { name: 'x.csv' })).toThrow(/names timestamp twice/);
  });

  it('rejects structurally broken CSV records with their line and keeps the rest', () => {
    const text = [
      'Timestamp,DeviceName,ProcessCommandLine,IsSuspiciousParent',
      '2024-05-14T08:00:00Z,ws-1,"certutil -addstore Root a.cer",false',
      '2024-05-14T08:00:01Z,ws-2,certutil -addstore, Root a.cer,false',
      '2024-05-14T08:00:02Z,ws-3,"multi',
      'line",true',
      '2024-05-14T08:00:03Z,ws-4,"never closed,true',
    ].join('\n');
    const file = readHuntingResults(text);
    expect(file.results.map((r) => r.DeviceName)).toEqual(['ws-1', 'ws-3']);
    expect(file.results[1]!.ProcessCommandLine).toBe('multi\nline');
    expect(file.lines).toEqual([2, 4]);
    expect(file.rejected).toEqual([
      { line: 3, reason: '5 fields where the header has 4' },
      { line: 6, reason: 'a quoted field is never closed (the file is cut or mis-quoted)' },
    ]);
  });

  it('types CSV cells as Graph would send them and leaves what does not fit for the normaliser to name', () => {
    const file = readHuntingResults('Timestamp;DeviceName;ReportId;IsTempLocation;Extra\n"not a date";ws;12;yes;x\n2024-05-14 08:00:00;ws;;TRUE;\n');
    expect(file.schema.find((c) => c.name === 'ReportId')?.type).toBe('Int64');
    expect(file.results[0]).toEqual({ Timestamp: 'not a date', DeviceName: 'ws', ReportId: 12, IsTempLocation: 'yes', Extra: 'x' });
    expect(file.results[1]).toEqual({ Timestamp: '2024-05-14T08:00:00Z', DeviceName: 'ws', ReportId: null, IsTempLocation: true, Extra: '' });
    expect(file.notes.join('\n')).toMatch(/ISO 8601 without a time zone/);
  });
});

describe('parseCsv', () => {
  it('reads quotes, doubled quotes, CRLF and blank lines', () => {
    expect(parseCsv('a,"b ""q"", c"\r\n\r\n1,2\n').map((r) => [r.fields, r.line])).toEqual([
      [['a', 'b "q", c'], 1],
      [['1', '2'], 3],
    ]);
  });

  it('stays linear on a huge quoted field and on many fields', () => {
    const big = `"${'x'.repeat(2_000_000)}"`;
    expect(parseCsv(big)[0]!.fields[0]!.length).toBe(2_000_000);
    expect(parseCsv(','.repeat(200_000))[0]!.fields.length).toBe(200_001);
  });
});

describe('timestamps', () => {
  it.each([
    ['2024-05-14T07:21:44.1834467Z', '2024-05-14T07:21:44.1834467Z', 'iso'],
    ['2024-05-14T09:21:44+02:00', '2024-05-14T09:21:44+02:00', 'iso'],
    ['May 7, 2024 6:35:31 PM', '2024-05-07T18:35:31Z', 'month-name'],
    ['May 7, 2024 6:41:25.321 PM', '2024-05-07T18:41:25.321Z', 'month-name'],
    ['May 7, 2024 18:41:25', '2024-05-07T18:41:25Z', 'month-name'],
    ['Dec 1, 2024 12:05:00 AM', '2024-12-01T00:05:00Z', 'month-name'],
    ['05/12/2024 6:41:32 PM', '2024-05-12T18:41:32Z', 'month-first'],
  ])('reads %s', (text, iso, style) => {
    expect(readTimestamp(text)).toEqual({ iso, style });
  });

  it('reads day-first dates when told, and refuses impossible ones', () => {
    expect(readTimestamp('13/03/2024, 3:40:13.988 pm', true)).toEqual({ iso: '2024-03-13T15:40:13.988Z', style: 'day-first' });
    expect(readTimestamp('13/03/2024, 3:40:13 pm', false)).toBeNull();
    expect(readTimestamp('Feb 30, 2024 1:00:00 PM')).toBeNull();
    expect(readTimestamp('May 7, 2024 13:00:00 PM')).toBeNull();
    expect(readTimestamp('yesterday')).toBeNull();
  });

  it('decides the date order of a file by value, else by the comma after the date', () => {
    expect(numericDateOrder(['01/02/2024 1:00:00 PM', '13/02/2024 1:00:00 PM'])).toEqual({ dayFirst: true, decided: 'by-value' });
    expect(numericDateOrder(['01/02/2024 1:00:00 PM', '02/13/2024 1:00:00 PM'])).toEqual({ dayFirst: false, decided: 'by-value' });
    expect(numericDateOrder(['01/02/2024, 13:00:00'])).toEqual({ dayFirst: true, decided: 'by-style' });
    expect(numericDateOrder(['01/02/2024 1:00:00 PM'])).toEqual({ dayFirst: false, decided: 'by-style' });
  });
});

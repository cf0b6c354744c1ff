/**
 * Tests shared/kusto/validate.ts (and the bridge loader behind it): the rendered rule queries
 * are clean against the checked-in Advanced Hunting schema, and broken queries (unknown column,
 * unknown table, syntax error) come back as located error diagnostics.
 */
import { kustoBridgeStatus, loadKustoBridge } from '../../../shared/kusto/bridge';
import {
  ADVANCED_HUNTING_SCHEMA,
  analyzeKql,
  findTable,
  formatDiagnostic,
  graphTypeOf,
  hasErrors,
  validateKql,
  type AdvancedHuntingSchema,
} from '../../../shared/kusto/validate';
import { loadRules } from '../../../shared/rules/loadRules';
import { renderQuery } from '../../../shared/rules/renderQuery';

const WINDOW = { start: new Date('2024-05-14T08:00:00Z'), end: new Date('2024-05-14T08:10:00Z') };
const WINDOWED = 'DeviceProcessEvents\n| where ingestion_time() >= datetime(2024-05-14T08:00:00Z)\n';

describe('bridge loader', () => {
  it('loads the language service once and reports how long it took', () => {
    const first = loadKustoBridge();
    expect(loadKustoBridge()).toBe(first);
    const status = kustoBridgeStatus();
    expect(status.loaded).toBe(true);
    expect(status.loadMs).toBeGreaterThan(0);
  });
});

describe('validateKql', () => {
  it.each(loadRules().map((rule) => [rule.id, rule] as const))('rule %s renders to a query with zero diagnostics', (_id, rule) => {
    const diagnostics = validateKql(renderQuery(rule, WINDOW));
    expect(diagnostics.map((d) => formatDiagnostic(d, rule.files.query))).toEqual([]);
  });

  it('accepts ingestion_time() on every schema table', () => {
    for (const table of ADVANCED_HUNTING_SCHEMA.tables) {
      const query = `${table.name} | where ingestion_time() between (datetime(2024-05-14) .. 1h) | extend IngestionTime = ingestion_time() | take 1`;
      expect(validateKql(query)).toEqual([]);
    }
  });

  it('fails an unknown column with an error that names it and points at it', () => {
    const query = `${WINDOWED}| project Timestamp, DeviceName, ProcessCommandLin`;
    const diagnostics = validateKql(query);
    expect(hasErrors(diagnostics)).toBe(true);
    const unknown = diagnostics.find((d) => d.message.includes('ProcessCommandLin'));
    expect(unknown).toMatchObject({
      severity: 'error',
      source: 'parser',
      start: query.indexOf('ProcessCommandLin'),
      length: 'ProcessCommandLin'.length,
      line: 3,
      column: '| project Timestamp, DeviceName, '.length + 1,
    });
    expect(unknown?.code).toMatch(/^KS\d+$/);
  });

  it('knows columns per table: a DeviceRegistryEvents column is unknown on DeviceProcessEvents', () => {
    const diagnostics = validateKql(`${WINDOWED}| where RegistryKey has "SystemCertificates"`);
    expect(diagnostics.some((d) => d.severity === 'error' && d.message.includes('RegistryKey'))).toBe(true);
    expect(validateKql('DeviceRegistryEvents | where RegistryKey has "SystemCertificates"')).toEqual([]);
  });

  it('fails an unknown table', () => {
    const diagnostics = validateKql('DeviceProcessEvent | take 1');
    expect(diagnostics.some((d) => d.severity === 'error' && d.message.includes('DeviceProcessEvent'))).toBe(true);
  });

  it('fails a syntax error', () => {
    const query = `${WINDOWED}| where (FileName =~ "certutil.exe"\n| project Timestamp`;
    const diagnostics = validateKql(query);
    expect(hasErrors(diagnostics)).toBe(true);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', source: 'parser' });
    expect(diagnostics[0]?.line).toBeGreaterThanOrEqual(3);
  });

  it('fails a type error (datetime compared with a string column)', () => {
    const diagnostics = validateKql(`${WINDOWED}| where Timestamp > FileName`);
    expect(hasErrors(diagnostics)).toBe(true);
  });

  it('returns analyzer hints only when asked, with their own severity', () => {
    const query = `${WINDOWED}| where ProcessCommandLine contains "addstore"`;
    expect(validateKql(query)).toEqual([]);
    const hints = validateKql(query, ADVANCED_HUNTING_SCHEMA, { analyzers: true });
    expect(hints.length).toBeGreaterThan(0);
    expect(hints.every((d) => d.source === 'analyzer' && d.severity !== 'error')).toBe(true);
    expect(hasErrors(hints)).toBe(false);
  });

  it('infers the result columns and their Kusto types', () => {
    const { diagnostics, resultColumns } = analyzeKql(
      `${WINDOWED}| extend IngestionTime = ingestion_time(), Flag = FileName =~ "x" | project Timestamp, IngestionTime, ReportId, Flag`,
    );
    expect(diagnostics).toEqual([]);
    expect(resultColumns).toEqual([
      { name: 'Timestamp', type: 'datetime' },
      { name: 'IngestionTime', type: 'datetime' },
      { name: 'ReportId', type: 'long' },
      { name: 'Flag', type: 'bool' },
    ]);
  });

  it('validates against a caller-supplied schema', () => {
    const schema: AdvancedHuntingSchema = {
      database: 'Test',
      tables: [{ name: 'Certs', columns: [{ name: 'Thumbprint', type: 'string' }, { name: 'Seen', type: 'datetime' }] }],
    };
    expect(validateKql('Certs | where Seen > ago(1d) | project Thumbprint', schema)).toEqual([]);
    expect(hasErrors(validateKql('DeviceProcessEvents | take 1', schema))).toBe(true);
  });

  it('rejects a schema type Kusto does not know', () => {
    const schema: AdvancedHuntingSchema = { database: 'Test', tables: [{ name: 'T', columns: [{ name: 'c', type: 'varchar' }] }] };
    expect(() => validateKql('T', schema)).toThrow(/varchar.*T\.c/);
  });
});

describe('advanced-hunting-schema.json', () => {
  it('holds the four tables with their key columns and types', () => {
    expect(ADVANCED_HUNTING_SCHEMA.tables.map((t) => t.name).sort()).toEqual(
      ['DeviceFileCertificateInfo', 'DeviceFileEvents', 'DeviceProcessEvents', 'DeviceRegistryEvents'],
    );
    const type = (table: string, column: string) => findTable(table)?.columns.find((c) => c.name === column)?.type;
    expect(type('DeviceProcessEvents', 'ProcessCommandLine')).toBe('string');
    expect(type('DeviceProcessEvents', 'ProcessId')).toBe('long');
    expect(type('DeviceProcessEvents', 'Timestamp')).toBe('datetime');
    expect(type('DeviceFileEvents', 'RequestSourcePort')).toBe('int');
    expect(type('DeviceRegistryEvents', 'RegistryValueData')).toBe('string');
    expect(type('DeviceFileCertificateInfo', 'IsTrusted')).toBe('bool');
    expect(type('DeviceFileCertificateInfo', 'CertificateExpirationTime')).toBe('datetime');
  });

  it('maps every column type to a Graph type', () => {
    for (const table of ADVANCED_HUNTING_SCHEMA.tables) {
      for (const column of table.columns) expect(() => graphTypeOf(column.type)).not.toThrow();
    }
    expect(graphTypeOf('datetime')).toBe('DateTime');
    expect(graphTypeOf('string')).toBe('String');
  });
});

/**
 * Rule t1587-002 against the published query it implements (issue 12.3 and 12.5): every case the
 * side-by-side reading found has a fixture row; each row's `published` verdict is what the
 * published query does with it (test/support/publishedQuery.ts); each difference in rule.yaml names
 * fixture cases that really show it; docs/rules.md lists every difference; and the command-line
 * parser reads the expected certificate facts from every row that states them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine } from '../../../shared/cmdline/parse';
import { loadRules } from '../../../shared/rules/loadRules';
import { renderQuery } from '../../../shared/rules/renderQuery';
import { analyzeKql } from '../../../shared/kusto/validate';
import { publishedVerdict, kustoHas, type PublishedVerdict } from '../../support/publishedQuery';

type Row = Record<string, unknown>;
interface Facts {
  tool: string;
  action: string;
  subject: string | null;
  files: string[];
  store: string | null;
  thumbprint: string | null;
  codeSigningEku: boolean;
  signedFiles: string[];
}
interface Expectation {
  DeviceId: string;
  ReportId: number;
  Timestamp: string;
  branch?: string;
  isSuspiciousParent?: boolean;
  isTempLocation?: boolean;
  case?: string | string[];
  published?: PublishedVerdict;
  facts?: Facts;
}

const rule = loadRules().find((r) => r.id === 't1587-002')!;
const read = <T>(name: string): T => JSON.parse(readFileSync(join(rule.dir, 'fixtures', name), 'utf8')) as T;
const positive = read<{ results: Row[] }>('positive.json').results;
const negative = read<{ results: Row[] }>('negative.json').results;
const expectations = read<{ window: { start: string }; positive: Expectation[]; negative: Expectation[] }>('expectations.json');
const key = (r: { DeviceId: unknown; ReportId: unknown; Timestamp: unknown }): string => `${String(r.DeviceId)}|${String(r.ReportId)}|${String(r.Timestamp)}`;

interface Case {
  id: string;
  row: Row;
  ours: { selected: boolean; isSuspiciousParent: boolean; isTempLocation: boolean; branch: string };
  expectation: Expectation;
}
const cases = new Map<string, Case>();
for (const [list, rows, selected] of [
  [expectations.positive, positive, true],
  [expectations.negative, negative, false],
] as const) {
  for (const expectation of list) {
    const row = rows.find((r) => key(r as never) === key(expectation))!;
    const ids = expectation.case === undefined ? [] : Array.isArray(expectation.case) ? expectation.case : [expectation.case];
    for (const id of ids) {
      expect(cases.has(id)).toBe(false);
      cases.set(id, {
        id,
        row,
        expectation,
        ours: { selected, branch: String(row.DetectionBranch), isSuspiciousParent: row.IsSuspiciousParent === true, isTempLocation: row.IsTempLocation === true },
      });
    }
  }
}

describe('fixture cases from the side-by-side reading (issue 12.3)', () => {
  const POSITIVE = [
    'quoted-certutil-verb', 'quoted-signtool-verb', 'dotnet-certificaterequest-create', 'export-certificate-alone', 'appdata-roaming',
    'appdata-variable', 'msiexec-parent', 'cmd-parent-looked-through', 'openssl-ca-selfsign', 'certenroll-com', 'en-dash-switch',
    'decoy-dead-branch', 'decoy-echo-file',
  ];
  const NEGATIVE = ['gci-codesigningcert-listing', 'import-module-not-an-import'];

  it.each(POSITIVE)('%s is a positive fixture row the rule selects', (id) => {
    expect(cases.get(id)?.ours.selected).toBe(true);
  });

  it.each(NEGATIVE)('%s is a negative fixture row the rule leaves out', (id) => {
    expect(cases.get(id)?.ours.selected).toBe(false);
  });

  it('loses nothing the published query selects among the cases it names, except the narrowings the table gives', () => {
    const narrowed = new Set(rule.differences.filter((d) => d.shows === 'selection').flatMap((d) => d.fixtures));
    for (const c of cases.values()) {
      if (c.expectation.published?.selected && !c.ours.selected) expect({ case: c.id, narrowedOnPurpose: narrowed.has(c.id) }).toEqual({ case: c.id, narrowedOnPurpose: true });
    }
  });

  it('flags what the issue asks: \\AppData\\Roaming\\ and %APPDATA% are staging, msiexec.exe is a suspicious parent, cmd.exe is looked through', () => {
    expect(cases.get('appdata-roaming')?.ours.isTempLocation).toBe(true);
    expect(cases.get('appdata-variable')?.ours.isTempLocation).toBe(true);
    expect(cases.get('msiexec-parent')?.ours.isSuspiciousParent).toBe(true);
    expect(cases.get('cmd-parent-looked-through')).toMatchObject({ row: { InitiatingProcessFileName: 'cmd.exe' }, ours: { isSuspiciousParent: false } });
  });
});

describe('the published side of every case', () => {
  it('states what the published query does with each case row', () => {
    for (const c of cases.values()) {
      expect({ case: c.id, published: c.expectation.published }).toEqual({ case: c.id, published: publishedVerdict(c.row) });
    }
  });

  it("models Kusto's has as a whole-term match", () => {
    expect(kustoHas('signtool verify /pa C:\\x\\sign.exe', 'sign')).toBe(true);
    expect(kustoHas('signtool.exe verify /pa a.exe', 'sign')).toBe(false);
    expect(kustoHas('certutil -f "-addstore" root', '-addstore')).toBe(true);
    expect(kustoHas('certutil \u2013addstore root', '-addstore')).toBe(false);
    expect(kustoHas('New-Object -ComObject X509Enrollment.CX509Enrollment', 'CertEnroll.CX509')).toBe(false);
  });
});

describe('the differences table (rule.yaml and docs/rules.md)', () => {
  const docs = readFileSync(join(rule.dir, '..', '..', 'docs', 'rules.md'), 'utf8');

  it('has entries, each naming fixture cases that exist', () => {
    expect(rule.differences.length).toBeGreaterThanOrEqual(10);
    for (const difference of rule.differences) {
      if (difference.shows !== 'columns' && difference.shows !== 'order') expect({ id: difference.id, fixtures: difference.fixtures.length > 0 }).toEqual({ id: difference.id, fixtures: true });
      for (const id of difference.fixtures) expect({ difference: difference.id, fixture: id, exists: cases.has(id) }).toEqual({ difference: difference.id, fixture: id, exists: true });
    }
  });

  it.each(rule.differences.map((d) => [d.id, d] as const))('%s is shown by its fixtures', (_id, difference) => {
    for (const id of difference.fixtures) {
      const c = cases.get(id)!;
      const published = c.expectation.published!;
      switch (difference.shows) {
        case 'selection':
          expect({ case: id, differs: published.selected !== c.ours.selected }).toEqual({ case: id, differs: true });
          break;
        case 'suspicious-parent':
          expect({ case: id, both: published.selected && c.ours.selected, differs: published.isSuspiciousParent !== c.ours.isSuspiciousParent }).toEqual({ case: id, both: true, differs: true });
          break;
        case 'temp-location':
          expect({ case: id, both: published.selected && c.ours.selected, differs: published.isTempLocation !== c.ours.isTempLocation }).toEqual({ case: id, both: true, differs: true });
          break;
        case 'window':
          // A late arrival: before the window by Timestamp, inside it by ingestion time.
          expect(Date.parse(String(c.row.Timestamp))).toBeLessThan(Date.parse(expectations.window.start));
          expect(Date.parse(String(c.row.IngestionTime))).toBeGreaterThanOrEqual(Date.parse(expectations.window.start));
          break;
        default:
          throw new Error(`${difference.shows} takes no fixture`);
      }
    }
    if (difference.shows === 'columns') {
      const columns = (analyzeKql(renderQuery(rule, { start: new Date('2024-05-14T08:00:00Z'), end: new Date('2024-05-14T08:10:00Z') })).resultColumns ?? []).map((c) => c.name);
      const published = ['Timestamp', 'DeviceName', 'AccountName', 'FileName', 'ProcessCommandLine', 'InitiatingProcessFileName', 'InitiatingProcessCommandLine', 'DetectionBranch', 'IsSuspiciousParent', 'IsTempLocation'];
      expect(columns).toEqual(expect.arrayContaining(published));
      expect(columns).toEqual(expect.arrayContaining(['DeviceId', 'ReportId', 'IngestionTime', 'InitiatingProcessParentFileName', 'DecodedCommand']));
    }
    if (difference.shows === 'order') {
      expect(rule.query).toMatch(/\| order by Timestamp asc\s*$/);
      const times = positive.map((r) => String(r.Timestamp));
      expect(times).toEqual([...times].sort());
    }
  });

  it('is in docs/rules.md, one row per difference', () => {
    expect(docs).toContain('## Differences from the published query');
    for (const difference of rule.differences) expect({ id: difference.id, documented: docs.includes(`\`${difference.id}\``) }).toEqual({ id: difference.id, documented: true });
  });
});

describe('certificate facts of every case row', () => {
  const withFacts = [...cases.values()].filter((c) => c.expectation.facts !== undefined);

  it('covers every new case row', () => {
    expect(withFacts.length).toBeGreaterThanOrEqual(15);
  });

  it.each(withFacts.map((c) => [c.id, c] as const))('%s: the parser reads the expected facts', (_id, c) => {
    const facts = parseCommandLine(String(c.row.ProcessCommandLine), {
      fileName: String(c.row.FileName),
      originalFileName: typeof c.row.ProcessVersionInfoOriginalFileName === 'string' && c.row.ProcessVersionInfoOriginalFileName !== '' ? c.row.ProcessVersionInfoOriginalFileName : null,
    });
    expect({
      tool: facts.tool,
      action: facts.action,
      subject: facts.certificate.subject,
      files: facts.certificate.files,
      store: facts.certificate.store,
      thumbprint: facts.certificate.thumbprint,
      codeSigningEku: facts.certificate.codeSigningEku,
      signedFiles: facts.signedFiles,
    }).toEqual(c.expectation.facts);
  });
});

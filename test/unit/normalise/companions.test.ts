/**
 * The companion rules (cert-key-files, trust-store-tampering, self-signed-binaries) through the
 * normaliser: every positive fixture row becomes a schema-valid Finding with the rule's branch and
 * the certificate facts its optional columns carry (tool, action, store, thumbprint, subject,
 * files); odd optional text (control characters, too long, unknown values) is marked or cut and
 * flagged on the finding, a value of the wrong type rejects the row; empty ones leave the command-line
 * parser's facts; rows without optional columns (the process rule) normalise as before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import type { HuntingQueryResults } from '../../../shared/hunting/types';
import type { Finding } from '../../../shared/model/finding';
import { normaliseResults, normaliseRow } from '../../../shared/normalise/normalise';
import { OPTIONAL_RESULT_COLUMN_NAMES } from '../../../shared/rules/rule';
import { validateFinding } from '../../../shared/schema/validate';

const RULES_DIR = join(__dirname, '../../../rules');

function fixture(ruleId: string, name: string): HuntingQueryResults {
  return normaliseHuntingResults(JSON.parse(readFileSync(join(RULES_DIR, ruleId, 'fixtures', name), 'utf8')));
}

interface ExpectedFinding {
  tool?: string;
  action?: string;
  store?: string;
  thumbprint?: string;
  subject?: string;
  signedFile?: string;
  files0?: string;
}

interface Expectations {
  positive: { DeviceId: string; ReportId: number; Timestamp: string; branch: string; finding: ExpectedFinding }[];
}

function expectations(ruleId: string): Expectations {
  return JSON.parse(readFileSync(join(RULES_DIR, ruleId, 'fixtures', 'expectations.json'), 'utf8')) as Expectations;
}

const COMPANIONS = [
  ['cert-key-files', 'File-CertKeyWrite'],
  ['trust-store-tampering', 'Registry-TrustStoreWrite'],
  ['self-signed-binaries', 'Binary-SelfSignedExecution'],
] as const;

describe.each(COMPANIONS)('%s positive fixture', (ruleId, branch) => {
  const results = fixture(ruleId, 'positive.json');
  const { findings, rejected } = normaliseResults(results, { ruleId, defaultSeverity: 'medium' });

  it('normalises every row into a schema-valid finding of the rule and its branch', () => {
    expect(rejected).toEqual([]);
    expect(findings).toHaveLength(results.results.length);
    for (const finding of findings) {
      expect({ id: finding.id, errors: validateFinding(finding) }).toEqual({ id: finding.id, errors: [] });
      expect(finding.ruleId).toBe(ruleId);
      expect(finding.branch).toBe(branch);
    }
  });

  it('takes tool, action, store, thumbprint, subject and files from the optional columns', () => {
    const expected = expectations(ruleId).positive;
    expect(expected).toHaveLength(findings.length);
    for (const e of expected) {
      const finding = findings.find((f) => f.device.id === e.DeviceId && f.reportId === e.ReportId);
      expect(finding).toBeDefined();
      if (!finding) continue;
      const actual: ExpectedFinding = {
        tool: finding.tool,
        action: finding.action,
        ...(e.finding.store !== undefined ? { store: finding.certificate.store ?? undefined } : {}),
        ...(e.finding.thumbprint !== undefined ? { thumbprint: finding.certificate.thumbprint ?? undefined } : {}),
        ...(e.finding.subject !== undefined ? { subject: finding.certificate.subject ?? undefined } : {}),
        ...(e.finding.signedFile !== undefined ? { signedFile: finding.signedFile ?? undefined } : {}),
        ...(e.finding.files0 !== undefined ? { files0: finding.certificate.files[0] } : {}),
      };
      expect({ row: e.ReportId, ...actual }).toEqual({ row: e.ReportId, ...e.finding });
    }
  });
});

describe('optional certificate-fact columns', () => {
  /** hr-ws-0217: certutil.exe -f -addstore Root C:\Users\Public\g.cer writing HKLM\...\ROOT\Certificates\<thumbprint>. */
  const trustRow = (): Record<string, unknown> => ({ ...fixture('trust-store-tampering', 'positive.json').results.find((r) => r.ReportId === 77415)! });
  const ctx = { ruleId: 'trust-store-tampering' };

  it('a trust-store write is an import-store into the store and thumbprint the registry names', () => {
    const outcome = normaliseRow(trustRow(), ctx);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const f = outcome.finding;
    expect([f.tool, f.action, f.certificate.store, f.branch]).toEqual(['certutil', 'import-store', 'LocalMachine\\Root', 'Registry-TrustStoreWrite']);
    expect(f.certificate.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    // The file the writer's command line names is still there.
    expect(f.certificate.files).toEqual(['C:\\Users\\Public\\g.cer']);
    expect(f.commandLine).toBe('certutil.exe -f -addstore Root C:\\Users\\Public\\g.cer');
  });

  it('keeps a row whose certificate-fact text is odd: the value is marked or cut, or left out, and the finding says so (issue 15.7)', () => {
    const base = trustRow();
    const odd: [string, string, string, (f: Finding) => unknown, unknown][] = [
      ['CertificateSubject', 'CN=Evil\tCorp', 'control-characters', (f) => f.certificate.subject, 'CN=Evil\u2409Corp'],
      ['CertificateStore', 'LocalMachine\\Root\nInjected', 'control-characters', (f) => f.certificate.store, 'LocalMachine\\Root\u240aInjected'],
      ['CertificateFile', 'C:\\' + 'a'.repeat(3000), 'too-long', (f) => [f.certificate.files[0]?.length, f.certificate.files[0]?.endsWith('\u2026')], [2048, true]],
      ['SignedFile', 'C:\\x\u0000.exe', 'control-characters', (f) => f.signedFile, 'C:\\x\u2400.exe'],
      ['CertificateAction', 'steal', 'invalid-value', (f) => f.action, 'import-store'],
      ['CertificateTool', 'mimikatz', 'invalid-value', (f) => f.tool, 'certutil'],
      ['CertificateThumbprint', 'ABC123', 'invalid-value', (f) => f.certificate.thumbprint, null],
    ];
    const { findings, rejected } = normaliseResults(
      { schema: [], results: [base, ...odd.map(([column, value]) => ({ ...base, CertificateThumbprint: '', [column]: value }))] },
      ctx,
    );
    expect(rejected).toEqual([]);
    expect(findings).toHaveLength(odd.length + 1);
    expect(findings[0]!.inputIssues).toEqual([]);
    odd.forEach(([column, , issue, read, expected], i) => {
      const finding = findings[i + 1]!;
      expect({ column, value: read(finding) }).toEqual({ column, value: expected });
      expect(finding.inputIssues).toEqual([{ column, issue, detail: expect.any(String) }]);
      expect(validateFinding(finding)).toEqual([]);
    });
  });

  it('rejects only a structurally broken row: a value of the wrong type, naming the column', () => {
    const base = trustRow();
    const bad: [string, unknown, RegExp][] = [
      ['CertificateSubject', 42, /CertificateSubject should be a string, got number/],
      ['SignedFile', { path: 'x' }, /SignedFile should be a string, got object/],
    ];
    const { findings, rejected } = normaliseResults(
      { schema: [], results: [base, ...bad.map(([column, value]) => ({ ...base, [column]: value }))] },
      ctx,
    );
    expect(findings).toHaveLength(1);
    expect(rejected.map((r) => r.index)).toEqual(bad.map((_, i) => i + 1));
    bad.forEach(([, , reason], i) => expect(rejected[i]?.reason).toMatch(reason));
  });

  it('accepts values case-insensitively and normalises the thumbprint', () => {
    const outcome = normaliseRow(
      { ...trustRow(), CertificateAction: 'Import-Store', CertificateTool: 'PowerShell', CertificateThumbprint: 'ab:cd:ef:01:23:45:67:89:ab:cd:ef:01:23:45:67:89:ab:cd:ef:01' },
      ctx,
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect([outcome.finding.action, outcome.finding.tool]).toEqual(['import-store', 'powershell']);
    expect(outcome.finding.certificate.thumbprint).toBe('ABCDEF0123456789ABCDEF0123456789ABCDEF01');
  });

  it('empty or absent optional values leave the facts the command line gives', () => {
    const row = { ...trustRow(), CertificateAction: '', CertificateTool: null, CertificateThumbprint: '  ', CertificateStore: '' };
    const outcome = normaliseRow(row, ctx);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    // certutil -f -addstore Root <file>, as the parser reads it.
    expect([outcome.finding.tool, outcome.finding.action, outcome.finding.certificate.store, outcome.finding.certificate.thumbprint]).toEqual([
      'certutil',
      'import-store',
      'Root',
      null,
    ]);
  });

  it('puts CertificateFile and SignedFile first without duplicating what the command line names', () => {
    const process = fixture('t1587-002', 'positive.json').results.find((r) => r.DetectionBranch === 'SignTool-ExecutableSigning' && String(r.ProcessCommandLine).includes(' /f '));
    expect(process).toBeDefined();
    const plain = normaliseRow(process, { ruleId: 't1587-002' });
    expect(plain.ok).toBe(true);
    if (!plain.ok) return;
    const signed = plain.finding.signedFiles[0];
    const file = plain.finding.certificate.files[0];
    expect(signed && file).toBeTruthy();
    const outcome = normaliseRow(
      { ...process, CertificateFile: file?.toUpperCase(), SignedFile: 'C:\\out\\other.exe' },
      { ruleId: 't1587-002' },
    );
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.finding.certificate.files).toEqual([file?.toUpperCase(), ...plain.finding.certificate.files.slice(1)]);
    expect(outcome.finding.signedFile).toBe('C:\\out\\other.exe');
    expect(outcome.finding.signedFiles).toEqual(['C:\\out\\other.exe', ...plain.finding.signedFiles]);
  });

  it('leaves process-rule findings unchanged when the optional columns are there but empty', () => {
    const results = fixture('t1587-002', 'positive.json');
    const empty = Object.fromEntries(OPTIONAL_RESULT_COLUMN_NAMES.map((name) => [name, '']));
    const before = normaliseResults(results, { ruleId: 't1587-002' }).findings;
    const after = normaliseResults({ schema: results.schema, results: results.results.map((r) => ({ ...r, ...empty })) }, { ruleId: 't1587-002' }).findings;
    expect(after.map(({ raw: _raw, ...f }) => f)).toEqual(before.map(({ raw: _raw, ...f }) => f));
  });
});

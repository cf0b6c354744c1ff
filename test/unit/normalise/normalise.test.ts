import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { findingIdFor, MAX_PARSED_COMMAND_LINE, normaliseResults, normaliseRow } from '../../../shared/normalise/normalise';
import { validateFinding } from '../../../shared/schema/validate';

const fixture = (name: string) =>
  normaliseHuntingResults(JSON.parse(readFileSync(join(__dirname, '../../../rules/t1587-002/fixtures', name), 'utf8')));
const ctx = { ruleId: 't1587-002' };

test('every positive fixture row becomes a schema-valid Finding with its branch and flags', () => {
  const results = fixture('positive.json');
  const { findings, rejected } = normaliseResults(results, ctx);
  expect(rejected).toEqual([]);
  expect(findings).toHaveLength(results.results.length);
  for (const [i, finding] of findings.entries()) {
    expect(validateFinding(finding)).toEqual([]);
    const row = results.results[i]!;
    expect(finding.branch).toBe(row.DetectionBranch);
    expect(finding.flags.suspiciousParent).toBe(row.IsSuspiciousParent);
    expect(finding.raw).toBe(row);
    expect(finding.device.name).toBe(row.DeviceName);
  }
});

test('a bad row is reported with the reason and skipped; the others survive', () => {
  const good = fixture('positive.json').results[0]!;
  const { findings, rejected } = normaliseResults(
    {
      schema: [],
      results: [good, { ...good, DeviceName: '' }, { ...good, Timestamp: 'yesterday' }, { ...good, ReportId: 'x' }, { ...good, IsTempLocation: 'maybe' }, { ...good, DetectionBranch: 'nope' }],
    },
    ctx,
  );
  expect(findings).toHaveLength(1);
  expect(rejected.map((r) => r.index)).toEqual([1, 2, 3, 4, 5]);
  expect(rejected[0]?.reason).toMatch(/DeviceName/);
  expect(rejected[1]?.reason).toMatch(/Timestamp/);
  expect(rejected[2]?.reason).toMatch(/ReportId/);
  expect(rejected[3]?.reason).toMatch(/IsTempLocation/);
  expect(rejected[4]?.reason).toMatch(/DetectionBranch/);
  expect(normaliseRow(null, ctx)).toEqual({ ok: false, reason: 'row is not an object' });
});

test('column names are read case-insensitively; booleans may come as strings', () => {
  const good = fixture('positive.json').results[0]!;
  const lowered = Object.fromEntries(Object.entries(good).map(([k, v]) => [k.toLowerCase(), v]));
  const outcome = normaliseRow({ ...lowered, issuspiciousparent: 'true' }, ctx);
  expect(outcome.ok).toBe(true);
  if (outcome.ok) {
    expect(outcome.finding.device.name).toBe(good.DeviceName);
    expect(outcome.finding.flags.suspiciousParent).toBe(true);
  }
});

test('the finding id is stable for the same event and differs between events', () => {
  const good = fixture('positive.json').results[0]!;
  const a = normaliseRow(good, ctx);
  const b = normaliseRow({ ...good }, ctx);
  const c = normaliseRow({ ...good, ReportId: Number(good.ReportId) + 1 }, ctx);
  expect(a.ok && b.ok && c.ok).toBe(true);
  if (a.ok && b.ok && c.ok) {
    expect(a.finding.id).toBe(b.finding.id);
    expect(a.finding.id).not.toBe(c.finding.id);
  }
  // Without Defender's identity the id is derived from the event's content: the same content gives
  // the same id (device, account and file names in any letter case), a different command line another.
  const content = { deviceName: 'WS-1', accountName: 'jdoe', fileName: 'certutil.exe', commandLine: 'certutil -addstore Root a.cer', parentFileName: 'cmd.exe', parentCommandLine: null };
  const id = findingIdFor(null, null, 't', content);
  expect(findingIdFor(null, null, 't', { ...content, deviceName: 'ws-1', fileName: 'CertUtil.exe' })).toBe(id);
  expect(findingIdFor(null, null, 't', { ...content, commandLine: 'certutil -addstore Root b.cer' })).not.toBe(id);
  expect(findingIdFor(null, null, 't', { ...content, accountName: null, parentFileName: 'jdoe' })).not.toBe(id);
});

test('certificate facts come from the command line, the renamed tool from the original file name', () => {
  const good = fixture('positive.json').results[0]!;
  const outcome = normaliseRow(
    {
      ...good,
      FileName: 'st.exe',
      ProcessVersionInfoOriginalFileName: 'signtool.exe',
      ProcessCommandLine: 'st.exe sign /f C:\\Users\\a\\AppData\\Local\\Temp\\upd.pfx /fd SHA256 C:\\Users\\a\\AppData\\Local\\Temp\\x.exe',
      DetectionBranch: 'signtool',
    },
    ctx,
  );
  expect(outcome.ok).toBe(true);
  if (outcome.ok) {
    expect(outcome.finding.tool).toBe('signtool');
    expect(outcome.finding.action).toBe('sign');
    expect(outcome.finding.certificate.files).toEqual(['C:\\Users\\a\\AppData\\Local\\Temp\\upd.pfx']);
    expect(outcome.finding.signedFile).toBe('C:\\Users\\a\\AppData\\Local\\Temp\\x.exe');
  }
});

describe('per-answer column resolution and parser memo', () => {
  const schemaOf = (row: Record<string, unknown>, rename: (name: string) => string = (n) => n) =>
    Object.keys(row).map((name) => ({ name: rename(name), type: 'String' }));

  test('columns are resolved from the schema case-insensitively; a row missing one falls back to a case-insensitive search', () => {
    const good = fixture('positive.json').results[0]!;
    const lowered = Object.fromEntries(Object.entries(good).map(([k, v]) => [k.toLowerCase(), v]));
    const plain = normaliseRow(good, ctx);
    const viaSchema = normaliseResults({ schema: schemaOf(good, (n) => n.toLowerCase()), results: [lowered] }, ctx);
    // The schema says "devicename" but this row spells it "DEVICENAME".
    const { devicename, ...rest } = lowered;
    const odd = normaliseResults({ schema: schemaOf(good, (n) => n.toLowerCase()), results: [{ ...rest, DEVICENAME: devicename }] }, ctx);
    expect(plain.ok).toBe(true);
    if (plain.ok) {
      expect(viaSchema.rejected).toEqual([]);
      expect(viaSchema.findings).toEqual([plain.finding].map((f) => ({ ...f, raw: lowered })));
      expect(odd.rejected).toEqual([]);
      expect(odd.findings[0]?.device.name).toBe(good.DeviceName);
    }
  });

  test('a declared column missing from a row is found under another spelling, row by row, whatever the rows before held', () => {
    // Without the column, as Graph may leave an empty one out of a row.
    const { DecodedCommand: _, ...good } = fixture('positive.json').results[0]!;
    const schema = [...schemaOf(good), { name: 'DecodedCommand', type: 'String' }];
    const rows = [
      good,
      { ...good, ReportId: Number(good.ReportId) + 1, decodedcommand: 'New-SelfSignedCertificate -Subject CN=x' },
      { ...good, ReportId: Number(good.ReportId) + 2 },
      { ...good, ReportId: Number(good.ReportId) + 3, DECODEDCOMMAND: 'first', DecodedCommand: 'exact' },
    ];
    const { findings, rejected } = normaliseResults({ schema, results: rows }, ctx);
    expect(rejected).toEqual([]);
    expect(findings.map((f) => f.decodedCommand)).toEqual([null, 'New-SelfSignedCertificate -Subject CN=x', null, 'exact']);
    expect(findings).toEqual(rows.map((row) => (normaliseRow(row, ctx) as { finding: unknown }).finding));
  });

  test('a column the schema spells twice: a row holding only the other spelling still gives its value', () => {
    const good = fixture('positive.json').results[0]!;
    const { DeviceName: name, ...rest } = good;
    const schema = [...schemaOf(rest), { name: 'DeviceName', type: 'String' }, { name: 'devicename', type: 'String' }];
    const { findings, rejected } = normaliseResults({ schema, results: [{ ...rest, devicename: name }, { ...rest, DEVICENAME: name }] }, ctx);
    expect(rejected).toEqual([]);
    expect(findings.map((f) => f.device.name)).toEqual([name, name]);
  });

  test('repeated command lines give equal findings that share no arrays or objects', () => {
    const good = fixture('positive.json').results[0]!;
    const rows = [good, { ...good, ReportId: Number(good.ReportId) + 1 }, { ...good, ReportId: Number(good.ReportId) + 2, FileName: 'other.exe' }];
    const { findings, rejected } = normaliseResults({ schema: schemaOf(good), results: rows }, ctx);
    expect(rejected).toEqual([]);
    const [a, b, c] = findings;
    const single = rows.map((row) => normaliseRow(row, ctx));
    expect(findings).toEqual(single.map((o) => (o.ok ? o.finding : null)));
    expect(a!.certificate).not.toBe(b!.certificate);
    expect(a!.certificate.files).not.toBe(b!.certificate.files);
    expect(a!.signedFiles).not.toBe(b!.signedFiles);
    a!.certificate.files.push('mutated.pfx');
    a!.signedFiles.push('mutated.exe');
    expect(b!.certificate.files).not.toContain('mutated.pfx');
    expect(b!.signedFiles).not.toContain('mutated.exe');
    expect(c!.process.fileName).toBe('other.exe');
    const again = normaliseResults({ schema: schemaOf(good), results: [good] }, ctx).findings[0];
    expect(again?.certificate.files).not.toContain('mutated.pfx');
  });
});

describe('DetectionBranch as others write it', () => {
  const row = (fileName: string, branch: string) => ({
    ...fixture('positive.json').results.find((r) => r.FileName === 'makecert.exe')!,
    FileName: fileName,
    ProcessVersionInfoOriginalFileName: fileName,
    ProcessCommandLine: fileName === 'pvk2pfx.exe' ? 'pvk2pfx.exe -pvk a.pvk -spc a.cer -pfx a.pfx' : 'makecert.exe -r -n "CN=A" a.cer',
    DetectionBranch: branch,
  });

  test.each([
    ['makecert.exe', 'MakeCert-NativeSDK', 'MakeCert-NativeSDK'],
    ['pvk2pfx.exe', 'Pvk2Pfx-KeyConversion', 'Pvk2Pfx-KeyConversion'],
    ['makecert.exe', 'makecert-nativesdk', 'MakeCert-NativeSDK'],
    ['makecert.exe', 'makecert-pvk2pfx', 'MakeCert-NativeSDK'],
    ['pvk2pfx.exe', 'makecert-pvk2pfx', 'Pvk2Pfx-KeyConversion'],
    ['pvk2pfx.exe', 'MAKECERT-PVK2PFX', 'Pvk2Pfx-KeyConversion'],
  ])('%s with %j is %s', (fileName, branch, expected) => {
    const result = normaliseRow(row(fileName, branch), ctx);
    expect(result.ok && result.finding.branch).toBe(expected);
  });

  test('an unknown branch name still rejects the row, naming the value', () => {
    const result = normaliseRow(row('makecert.exe', 'Unknown'), ctx);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toContain('"Unknown"');
  });
});

describe('attacker-sized command lines (issue #15)', () => {
  const good = fixture('positive.json').results[0]!;
  const padding = (n: number) => Array.from({ length: Math.ceil(n / 10) }, (_, i) => `w${String(i).padStart(8, '0')}`).join(' ').slice(0, n);

  test('a line past MAX_PARSED_COMMAND_LINE is kept whole and marked; its facts come from the head', () => {
    const line = `makecert.exe -r -pe -n "CN=Contoso ${padding(30_000)}" -ss My C:\\Users\\Public\\evil.cer`;
    const outcome = normaliseRow({ ...good, FileName: 'makecert.exe', ProcessVersionInfoOriginalFileName: 'makecert.exe', ProcessCommandLine: line }, ctx);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    const { finding } = outcome;
    expect(finding.commandLine).toBe(line);
    expect(finding.tool).toBe('makecert');
    expect(finding.certificate.subject?.startsWith('CN=Contoso w00000000')).toBe(true);
    expect(finding.certificate.subject!.length).toBeLessThanOrEqual(MAX_PARSED_COMMAND_LINE);
    expect(finding.inputIssues).toEqual([
      { column: 'ProcessCommandLine', issue: 'too-long', detail: `${line.length} characters: certificate facts read from the first ${MAX_PARSED_COMMAND_LINE}, the whole line kept` },
    ]);
    expect(validateFinding(finding)).toEqual([]);
  });

  test('a line at the limit is read whole and not marked', () => {
    const head = 'makecert.exe -r -pe -n "CN=Edge" ';
    const line = `${head}${'x'.repeat(MAX_PARSED_COMMAND_LINE - head.length - 10)} a.cer`;
    const outcome = normaliseRow({ ...good, ProcessCommandLine: line.padEnd(MAX_PARSED_COMMAND_LINE, ' ') }, ctx);
    expect(outcome.ok && outcome.finding.inputIssues).toEqual([]);
  });

  test('the code-signing usage after the cut still counts; a line whose head shows no certificate work is not rated down', () => {
    const eku = normaliseRow({ ...good, ProcessCommandLine: `makecert.exe -r -n "CN=A" ${padding(20_000)} -eku 1.3.6.1.5.5.7.3.3 a.cer` }, ctx);
    expect(eku.ok && eku.finding.certificate.codeSigningEku).toBe(true);
    const hidden = `cmd.exe /c echo ${padding(10_000)} & makecert.exe -r -n "CN=A" a.cer`;
    const cut = normaliseRow({ ...good, FileName: 'cmd.exe', ProcessVersionInfoOriginalFileName: 'Cmd.Exe', ProcessCommandLine: hidden }, { ...ctx, defaultSeverity: 'medium' });
    const short = normaliseRow({ ...good, FileName: 'cmd.exe', ProcessVersionInfoOriginalFileName: 'Cmd.Exe', ProcessCommandLine: 'cmd.exe /c echo hello' }, { ...ctx, defaultSeverity: 'medium' });
    expect(cut.ok && short.ok).toBe(true);
    if (!cut.ok || !short.ok) return;
    expect(cut.finding.action).toBe('other');
    expect(short.finding.severity).toBe('low');
    expect(cut.finding.severity).toBe('medium');
  });
});

describe('event times', () => {
  test('a time already in toISOString form is kept; any other readable form is rewritten to it', () => {
    const times = [
      '2026-11-26T10:00:00.123Z',
      '2024-02-28T23:59:59.999Z',
      '2024-02-29T00:00:00.000Z',
      '2026-02-29T00:00:00.000Z',
      '2026-04-31T12:00:00.000Z',
      '2026-12-31T23:59:59.999Z',
      '2026-01-01T24:00:00.000Z',
      '0000-01-01T00:00:00.000Z',
      '2026-11-26T10:00:00Z',
      '2026-11-26T10:00:00.123+02:00',
      '2026-11-26 10:00:00.123Z',
      '2026-11-26T10:00:00.123z',
      'Thu, 26 Nov 2026 10:00:00 GMT',
      '2026-11-26',
    ];
    const good = fixture('positive.json').results[0]!;
    for (const time of times) {
      const outcome = normaliseRow({ ...good, Timestamp: time }, ctx);
      expect(outcome.ok).toBe(true);
      if (outcome.ok) expect(outcome.finding.timestamp).toBe(new Date(Date.parse(time)).toISOString());
    }
    // Generated times: every month's last days and hours around midnight.
    for (let month = 1; month <= 12; month++) {
      for (const day of [27, 28, 29, 30, 31]) {
        for (const hour of [0, 23]) {
          const time = `2025-${String(month).padStart(2, '0')}-${day}T${String(hour).padStart(2, '0')}:30:00.000Z`;
          if (Number.isNaN(Date.parse(time))) continue;
          const outcome = normaliseRow({ ...good, Timestamp: time }, ctx);
          expect(outcome.ok && outcome.finding.timestamp).toBe(new Date(Date.parse(time)).toISOString());
        }
      }
    }
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { normaliseHuntingResults } from '../../../shared/hunting/graphClient';
import { findingIdFor, normaliseResults, normaliseRow } from '../../../shared/normalise/normalise';
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

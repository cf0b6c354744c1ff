/**
 * The CLI as a user runs it: the compiled `dist/shared/cli/main.js` in a child process (npm test
 * builds first). Covers usage errors, `explain` on Graph-shaped rows built from the real
 * command-line corpus, `validate` passing and failing, and `run --demo` twice against one
 * storage account (the second run announces nothing).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../../shared/config/settings';
import { materialKeys } from '../../shared/incidents/identity';
import type { Finding } from '../../shared/model/finding';
import type { Incident } from '../../shared/model/incident';
import { azuriteConnectionString } from '../support/azurite';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'shared', 'cli', 'main.js');

function cli(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (npm test does)`);
});

interface CorpusLine {
  tool: string;
  commandLine: string;
  action: string;
  subject: string | null;
  codeSigningEku: boolean;
  files: string[];
  store: string | null;
  thumbprint: string | null;
  signedFile: string | string[] | null;
}

const corpus: CorpusLine[] = readFileSync(join(ROOT, 'test/fixtures/cert-cmdlines.jsonl'), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as CorpusLine);

const BRANCH: Record<string, string> = { makecert: 'makecert-pvk2pfx', pvk2pfx: 'makecert-pvk2pfx', powershell: 'powershell', openssl: 'openssl', certutil: 'certutil', signtool: 'signtool' };

/** Graph huntingQueryResults with the rule's columns, one row per corpus line. */
function corpusResults(): unknown {
  return {
    '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
    schema: [
      { name: 'Timestamp', type: 'DateTime' },
      { name: 'DeviceId', type: 'String' },
      { name: 'DeviceName', type: 'String' },
      { name: 'ReportId', type: 'Int64' },
      { name: 'AccountName', type: 'String' },
      { name: 'FileName', type: 'String' },
      { name: 'ProcessCommandLine', type: 'String' },
      { name: 'ProcessVersionInfoOriginalFileName', type: 'String' },
      { name: 'InitiatingProcessFileName', type: 'String' },
      { name: 'DetectionBranch', type: 'String' },
      { name: 'IsSuspiciousParent', type: 'Boolean' },
      { name: 'IsTempLocation', type: 'Boolean' },
    ],
    results: corpus.map((line, i) => ({
      Timestamp: new Date(Date.UTC(2026, 10, 26, 8, 0, i)).toISOString(),
      DeviceId: `d${String(i).padStart(39, '0')}`,
      DeviceName: `ws-${i}.contoso.local`,
      ReportId: 1000 + i,
      AccountName: 'alice',
      FileName: `${line.tool}.exe`,
      ProcessCommandLine: line.commandLine,
      ProcessVersionInfoOriginalFileName: `${line.tool}.exe`,
      InitiatingProcessFileName: 'cmd.exe',
      DetectionBranch: BRANCH[line.tool],
      IsSuspiciousParent: false,
      IsTempLocation: false,
    })),
  };
}

test('no command prints usage and exits 2; an unknown command exits 2', () => {
  expect(cli([])).toMatchObject({ code: 2 });
  expect(cli([]).stdout).toContain('Usage: codesign-hunt');
  const unknown = cli(['hunt-everything']);
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain("unknown command 'hunt-everything'");
  expect(cli(['explain']).code).toBe(2);
});

test('explain reads the certificate facts of the corpus right for at least 95% of the fields, in input order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'explain-'));
  const file = join(dir, 'results.json');
  writeFileSync(file, JSON.stringify(corpusResults()));
  const { code, stdout, stderr } = cli(['explain', file]);
  expect(stderr).toBe('');
  expect(code).toBe(0);
  const findings = stdout.trim().split('\n').map((line) => JSON.parse(line) as Finding);
  expect(findings).toHaveLength(corpus.length);
  let right = 0;
  let total = 0;
  const check = (ok: boolean): void => {
    total++;
    if (ok) right++;
  };
  findings.forEach((finding, i) => {
    const label = corpus[i]!;
    expect(finding.commandLine).toBe(label.commandLine);
    check(finding.tool === label.tool);
    check(finding.action === label.action);
    check(finding.certificate.subject === label.subject);
    check(finding.certificate.codeSigningEku === label.codeSigningEku);
    check(JSON.stringify([...finding.certificate.files].sort()) === JSON.stringify([...label.files].sort()));
    check(finding.certificate.store === label.store);
    check(finding.certificate.thumbprint === label.thumbprint);
    const signed = label.signedFile === null ? [] : Array.isArray(label.signedFile) ? label.signedFile : [label.signedFile];
    check(JSON.stringify(finding.signedFiles) === JSON.stringify(signed));
  });
  expect(right / total).toBeGreaterThanOrEqual(0.95);
});

test('explain reports skipped rows on stderr, refuses a file that is not a Graph answer, and marks allowlisted findings', () => {
  const dir = mkdtempSync(join(tmpdir(), 'explain-'));
  const results = corpusResults() as { results: Record<string, unknown>[] };
  results.results[1]!.DeviceName = null;
  const file = join(dir, 'results.json');
  writeFileSync(file, JSON.stringify(results));
  const allowlist = join(dir, 'allowlist.json');
  writeFileSync(
    allowlist,
    JSON.stringify([
      { id: 'atomic-tests', conditions: { deviceName: 'ws-0.contoso.local' }, scope: 'global', reason: 'red team lab device', owner: 'secops', expiresAt: '2099-01-01T00:00:00.000Z', enabled: true },
    ]),
  );
  const out = cli(['explain', file, '--allowlist', allowlist]);
  expect(out.code).toBe(0);
  expect(out.stderr).toContain('row 1 skipped: column DeviceName is missing or empty');
  const findings = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { suppressedBy: string | null; device: { name: string } });
  expect(findings).toHaveLength(corpus.length - 1);
  expect(findings[0]).toMatchObject({ suppressedBy: 'atomic-tests' });
  expect(findings.slice(1).every((f) => f.suppressedBy === null)).toBe(true);

  expect(out.stderr).toContain(`1 of ${corpus.length} rows skipped`);

  writeFileSync(file, '{"value": []}');
  const bad = cli(['explain', file]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/not a Graph huntingQueryResults answer/);
  expect(cli(['explain', join(dir, 'missing.json')]).code).toBe(1);

  // Every row rejected: the work failed, and the count says so.
  const none = corpusResults() as { results: Record<string, unknown>[] };
  for (const row of none.results) row.Timestamp = 'yesterday';
  writeFileSync(file, JSON.stringify(none));
  const all = cli(['explain', file]);
  expect(all.code).toBe(1);
  expect(all.stdout).toBe('');
  expect(all.stderr).toContain(`${corpus.length} of ${corpus.length} rows skipped`);
});

test.each(['graph-answer.json', 'portal-export-utc.csv', 'portal-export-en-us.csv', 'portal-export-en-gb.csv'])(
  "explain reads the published query's output (%s, its ten columns only) into one finding per row",
  (name) => {
    const { code, stdout, stderr } = cli(['explain', join(ROOT, 'test', 'fixtures', 'published-output', name)]);
    expect(code).toBe(0);
    expect(stderr).not.toMatch(/skipped/);
    const findings = stdout.trim().split('\n').map((line) => JSON.parse(line) as Finding);
    expect(findings).toHaveLength(10);
    const answer = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'published-output', 'graph-answer.json'), 'utf8')) as {
      results: { DetectionBranch: string; ProcessCommandLine: string }[];
    };
    expect(findings.map((f) => [f.branch, f.commandLine])).toEqual(answer.results.map((r) => [r.DetectionBranch, r.ProcessCommandLine]));
  },
);

test('export-rule writes a Sentinel rule (YAML) and Defender custom detections (JSON), and refuses an unknown target', () => {
  const sentinel = cli(['export-rule', '--target', 'sentinel', '--rule', 't1587-002']);
  expect(sentinel.stderr).toBe('');
  expect(sentinel.code).toBe(0);
  expect(sentinel.stdout).toMatch(/^kind: Scheduled$/m);
  expect(sentinel.stdout).toContain('"SignTool-ExecutableSigning"');
  const dir = mkdtempSync(join(tmpdir(), 'export-'));
  const defender = cli(['export-rule', '--target', 'defender', '--out', dir]);
  expect(defender.code).toBe(0);
  const files = defender.stdout.trim().split('\n');
  expect(files).toHaveLength(4);
  const body = JSON.parse(readFileSync(join(dir, 't1587-002.defender.json'), 'utf8')) as { schedule: { period: string }; queryCondition: { queryText: string } };
  expect(body.schedule.period).toBe('1H');
  expect(body.queryCondition.queryText).toContain('ago(4h)');
  expect(cli(['export-rule', '--target', 'splunk']).code).toBe(2);
  expect(cli(['export-rule', '--target', 'sentinel', '--rule', 'nope']).code).toBe(1);
}, 60_000);

test('validate passes for the rules and fails for a rule with an unknown column', () => {
  const ok = cli(['validate']);
  expect(ok.stdout).toContain('ok   t1587-002');
  expect(ok.code).toBe(0);

  const dir = mkdtempSync(join(tmpdir(), 'rules-'));
  cpSync(join(ROOT, 'rules', 't1587-002'), join(dir, 't1587-002'), { recursive: true });
  const query = join(dir, 't1587-002', 'query.kql');
  writeFileSync(query, readFileSync(query, 'utf8').replace('ProcessCommandLine', 'ProcessComandLine'));
  const broken = cli(['validate', '--rules', dir]);
  expect(broken.code).toBe(1);
  expect(broken.stdout).toMatch(/FAIL t1587-002/);
  expect(broken.stdout).toMatch(/ProcessComandLine/);
}, 60_000);

/**
 * The demo's incidents tell stories (issue #13): every finding the allowlist left is in exactly one
 * incident, there are at most a third as many incidents as findings, and no incident's timeline
 * runs longer than the story rules allow: within the story span of its first step, and each pause
 * longer than the story gap bridged by material (file, key, thumbprint, subject, parent process,
 * script) that an earlier step of the same incident named within the grouping window.
 */
function expectStoriesTold(out: string, storage: string): void {
  const { storyGapMs, groupingWindowMs, storyMaxSpanMs } = loadSettings({ Storage: storage }).incidents;
  const read = <T>(name: string): T[] => readFileSync(join(out, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as T);
  const live = read<Finding>('findings.jsonl').filter((f) => f.suppressedBy === null);
  const incidents = read<Incident>('incidents.jsonl');
  expect(incidents.length).toBeGreaterThan(0);
  expect(incidents.length).toBeLessThanOrEqual(live.length / 3);
  expect(incidents.flatMap((i) => i.findingIds).sort()).toEqual(live.map((f) => f.id).sort());
  for (const incident of incidents) {
    const steps = [...incident.findings].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
    const times = steps.map((f) => Date.parse(f.timestamp));
    expect(steps.map((f) => f.id).sort()).toEqual([...incident.findingIds].sort());
    expect({ incident: incident.title, span: times[times.length - 1]! - times[0]! <= storyMaxSpanMs }).toEqual({ incident: incident.title, span: true });
    const named = new Map<string, number>();
    steps.forEach((step, i) => {
      const keys = materialKeys(step);
      if (i > 0 && times[i]! - times[i - 1]! > storyGapMs) {
        const bridged = keys.some((key) => named.has(key) && times[i]! - named.get(key)! <= groupingWindowMs);
        expect({ incident: incident.title, step: `${step.tool} ${step.action} at ${step.timestamp}`, bridged }).toEqual({
          incident: incident.title,
          step: `${step.tool} ${step.action} at ${step.timestamp}`,
          bridged: true,
        });
      }
      for (const key of keys) named.set(key, times[i]!);
    });
  }
}

test('run --demo runs a real cycle and writes the cards; a second run against the same storage announces nothing', () => {
  const storage = azuriteConnectionString();
  const out1 = mkdtempSync(join(tmpdir(), 'demo-'));
  const first = cli(['run', '--demo', '--out', out1, '--storage', storage]);
  // The sample's two deliberately broken rows raise the rows-rejected health alert; nothing else errs.
  expect(first.stderr).toMatch(/\[error\] HUNT_HEALTH_ALERT: Hunting t1587-002: 2 result rows could not be read/);
  expect(first.stderr.replace(/\[error\] HUNT_HEALTH_ALERT: Hunting t1587-002: 2 result rows could not be read[^\n]*/, '')).not.toMatch(/\[error\]/);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/Rule t1587-002: succeeded/);
  expect(first.stdout).toMatch(/Suppressed by the allowlist: [1-9]/);
  expect(first.stdout).toMatch(/\[HIGH\/high\] .*created and used.*\(chain\)/);
  const announced = Number(/Incidents announced: (\d+)/.exec(first.stdout)?.[1]);
  expect(announced).toBeGreaterThan(0);
  for (const name of ['findings.jsonl', 'incidents.jsonl', 'runs.json', 'summary.txt', 'notifications/cards.html']) expect(existsSync(join(out1, name))).toBe(true);
  // One story, one incident (issue #13): far fewer incidents than findings, each told as a
  // timeline; the chain on fin-ws-042 is one HIGH incident holding the .pfx and .cer steps.
  const stories = /Stories: (\d+) incident\(s\) from (\d+) finding\(s\)/.exec(first.stdout);
  expect(Number(stories?.[1])).toBeLessThanOrEqual(Number(stories?.[2]) / 3);
  expectStoriesTold(out1, storage);
  const fin = first.stdout.split('\n  [').find((block) => block.includes('on fin-ws-042.contoso.local'))!;
  expect(first.stdout.split('\n  [').filter((block) => block.includes('on fin-ws-042.contoso.local'))).toHaveLength(1);
  expect(fin).toMatch(/^HIGH\/high\] .*created and used.*\(chain\)/);
  expect(fin).toMatch(/#[\d-]+ \S+ powershell \/ export-pfx( x\d+)? upd\.pfx/);
  expect(fin).toMatch(/#[\d-]+ \S+ certutil \/ import-store( x\d+)? upd\.cer into TrustedPublisher/);

  const delivered = Number(/Delivered: (\d+) notification/.exec(first.stdout)?.[1]);
  expect(readdirSync(join(out1, 'notifications', 'teams'))).toHaveLength(delivered);
  // Into the same folder: what it shows is this run's, not the last run's cards (none here).
  writeFileSync(join(out1, 'notifications', 'teams', 'notes.txt'), 'a reader\'s own file stays');
  const second = cli(['run', '--demo', '--out', out1, '--storage', storage]);
  expect(second.code).toBe(0);
  expect(second.stdout).toMatch(/Incidents announced: 0/);
  expect(second.stdout).toMatch(/Delivered: 0 notification/);
  expect(readdirSync(join(out1, 'notifications', 'teams'))).toEqual(['notes.txt']);
  expect(readdirSync(join(out1, 'notifications', 'webhooks'))).toEqual([]);
  expect(readFileSync(join(out1, 'notifications', 'cards.html'), 'utf8')).toContain('Teams cards (0)');

  const runs = cli(['runs'], { Storage: storage, TENANT_ID: 'contoso-demo' });
  expect(runs.code).toBe(0);
  expect(runs.stdout.match(/succeeded/g)?.length).toBeGreaterThanOrEqual(2);
}, 180_000);

test('an entry added with the CLI suppresses the matching demo findings and shows its hits and history', () => {
  const env = {
    Storage: azuriteConnectionString(),
    TENANT_ID: 'contoso-demo',
    CHECKPOINTS_TABLE: `ckpt${Date.now()}`,
    INCIDENTS_TABLE: `inc${Date.now()}`,
    ALLOWLIST_TABLE: `allow${Date.now()}`,
    ALLOWLIST_AUDIT_TABLE: `audit${Date.now()}`,
    RECENT_STEPS_TABLE: `steps${Date.now()}`,
  };
  const added = cli(
    ['allowlist', 'add', '--id', 'lab-kiosk', '--device-name', 'kiosk-lobby-*', '--reason', 'lobby kiosk is the red-team lab', '--owner', 'secops@contoso.com', '--expires-in-days', '7'],
    env,
  );
  expect(added.code).toBe(0);
  expect(added.stderr).toContain('ALLOWLIST_CHANGE');
  const out = mkdtempSync(join(tmpdir(), 'demo-'));
  const run = cli(['run', '--demo', '--out', out, '--storage', env.Storage], env);
  expect(run.code).toBe(0);
  const suppressedByKiosk = Number(/lab-kiosk (\d+)/.exec(run.stdout)?.[1]);
  expect(suppressedByKiosk).toBeGreaterThan(0);
  const findings = readFileSync(join(out, 'findings.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Finding);
  const kiosk = findings.filter((f) => f.device.name.startsWith('kiosk-lobby-'));
  expect(kiosk.length).toBe(suppressedByKiosk);
  expect(kiosk.every((f) => f.suppressedBy === 'lab-kiosk')).toBe(true);

  const listed = cli(['allowlist', 'list', '--json'], env);
  const entry = (JSON.parse(listed.stdout) as { id: string; hitCount: number; lastHitAt: string | null }[]).find((e) => e.id === 'lab-kiosk');
  expect(entry?.hitCount).toBe(suppressedByKiosk);
  expect(entry?.lastHitAt).not.toBeNull();
}, 120_000);

test('allowlist history shows every change with actor and reason', () => {
  const env = { Storage: azuriteConnectionString(), ALLOWLIST_TABLE: `hallow${Date.now()}`, ALLOWLIST_AUDIT_TABLE: `haudit${Date.now()}`, USER: 'alice' };
  expect(cli(['allowlist', 'add', '--id', 'pki', '--signer-subject', 'CN=Contoso Issuing CA*', '--device-name', 'pki-*', '--reason', 'internal PKI', '--owner', 'pki-team', '--expires-in-days', '30'], env).code).toBe(0);
  expect(cli(['allowlist', 'remove', 'pki', '--reason', 'PKI moved to HSM', '--actor', 'bob'], env).code).toBe(0);
  const history = cli(['allowlist', 'history', 'pki'], env);
  expect(history.code).toBe(0);
  const lines = history.stdout.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/\tdelete\tbob\tcommitted\tPKI moved to HSM$/);
  expect(lines[1]).toMatch(/\tcreate\tcli:alice\tcommitted\t/);
  expect(cli(['allowlist', 'history', 'nope'], env).code).toBe(1);
}, 60_000);

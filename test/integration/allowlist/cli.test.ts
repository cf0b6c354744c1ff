/** `codesign-hunt allowlist …` in-process against Azurite, and the `test` preview report. */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allowlistTestReport, runAllowlistCommand } from '../../../shared/cli/allowlist';
import type { CliIo } from '../../../shared/cli/io';
import { makeEntry, makeFinding } from '../../unit/allowlist/helpers';
import { azuriteConnectionString, uniqueName } from '../../support/azurite';

const ROOT = join(__dirname, '../../..');
const TEMPLATES = join(ROOT, 'shared/allowlist/templates.json');

function env(): NodeJS.ProcessEnv {
  return { Storage: azuriteConnectionString(), ALLOWLIST_TABLE: uniqueName('cliallow'), ALLOWLIST_AUDIT_TABLE: uniqueName('cliaudit'), USER: 'tester' };
}

async function run(argv: string[], environment: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), env: environment };
  const code = await runAllowlistCommand(argv, io);
  return { code, out, err };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'allowlist-cli-'));
}

test('add, list, remove; every write is announced and audited', async () => {
  const e = env();
  const added = await run(['add', '--signer-subject', 'CN=Contoso*', '--device-name', 'build*', '--reason', 'build signing', '--owner', 'pki', '--expires-in-days', '30', '--id', 'contoso-build'], e);
  expect(added).toMatchObject({ code: 0 });
  expect(added.out).toMatch(/^created contoso-build/);
  expect(added.err).toContain('[ALLOWLIST_CHANGE] create contoso-build by cli:tester');
  const listed = await run(['list', '--json'], e);
  const entries = JSON.parse(listed.out) as { id: string; createdBy: string; conditions: unknown }[];
  expect(entries).toEqual([expect.objectContaining({ id: 'contoso-build', createdBy: 'cli:tester', conditions: { signerSubject: 'CN=Contoso*', deviceName: 'build*' } })]);
  expect((await run(['list'], e)).out).toMatch(/^contoso-build\tactive\t/);
  const removed = await run(['remove', 'contoso-build', '--reason', 'retired', '--actor', 'alice'], e);
  expect(removed).toMatchObject({ code: 0, out: 'removed contoso-build\n' });
  expect(JSON.parse((await run(['list', '--json'], e)).out)).toEqual([]);
  expect((await run(['remove', 'contoso-build'], e)).code).toBe(1);
});

test('add reports every invalid field and needs an explicit expiry choice', async () => {
  const e = env();
  const bad = await run(['add', '--tool', 'nmap', '--owner', ''], e);
  expect(bad.code).toBe(1);
  expect(bad.err).toContain('conditions.tool');
  expect(bad.err).toContain('owner');
  expect(bad.err).toContain('reason');
  expect(bad.err).toContain('expiresAt');
  expect((await run(['add', '--tool', 'openssl', '--reason', 'r', '--owner', 'o', '--permanent', '--expires-in-days', '3'], e)).code).toBe(2);
  const permanent = await run(['add', '--tool', 'openssl', '--device-name', 'lab-*', '--reason', 'lab', '--owner', 'o', '--permanent', '--json'], e);
  expect(permanent.code).toBe(0);
  expect((JSON.parse(permanent.out) as { expiresAt: unknown }).expiresAt).toBeNull();
});

test('import templates: all-or-nothing validation, then idempotent by id', async () => {
  const e = env();
  const missing = await run(['import', TEMPLATES], e);
  expect(missing.code).toBe(1);
  expect(missing.err).toContain('entry 1: owner: is required');
  expect(missing.err).toContain('nothing imported');
  expect(JSON.parse((await run(['list', '--json'], e)).out)).toEqual([]);
  expect((await run(['import', TEMPLATES, '--owner', 'secops', '--expires-in-days', '30', '--dry-run'], e)).out).toContain('7 entries valid');
  const first = await run(['import', TEMPLATES, '--owner', 'secops', '--expires-in-days', '30'], e);
  expect(first.code).toBe(0);
  expect(first.out.match(/^created /gm)).toHaveLength(7);
  const again = await run(['import', TEMPLATES, '--owner', 'secops', '--expires-in-days', '30'], e);
  expect(again.out.match(/^skipped /gm)).toHaveLength(7);
  const listed = JSON.parse((await run(['list', '--json'], e)).out) as { enabled: boolean; owner: string }[];
  expect(listed.every((x) => !x.enabled && x.owner === 'secops')).toBe(true);
});

test('export CSV (Sentinel watchlist) and JSON; an export imports into another allowlist', async () => {
  const source = env();
  await run(['import', TEMPLATES, '--owner', 'secops', '--expires-in-days', '30'], source);
  const dir = await tempDir();
  const csvPath = join(dir, 'watchlist.csv');
  expect((await run(['export', '--out', csvPath], source)).code).toBe(0);
  const csv = await readFile(csvPath, 'utf8');
  expect(csv.split('\r\n')[0]!.startsWith('SearchKey,Id,')).toBe(true);
  expect(csv).toContain('tpl-fiddler-root,tpl-fiddler-root,false,global');
  const json = await run(['export', '--format', 'json'], source);
  const jsonPath = join(dir, 'export.json');
  await writeFile(jsonPath, json.out);
  for (const file of [csvPath, jsonPath]) {
    const target = env();
    const imported = await run(['import', file], target);
    expect(imported.code).toBe(0);
    expect(imported.out.match(/^created /gm)).toHaveLength(7);
  }
});

test('configuration and usage errors exit 2', async () => {
  expect((await run(['list'], { USER: 'x' })).code).toBe(2);
  expect((await run(['list'], { ...env(), ALLOWLIST_MAX_LIFETIME_DAYS: 'forever' })).code).toBe(2);
  expect((await run(['frobnicate'], env())).code).toBe(2);
  expect((await run(['test', '--replay', 'x.json'], env())).code).toBe(2);
  expect((await run([], env())).code).toBe(2);
  expect((await run(['help'], env())).code).toBe(0);
});

describe('allowlist test', () => {
  test('report: disabled entries are tested as enabled; expired ones never match', () => {
    const now = new Date('2025-03-01T00:00:00Z');
    const findings = [
      makeFinding({ id: 'f1', certificate: { subject: 'CN=DO_NOT_TRUST_FiddlerRoot' } }),
      makeFinding({ id: 'f2', certificate: { subject: 'CN=Evil' } }),
    ];
    const report = allowlistTestReport(
      findings,
      [
        makeEntry({ id: 'fiddler', enabled: false, conditions: { signerSubject: '*FiddlerRoot*' } }),
        makeEntry({ id: 'old', conditions: { signerSubject: 'CN=Evil' }, expiresAt: '2025-01-01T00:00:00Z' }),
      ],
      { now, tenantId: null },
    );
    expect(report.total).toBe(2);
    expect(report.suppressed).toEqual([{ findingId: 'f1', timestamp: findings[0]!.timestamp, device: 'ws01.contoso.com', subject: 'CN=DO_NOT_TRUST_FiddlerRoot', entryId: 'fiddler' }]);
    expect(report.perEntry).toEqual([
      { entryId: 'fiddler', findings: 1, note: 'disabled: tested as if enabled' },
      { entryId: 'old', findings: 0, note: 'expired: never matches' },
    ]);
  });

  test('replays a Graph results file against the templates', async () => {
    const replay = join(ROOT, 'rules/t1587-002/fixtures/positive.json');
    const result = await run(['test', '--replay', replay, '--allowlist', TEMPLATES, '--json'], { USER: 'x' });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.out) as { total: number; suppressed: { entryId: string }[] };
    expect(report.total).toBeGreaterThan(0);
    // The fixture has Azure DevOps agent rows, but the template is narrowed to CHANGE-ME hosts.
    expect(report.suppressed.filter((s) => s.entryId === 'tpl-ci-azure-devops')).toEqual([]);
    const entryDir = await tempDir();
    const entryFile = join(entryDir, 'entry.json');
    await writeFile(entryFile, JSON.stringify({ id: 'ado', conditions: { parentProcess: 'Agent.Worker.exe' }, reason: 'ADO agents', enabled: false }));
    const text = await run(['test', '--replay', replay, '--entry', entryFile], { USER: 'x' });
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^SUPPRESSED\t.*\tby=ado$/m);
    expect(text.out).toContain('(disabled: tested as if enabled)');
  });
});

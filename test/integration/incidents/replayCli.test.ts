/**
 * `codesign-hunt replay` as a command (in-process, real files): any format `explain` reads, the
 * allowlist file, `--out` with the exact cards, webhook bodies and the HTML preview, and a clear
 * error for a file that is not hunting results.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../../shared/cli/main';
import type { Incident } from '../../../shared/model/incident';
import { validateIncident } from '../../../shared/schema/validate';

const FIXTURES = join(__dirname, '../../fixtures');

async function replay(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['replay', ...args], { stdout: (t) => out.push(t), stderr: (t) => err.push(t), env });
  return { code, stdout: out.join(''), stderr: err.join('') };
}

function incidentsOf(stdout: string): Incident[] {
  return stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Incident);
}

describe('codesign-hunt replay', () => {
  test('the portal CSV export replays like the Graph answer of the same rows', async () => {
    const csv = await replay([join(FIXTURES, 'published-output/portal-export-utc.csv'), '--json']);
    const graph = await replay([join(FIXTURES, 'published-output/graph-answer.json'), '--json']);
    expect(csv.code).toBe(0);
    expect(graph.code).toBe(0);
    const fromCsv = incidentsOf(csv.stdout);
    expect(fromCsv.length).toBeGreaterThan(0);
    expect(fromCsv.map((i) => [i.device.name, i.findingIds.length])).toEqual(incidentsOf(graph.stdout).map((i) => [i.device.name, i.findingIds.length]));
    for (const incident of fromCsv) expect(validateIncident(incident)).toEqual([]);
  }, 120_000);

  test('--out writes the exact cards, webhook bodies, the preview and the incidents; --allowlist suppresses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-out-'));
    const results = join(FIXTURES, 'stories/stories.results.json');
    const allowlist = join(dir, 'allowlist.json');
    writeFileSync(
      allowlist,
      JSON.stringify([
        { id: 'ci-release-signing', conditions: { deviceName: 'ci-win-03.tailspin.local', account: 'svc-azpipelines' }, scope: 'global', reason: 'release pipeline', owner: 'secops', expiresAt: '2099-01-01T00:00:00.000Z', enabled: true },
      ]),
    );
    const out = join(dir, 'out');
    const result = await replay([results, '--out', out, '--allowlist', allowlist], { TENANT_ID: 'tailspin' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('codesign-hunt replay');
    expect(result.stdout).toMatch(/suppressed 31/);
    expect(result.stdout).not.toContain('ci-win-03');
    // The metric leaves the allowlisted story out of "lost": the allowlist meant to hide it.
    expect(result.stdout).toMatch(/lost {11}0/);
    const teams = readdirSync(join(out, 'teams'));
    const hooks = readdirSync(join(out, 'webhooks'));
    expect(teams.length).toBeGreaterThan(0);
    expect(hooks.sort()).toEqual(teams.sort());
    const body = JSON.parse(readFileSync(join(out, 'webhooks', hooks[0]!), 'utf8')) as { headers: Record<string, string>; body: string };
    expect(body.headers['webhook-id']).toBe(hooks[0]!.replace(/\.json$/, ''));
    for (const name of ['cards.html', 'incidents.jsonl', 'summary.txt']) expect(existsSync(join(out, name))).toBe(true);
    expect(readFileSync(join(out, 'incidents.jsonl'), 'utf8').trim().split('\n')).toHaveLength(19);
  }, 120_000);

  test('a file that is not hunting results: exit 1 and a reason; no FILE: usage', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'replay-bad-'));
    const file = join(dir, 'x.json');
    writeFileSync(file, '{"value": []}');
    const bad = await replay([file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^replay: .*x\.json/);
    expect((await replay([])).code).toBe(2);
  });
});

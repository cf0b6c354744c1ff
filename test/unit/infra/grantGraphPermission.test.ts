/**
 * scripts/grant-graph-permission.sh against a stand-in `az` that answers the Graph calls and
 * records them: the app role is resolved by value, the assignment is made once, an existing one
 * is left alone, and --dry-run changes nothing.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const script = path.resolve(__dirname, '../../../scripts/grant-graph-permission.sh');
const GRAPH_SP = '11111111-2222-3333-4444-555555555555';
const ROLE = 'dd98c7f5-2d42-42d3-a0e4-633161547251';
const PRINCIPAL = 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee';

// Answers by the arguments it is called with; every call is appended to $AZ_LOG.
const FAKE_AZ = `#!/usr/bin/env bash
printf '%s\\n' "$*" >> "$AZ_LOG"
args="$*"
case "$args" in
  "account show"*) exit 0 ;;
  "cloud show"*) echo "https://graph.microsoft.com/" ;;
  "identity show"*) echo "${PRINCIPAL}" ;;
  *"servicePrincipals(appId='00000003-0000-0000-c000-000000000000')"*) echo "${GRAPH_SP}" ;;
  *"select=appRoles"*"value=='ThreatHunting.Read.All'"*) echo "${ROLE}" ;;
  *"select=appRoles"*) echo "" ;;
  *"select=displayName"*) echo "id-codesign-test" ;;
  *"--method GET"*"appRoleAssignments"*) echo "\${FAKE_EXISTING:-0}" ;;
  *"--method POST"*"appRoleAssignments"*) exit 0 ;;
  *) echo "unexpected az call: $args" >&2; exit 9 ;;
esac
`;

let dir: string;
let log: string;

function run(args: string[], env: Record<string, string> = {}) {
  fs.writeFileSync(log, '');
  const result = spawnSync('bash', [script, ...args], {
    env: { PATH: `${dir}:/usr/bin:/bin`, AZ_LOG: log, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { ...result, calls: fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'grant-graph-'));
  log = path.join(dir, 'az.log');
  fs.writeFileSync(path.join(dir, 'az'), FAKE_AZ, { mode: 0o755 });
});

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('resolves ThreatHunting.Read.All by value and assigns it to the identity once', () => {
  const result = run(['--principal-id', PRINCIPAL]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  const posts = result.calls.filter((c) => c.includes('--method POST'));
  expect(posts).toHaveLength(1);
  expect(posts[0]).toContain(`https://graph.microsoft.com/v1.0/servicePrincipals/${PRINCIPAL}/appRoleAssignments`);
  expect(posts[0]).toContain(`{"principalId":"${PRINCIPAL}","resourceId":"${GRAPH_SP}","appRoleId":"${ROLE}"}`);
  expect(result.calls.some((c) => c.includes("contains(allowedMemberTypes, 'Application')"))).toBe(true);
  expect(result.stdout).toContain(`app role ${ROLE}`);
});

test('leaves an existing assignment alone', () => {
  const result = run(['--principal-id', PRINCIPAL], { FAKE_EXISTING: '1' });
  expect(result.status).toBe(0);
  expect(result.stdout).toContain('Already granted');
  expect(result.calls.filter((c) => c.includes('--method POST'))).toEqual([]);
});

test('--dry-run changes nothing; --identity resolves the principal', () => {
  const result = run(['--identity', 'id-codesign', '--resource-group', 'rg-test', '--dry-run']);
  expect(result.status).toBe(0);
  expect(result.calls[1]).toContain('identity show --name id-codesign --resource-group rg-test');
  expect(result.stdout).toContain('Dry run');
  expect(result.calls.filter((c) => c.includes('--method POST'))).toEqual([]);
});

test('refuses an unknown permission and a malformed principal id', () => {
  const unknown = run(['--principal-id', PRINCIPAL, '--permission', 'Nope.Read.All']);
  expect(unknown.status).not.toBe(0);
  expect(unknown.stderr).toContain('no application permission named Nope.Read.All');
  const malformed = run(['--principal-id', 'not an id']);
  expect(malformed.status).not.toBe(0);
  expect(malformed.stderr).toContain('is not an object id');
});

/** Allowlist `branch` conditions: the published names, and the earlier lowercase ids as aliases. */
import { validateEntryInput } from '../../../shared/allowlist/entry';
import { compileAllowlist } from '../../../shared/allowlist/matcher';
import type { Branch, Tool } from '../../../shared/model/finding';
import { makeEntry, makeFinding } from './helpers';

const NOW = new Date('2025-03-01T00:00:00Z');
const OPTIONS = { now: NOW, maxLifetimeDays: 90 };
const input = (branch: string) => ({
  conditions: { branch, deviceName: 'build-01' },
  reason: 'build agent',
  owner: 'secops',
  expiresAt: '2025-04-01T00:00:00Z',
});

test.each([
  ['SignTool-ExecutableSigning', 'SignTool-ExecutableSigning'],
  ['signtool-executablesigning', 'SignTool-ExecutableSigning'],
  ['signtool', 'SignTool-ExecutableSigning'],
  ['POWERSHELL', 'PowerShell-CertCmdlet'],
  ['trust-store', 'Registry-TrustStoreWrite'],
  ['makecert-pvk2pfx', 'makecert-pvk2pfx'],
  ['SignTool-*', 'SignTool-*'],
])('branch %j is accepted and stored as %j', (given, stored) => {
  const result = validateEntryInput(input(given), OPTIONS);
  expect(result.ok && result.value.conditions.branch).toBe(stored);
});

test('an unknown branch is a 400-style field error listing the published names', () => {
  const result = validateEntryInput(input('Sign-Everything'), OPTIONS);
  expect(result.ok).toBe(false);
  if (!result.ok) {
    expect(result.errors.map((e) => e.field)).toEqual(['conditions.branch']);
    expect(result.errors[0]!.message).toContain('SignTool-ExecutableSigning');
  }
});

describe('matching', () => {
  const finding = (branch: Branch, tool: Tool) => makeFinding({ branch, tool, device: { name: 'build-01' } });
  const matches = (condition: string, branch: Branch, tool: Tool) =>
    compileAllowlist([makeEntry({ id: 'e', conditions: { branch: condition, deviceName: 'build-01' } })], NOW).match(finding(branch, tool)) !== null;

  test('the legacy makecert-pvk2pfx condition covers both SDK branches, and nothing else', () => {
    expect(matches('makecert-pvk2pfx', 'MakeCert-NativeSDK', 'makecert')).toBe(true);
    expect(matches('makecert-pvk2pfx', 'Pvk2Pfx-KeyConversion', 'pvk2pfx')).toBe(true);
    expect(matches('makecert-pvk2pfx', 'SignTool-ExecutableSigning', 'signtool')).toBe(false);
  });

  test('a legacy id kept in an old stored entry still matches its branch', () => {
    expect(matches('signtool', 'SignTool-ExecutableSigning', 'signtool')).toBe(true);
    expect(matches('openssl', 'SignTool-ExecutableSigning', 'signtool')).toBe(false);
  });

  test('published names match case-insensitively and split makecert from pvk2pfx', () => {
    expect(matches('pvk2pfx-keyconversion', 'Pvk2Pfx-KeyConversion', 'pvk2pfx')).toBe(true);
    expect(matches('MakeCert-NativeSDK', 'Pvk2Pfx-KeyConversion', 'pvk2pfx')).toBe(false);
  });
});

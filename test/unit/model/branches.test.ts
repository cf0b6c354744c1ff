/** Branch names: the published names in any case, and the earlier lowercase ids as aliases. */
import { branchesNamedBy, legacyBranchId, resolveBranch, TOOL_BRANCH } from '../../../shared/model/branches';
import { BRANCHES, TOOLS } from '../../../shared/model/finding';

test('the six process branches are the published detection names, word for word', () => {
  expect(BRANCHES.slice(0, 6)).toEqual([
    'MakeCert-NativeSDK',
    'Pvk2Pfx-KeyConversion',
    'PowerShell-CertCmdlet',
    'OpenSSL-CertCreation',
    'CertUtil-StoreImport',
    'SignTool-ExecutableSigning',
  ]);
});

test.each([
  ['MakeCert-NativeSDK', ['MakeCert-NativeSDK']],
  ['makecert-nativesdk', ['MakeCert-NativeSDK']],
  ['  SIGNTOOL-EXECUTABLESIGNING ', ['SignTool-ExecutableSigning']],
  ['signtool', ['SignTool-ExecutableSigning']],
  ['PowerShell', ['PowerShell-CertCmdlet']],
  ['trust-store', ['Registry-TrustStoreWrite']],
  ['cert-file', ['File-CertKeyWrite']],
  ['signed-binary', ['Binary-SelfSignedExecution']],
  ['makecert-pvk2pfx', ['MakeCert-NativeSDK', 'Pvk2Pfx-KeyConversion']],
  ['other', ['Other']],
  ['Unknown', []],
  ['', []],
])('%j names %j', (text, expected) => {
  expect(branchesNamedBy(text)).toEqual(expected);
});

test('the split alias makecert-pvk2pfx is settled by the row tool', () => {
  expect(resolveBranch('makecert-pvk2pfx', 'pvk2pfx')).toBe('Pvk2Pfx-KeyConversion');
  expect(resolveBranch('MAKECERT-PVK2PFX', 'makecert')).toBe('MakeCert-NativeSDK');
  // A renamed tool the parser could not name still lands in a branch of the alias.
  expect(resolveBranch('makecert-pvk2pfx', 'other')).toBe('MakeCert-NativeSDK');
  expect(resolveBranch('Pvk2Pfx-KeyConversion', 'makecert')).toBe('Pvk2Pfx-KeyConversion');
  expect(resolveBranch('nope', 'signtool')).toBeNull();
});

test('every tool has a branch and every branch but Other has one legacy id', () => {
  for (const tool of TOOLS) expect(BRANCHES).toContain(TOOL_BRANCH[tool]);
  for (const branch of BRANCHES) {
    const legacy = legacyBranchId(branch);
    if (branch === 'Other') continue;
    expect(legacy).not.toBeNull();
    expect(branchesNamedBy(legacy!)).toContain(branch);
  }
});

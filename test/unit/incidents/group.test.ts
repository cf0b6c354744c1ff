import fc from 'fast-check';
import { bucketStart, DEFAULT_GROUPING_WINDOW_MS, groupFindings, incidentIdFor } from '../../../shared/incidents/group';
import { at, makeFinding, makecertCreate, newSelfSignedCert, signtoolSign, T0 } from '../../support/findings';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const HOUR = 60 * 60 * 1000;

describe('groupFindings', () => {
  test('findings of one device, signer and branch in one window make one group', () => {
    const groups = groupFindings(
      [newSelfSignedCert('CN=Contoso Dev', { minutes: 0 }), newSelfSignedCert('CN=Contoso Dev', { minutes: 90 })],
      { tenantId: TENANT },
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.findings).toHaveLength(2);
    expect(groups[0]!.key).toBe(`id:${makeFinding().device.id}|subject:cn=contoso dev|PowerShell-CertCmdlet`);
  });

  test('suppressed findings are left out', () => {
    const groups = groupFindings([newSelfSignedCert('CN=A', { suppressedBy: 'allow-1' }), newSelfSignedCert('CN=B')], { tenantId: TENANT });
    expect(groups.map((g) => g.signerKey)).toEqual(['subject:cn=b']);
  });

  test('a different signer, branch or device opens another group', () => {
    const groups = groupFindings(
      [
        newSelfSignedCert('CN=Contoso Dev'),
        newSelfSignedCert('CN=Fabrikam Dev'),
        makecertCreate('CN=Contoso Dev'),
        newSelfSignedCert('CN=Contoso Dev', { device: { id: 'ffff', name: 'WS-043' } }),
      ],
      { tenantId: TENANT },
    );
    expect(groups).toHaveLength(4);
    expect(new Set(groups.map((g) => g.incidentId)).size).toBe(4);
  });

  test('subject comparison ignores case and extra whitespace', () => {
    const groups = groupFindings([newSelfSignedCert('CN=Contoso  Dev'), newSelfSignedCert('cn=contoso dev', { minutes: 5 })], { tenantId: TENANT });
    expect(groups).toHaveLength(1);
  });

  test('without a DeviceId the device name, lower-cased, is the device', () => {
    const groups = groupFindings(
      [
        newSelfSignedCert('CN=X', { device: { id: null, name: 'WS-042' } }),
        newSelfSignedCert('CN=X', { device: { id: null, name: 'ws-042' }, minutes: 1 }),
      ],
      { tenantId: TENANT },
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]!.deviceKey).toBe('name:ws-042');
  });

  test('signer identity falls back to thumbprint, then certificate file, then tool', () => {
    const thumb = makeFinding({ tool: 'certutil', action: 'export-pfx', certificate: { thumbprint: '1F3D38F2 80635F27' } });
    const file = makeFinding({ tool: 'certutil', action: 'import-store', certificate: { files: ['C:\\certs\\Contoso.CER'], store: 'Root' } });
    const none = signtoolSign('setup.exe');
    const keys = groupFindings([thumb, file, none], { tenantId: TENANT }).map((g) => g.signerKey ?? g.key);
    expect(keys).toEqual(
      expect.arrayContaining(['thumbprint:1f3d38f280635f27', 'file:contoso.cer', `id:${none.device.id}|tool:signtool|SignTool-ExecutableSigning`]),
    );
  });

  test('findings without identity group by device + branch + tool', () => {
    const groups = groupFindings([signtoolSign('a.exe'), signtoolSign('b.exe', {}, { minutes: 10 })], { tenantId: TENANT });
    expect(groups).toHaveLength(1);
    expect(groups[0]!.signerKey).toBeNull();
  });

  test('windows are aligned to epoch multiples: a day boundary splits, the same day does not', () => {
    const before = newSelfSignedCert('CN=X', { timestamp: '2025-03-04T23:59:00.000Z' });
    const after = newSelfSignedCert('CN=X', { timestamp: '2025-03-05T00:01:00.000Z' });
    const groups = groupFindings([before, after], { tenantId: TENANT });
    expect(groups).toHaveLength(2);
    expect(groups[0]!.windowStart).toBe(Date.parse('2025-03-04T00:00:00.000Z'));
    expect(groups[1]!.windowStart).toBe(Date.parse('2025-03-05T00:00:00.000Z'));
    expect(groups[0]!.windowEnd - groups[0]!.windowStart).toBe(DEFAULT_GROUPING_WINDOW_MS);
  });

  test('the grouping window is configurable', () => {
    const findings = [newSelfSignedCert('CN=X', { minutes: 0 }), newSelfSignedCert('CN=X', { minutes: 70 })];
    expect(groupFindings(findings, { tenantId: TENANT, groupingWindowMs: HOUR })).toHaveLength(2);
    expect(groupFindings(findings, { tenantId: TENANT, groupingWindowMs: 6 * HOUR })).toHaveLength(1);
    expect(() => groupFindings(findings, { tenantId: TENANT, groupingWindowMs: 0 })).toThrow(RangeError);
  });

  test('the same finding twice in one batch counts once', () => {
    const f = newSelfSignedCert('CN=X');
    expect(groupFindings([f, { ...f }], { tenantId: TENANT })[0]!.findings).toHaveLength(1);
  });

  test('incident ids are truncated sha256 hex, stable, and differ by tenant and rule', () => {
    const id = incidentIdFor(TENANT, 't1587-002', 'k', Date.parse(T0));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(incidentIdFor(TENANT.toUpperCase(), 't1587-002', 'k', Date.parse(T0))).toBe(id);
    expect(incidentIdFor('other', 't1587-002', 'k', Date.parse(T0))).not.toBe(id);
    expect(incidentIdFor(TENANT, 'other-rule', 'k', Date.parse(T0))).not.toBe(id);
  });

  test('an unreadable timestamp fails loudly instead of dropping evidence', () => {
    expect(() => groupFindings([newSelfSignedCert('CN=X', { timestamp: 'yesterday' })], { tenantId: TENANT })).toThrow(/unreadable timestamp/);
  });

  test('property: overlapping hunt windows and input order give every finding the same incident id', () => {
    const base = Date.parse('2025-03-04T00:00:00.000Z');
    const findingArb = fc.record({
      minute: fc.integer({ min: 0, max: 3 * 24 * 60 }),
      subject: fc.constantFrom('CN=A', 'CN=B', null),
      device: fc.constantFrom('WS-1', 'WS-2'),
      tool: fc.constantFrom('powershell' as const, 'signtool' as const),
    });
    fc.assert(
      fc.property(fc.array(findingArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 0, max: 3 * 24 * 60 }), (specs, cut) => {
        const findings = specs.map((s, i) =>
          makeFinding({
            id: `f${i}`,
            tool: s.tool,
            action: s.tool === 'signtool' ? 'sign' : 'create-cert',
            timestamp: new Date(base + s.minute * 60_000).toISOString(),
            device: { id: null, name: s.device },
            certificate: { subject: s.subject },
          }),
        );
        const idOf = (list: typeof findings): Map<string, string> =>
          new Map(groupFindings(list, { tenantId: TENANT, groupingWindowMs: 6 * HOUR }).flatMap((g) => g.findings.map((f) => [f.id, g.incidentId] as const)));
        const all = idOf(findings);
        const reversed = idOf([...findings].reverse());
        // Two overlapping windows: [start, cut + 2h) and [cut - 2h, end].
        const first = idOf(findings.filter((f) => Date.parse(f.timestamp) < base + cut * 60_000 + 2 * HOUR));
        const second = idOf(findings.filter((f) => Date.parse(f.timestamp) >= base + cut * 60_000 - 2 * HOUR));
        for (const [id, incident] of all) {
          expect(reversed.get(id)).toBe(incident);
          if (first.has(id)) expect(first.get(id)).toBe(incident);
          if (second.has(id)) expect(second.get(id)).toBe(incident);
        }
      }),
    );
  });

  test('bucketStart floors to the window', () => {
    expect(bucketStart(Date.parse('2025-03-04T10:30:00Z'), HOUR)).toBe(Date.parse('2025-03-04T10:00:00Z'));
    expect(bucketStart(Date.parse(at(0)), DEFAULT_GROUPING_WINDOW_MS)).toBe(Date.parse('2025-03-04T00:00:00Z'));
  });
});

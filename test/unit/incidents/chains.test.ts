import type { Finding } from '../../../shared/model/finding';
import { chainRole, compareIdentity, isCreationSideStep, linkChains, trustStoreOf } from '../../../shared/incidents/chains';
import { groupFindings } from '../../../shared/incidents/group';
import {
  certutilAddStore,
  importCertificateRoot,
  makecertCreate,
  makeFinding,
  newSelfSignedCert,
  opensslCreate,
  opensslExportPfx,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';

const TENANT = 'tenant-1';

function drafts(findings: Finding[], chainWindowMs?: number) {
  const groups = groupFindings(findings, { tenantId: TENANT });
  return { groups, drafts: linkChains(groups, chainWindowMs === undefined ? {} : { chainWindowMs }) };
}

describe('chain roles', () => {
  test.each([
    ['New-SelfSignedCertificate', 'create', newSelfSignedCert()],
    ['makecert', 'create', makecertCreate()],
    ['openssl req', 'create', opensslCreate()],
    ['openssl pkcs12 -export', 'create', opensslExportPfx()],
    ['signtool sign', 'use', signtoolSign()],
    ['Set-AuthenticodeSignature', 'use', setAuthenticode()],
    ['certutil -addstore Root', 'use', certutilAddStore('Root')],
    ['certutil -addstore AuthRoot', 'use', certutilAddStore('AuthRoot')],
    ['certutil -addstore "TrustedPublisher"', 'use', certutilAddStore('"TrustedPublisher"')],
    ['Import-Certificate into Root', 'use', importCertificateRoot()],
    ['certutil -addstore My', null, certutilAddStore('My')],
    ['pvk2pfx', null, pvk2pfx()],
    ['certutil -exportPFX', null, makeFinding({ tool: 'certutil', action: 'export-pfx' })],
  ])('%s -> %s', (_name, role, finding) => {
    expect(chainRole(finding)).toBe(role);
  });

  test('creation-side steps (remembered across cycles): creations, exports and key conversions', () => {
    expect([makecertCreate(), opensslExportPfx(), pvk2pfx(), newSelfSignedCert()].every(isCreationSideStep)).toBe(true);
    expect([signtoolSign(), certutilAddStore('Root'), makeFinding({ tool: 'certutil', action: 'export-pfx' })].some(isCreationSideStep)).toBe(false);
  });

  test('trust store names are read from bare names and cert: paths', () => {
    expect(trustStoreOf('Cert:\\LocalMachine\\Root')).toBe('root');
    expect(trustStoreOf('cert:\\LocalMachine\\TrustedPublisher')).toBe('trustedpublisher');
    expect(trustStoreOf('Cert:\\CurrentUser\\My')).toBeNull();
    expect(trustStoreOf(null)).toBeNull();
  });
});

describe('linkChains', () => {
  test('New-SelfSignedCertificate then Set-AuthenticodeSignature on the same device is one chain incident', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = setAuthenticode(undefined, { minutes: 30 });
    const { groups, drafts: result } = drafts([create, sign]);
    expect(groups).toHaveLength(2);
    expect(result).toHaveLength(1);
    const draft = result[0]!;
    expect(draft.findings.map((f) => f.id)).toEqual([create.id, sign.id]);
    expect(draft.chainLink).toEqual({
      linkedBy: 'device-time',
      createdFindingIds: [create.id],
      usedFindingIds: [sign.id],
      mergedIncidentIds: [groups.find((g) => g.findings.includes(sign))!.incidentId],
    });
    // The incident keeps the creation group's id: it existed first, so a re-run that saw only the
    // creation already used this id.
    expect(draft.primary.incidentId).toBe(groups.find((g) => g.findings.includes(create))!.incidentId);
  });

  test('makecert -> pvk2pfx -> signtool /f links by file through the conversion', () => {
    const { drafts: result } = drafts([
      makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 }),
      pvk2pfx('SPC', { minutes: 2 }),
      signtoolSign('payload.exe', { pfx: 'C:\\build\\SPC.pfx' }, { minutes: 5 }),
    ]);
    // pvk2pfx converts makecert's files, so its own group joins the one chain incident too.
    expect(result).toHaveLength(1);
    expect(result[0]!.chainLink!.linkedBy).toBe('file');
    expect(result[0]!.chainLink!.createdFindingIds).toHaveLength(2);
    expect(result[0]!.primary.findings[0]!.tool).toBe('makecert');
  });

  test('openssl create + pkcs12 export + signtool /f code.pfx is linked by the PFX file', () => {
    const { drafts: result } = drafts([
      opensslCreate('/CN=Contoso Dev', 'code', { minutes: 0 }),
      opensslExportPfx('code', { minutes: 1 }),
      signtoolSign('app.exe', { pfx: 'code.pfx' }, { minutes: 3 }),
    ]);
    expect(result).toHaveLength(1);
    expect(result[0]!.chainLink!.linkedBy).toBe('file');
    expect(result[0]!.findings).toHaveLength(3);
    expect(result[0]!.primary.findings[0]!.action).toBe('create-cert');
  });

  test('signtool /n with a substring of the subject links by subject', () => {
    const { drafts: result } = drafts([makecertCreate('CN=Contoso Dev, O=Contoso'), signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 10 })]);
    expect(result).toHaveLength(1);
    expect(result[0]!.chainLink!.linkedBy).toBe('subject');
  });

  test('a thumbprint match wins', () => {
    const create = makeFinding({ tool: 'powershell', action: 'export-pfx', certificate: { thumbprint: 'AB CD EF 01' } });
    const sign = signtoolSign('x.exe', { sha1: 'abcdef01' }, { minutes: 5 });
    expect(compareIdentity(create, sign, new Set())).toEqual({ result: 'match', basis: 'thumbprint' });
    expect(drafts([create, sign]).drafts[0]!.chainLink!.linkedBy).toBe('thumbprint');
  });

  test('a root-store import after creation is a chain; an import into My is not', () => {
    expect(drafts([newSelfSignedCert(), certutilAddStore('Root', 'contoso.cer', { minutes: 20 })]).drafts).toHaveLength(1);
    expect(drafts([newSelfSignedCert(), importCertificateRoot('contoso.cer', { minutes: 20 })]).drafts[0]!.chainLink).not.toBeNull();
    expect(drafts([newSelfSignedCert(), certutilAddStore('My', 'contoso.cer', { minutes: 20 })]).drafts.every((d) => d.chainLink === null)).toBe(true);
  });

  test('outside the chain window, before the creation, or on another device: no chain', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const late = setAuthenticode(undefined, { minutes: 121 });
    const early = setAuthenticode(undefined, { minutes: -5 });
    const elsewhere = setAuthenticode(undefined, { minutes: 10, device: { id: 'other-device', name: 'WS-999' } });
    for (const use of [late, early, elsewhere]) {
      expect(drafts([create, use]).drafts.every((d) => d.chainLink === null)).toBe(true);
    }
    // The window is configurable.
    expect(drafts([create, late], 3 * 60 * 60 * 1000).drafts).toHaveLength(1);
  });

  test('known, different subjects are different certificates: no chain', () => {
    const { drafts: result } = drafts([newSelfSignedCert('CN=Contoso Dev'), signtoolSign('x.exe', { subject: 'Fabrikam Publisher' }, { minutes: 5 })]);
    expect(result.every((d) => d.chainLink === null)).toBe(true);
  });

  test('among several creations the matching one is preferred over the nearest', () => {
    const contoso = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const fabrikam = newSelfSignedCert('CN=Fabrikam Dev', { minutes: 20 });
    const sign = signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 30 });
    const { drafts: result } = drafts([contoso, fabrikam, sign]);
    const chain = result.find((d) => d.chainLink)!;
    expect(chain.chainLink!.createdFindingIds).toEqual([contoso.id]);
    expect(result).toHaveLength(2);
  });

  test('without identity the latest creation before the use is linked', () => {
    const first = newSelfSignedCert('CN=One', { minutes: 0 });
    const second = newSelfSignedCert('CN=Two', { minutes: 40 });
    const sign = setAuthenticode(undefined, { minutes: 50 });
    const chain = drafts([first, second, sign]).drafts.find((d) => d.chainLink)!;
    expect(chain.chainLink!.createdFindingIds).toEqual([second.id]);
  });

  test('several uses of one creation merge into the one incident', () => {
    const { drafts: result } = drafts([
      newSelfSignedCert('CN=Contoso Dev', { minutes: 0 }),
      setAuthenticode('a.ps1', { minutes: 5 }),
      signtoolSign('b.exe', {}, { minutes: 6 }),
      certutilAddStore('Root', 'c.cer', { minutes: 7 }),
    ]);
    expect(result).toHaveLength(1);
    expect(result[0]!.chainLink!.usedFindingIds).toHaveLength(3);
    expect(result[0]!.chainLink!.mergedIncidentIds).toHaveLength(3);
  });

  test('order of input does not change the result', () => {
    const findings = [newSelfSignedCert('CN=A', { minutes: 0 }), setAuthenticode(undefined, { minutes: 5 }), signtoolSign('x.exe', {}, { minutes: 8 })];
    const a = drafts(findings).drafts;
    const b = drafts([...findings].reverse()).drafts;
    expect(b.map((d) => [d.primary.incidentId, d.chainLink])).toEqual(a.map((d) => [d.primary.incidentId, d.chainLink]));
  });
});

describe('creation steps of one script', () => {
  test('New-SelfSignedCertificate and Export-PfxCertificate from one parent process join the chain signed with the PFX', () => {
    const parent = { fileName: 'wscript.exe', commandLine: 'wscript.exe invoice.js', processId: 7311 };
    const create = newSelfSignedCert('CN=Microsoft Windows Update', { minutes: 0, parent });
    const exportPfx = makeFinding({
      tool: 'powershell',
      action: 'export-pfx',
      timestamp: '2025-03-04T10:00:41.000Z',
      parent,
      certificate: { subject: null, thumbprint: null, files: ['C:\\Users\\alice\\AppData\\Local\\Temp\\upd.pfx'], store: 'Cert:\\CurrentUser\\My', codeSigningEku: true },
    });
    const sign = signtoolSign('C:\\Users\\alice\\AppData\\Local\\Temp\\helper.exe', { pfx: 'C:\\Users\\alice\\AppData\\Local\\Temp\\upd.pfx' }, { minutes: 2, parent: { fileName: 'cmd.exe', commandLine: 'cmd.exe /c run.cmd', processId: 9000 } });
    const result = drafts([create, exportPfx, sign]).drafts;
    expect(result).toHaveLength(1);
    expect(result[0]!.findings.map((f) => f.id)).toEqual([create.id, exportPfx.id, sign.id]);
    expect(result[0]!.chainLink?.createdFindingIds).toEqual(expect.arrayContaining([create.id, exportPfx.id]));
  });

  test('the same parent later, or naming another certificate, does not join', () => {
    const parent = { fileName: 'cmd.exe', commandLine: 'cmd.exe', processId: 5000 };
    const contoso = newSelfSignedCert('CN=Contoso', { minutes: 0, parent });
    const fabrikam = newSelfSignedCert('CN=Fabrikam', { minutes: 1, parent });
    const late = makeFinding({ tool: 'powershell', action: 'export-pfx', timestamp: '2025-03-04T10:30:00.000Z', parent, certificate: { subject: null, thumbprint: null, files: ['C:\\x\\late.pfx'], store: null, codeSigningEku: false } });
    const sign = signtoolSign('app.exe', { subject: 'Contoso' }, { minutes: 3 });
    const chain = drafts([contoso, fabrikam, late, sign]).drafts.find((d) => d.chainLink)!;
    expect(chain.findings.map((f) => f.id)).toEqual([contoso.id, sign.id]);
  });
});

import type { Finding } from '../../../shared/model/finding';
import { chainRole, compareIdentity, isCreationSideStep, storyChain, trustStoreOf } from '../../../shared/incidents/chains';
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

const chainOf = (findings: Finding[], chainWindowMs?: number) => storyChain(findings, chainWindowMs);

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

describe('storyChain: creation then use within one story', () => {
  test('New-SelfSignedCertificate then Set-AuthenticodeSignature is a chain linked by device and time', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const sign = setAuthenticode(undefined, { minutes: 30 });
    expect(chainOf([create, sign])).toEqual({
      linkedBy: 'device-time',
      createdFindingIds: [create.id],
      usedFindingIds: [sign.id],
      mergedIncidentIds: [],
    });
  });

  test('makecert -> pvk2pfx -> signtool /f links by file through the conversion', () => {
    const chain = chainOf([
      makecertCreate('CN=Contoso Dev', 'SPC', { minutes: 0 }),
      pvk2pfx('SPC', { minutes: 2 }),
      signtoolSign('payload.exe', { pfx: 'C:\\build\\SPC.pfx' }, { minutes: 5 }),
    ]);
    expect(chain!.linkedBy).toBe('file');
    expect(chain!.createdFindingIds).toHaveLength(2);
  });

  test('openssl create + pkcs12 export + signtool /f code.pfx is linked by the PFX file', () => {
    const chain = chainOf([
      opensslCreate('/CN=Contoso Dev', 'code', { minutes: 0 }),
      opensslExportPfx('code', { minutes: 1 }),
      signtoolSign('app.exe', { pfx: 'code.pfx' }, { minutes: 3 }),
    ]);
    expect(chain!.linkedBy).toBe('file');
    expect(chain!.createdFindingIds).toHaveLength(2);
  });

  test('signtool /n with a substring of the subject links by subject; a thumbprint match wins', () => {
    expect(chainOf([makecertCreate('CN=Contoso Dev, O=Contoso'), signtoolSign('x.exe', { subject: 'Contoso Dev' }, { minutes: 10 })])!.linkedBy).toBe('subject');
    const create = makeFinding({ tool: 'powershell', action: 'export-pfx', certificate: { thumbprint: 'AB CD EF 01' } });
    const sign = signtoolSign('x.exe', { sha1: 'abcdef01' }, { minutes: 5 });
    expect(compareIdentity(create, sign, new Set())).toEqual({ result: 'match', basis: 'thumbprint' });
    expect(chainOf([create, sign])!.linkedBy).toBe('thumbprint');
  });

  test('a root-store import after creation is a chain; an import into My is not', () => {
    expect(chainOf([newSelfSignedCert(), certutilAddStore('Root', 'contoso.cer', { minutes: 20 })])).not.toBeNull();
    expect(chainOf([newSelfSignedCert(), importCertificateRoot('contoso.cer', { minutes: 20 })])).not.toBeNull();
    expect(chainOf([newSelfSignedCert(), certutilAddStore('My', 'contoso.cer', { minutes: 20 })])).toBeNull();
  });

  test('outside the chain window, or before the creation: no chain; the window is configurable', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const late = setAuthenticode(undefined, { minutes: 121 });
    const early = setAuthenticode(undefined, { minutes: -5 });
    expect(chainOf([create, late])).toBeNull();
    expect(chainOf([create, early])).toBeNull();
    expect(chainOf([create, late], 3 * 60 * 60 * 1000)).not.toBeNull();
  });

  test('known, different subjects are different certificates: no chain', () => {
    expect(chainOf([newSelfSignedCert('CN=Contoso Dev'), signtoolSign('x.exe', { subject: 'Fabrikam Publisher' }, { minutes: 5 })])).toBeNull();
  });

  test('the strongest link over every use is reported, and every linked use is listed', () => {
    const create = newSelfSignedCert('CN=Contoso Dev', { minutes: 0 });
    const uses = [setAuthenticode('a.ps1', { minutes: 5 }), signtoolSign('b.exe', { subject: 'Contoso Dev' }, { minutes: 6 }), certutilAddStore('Root', 'c.cer', { minutes: 7 })];
    const chain = chainOf([create, ...uses])!;
    expect(chain.usedFindingIds).toEqual(uses.map((u) => u.id));
    expect(chain.linkedBy).toBe('subject');
  });

  test('order of input does not change the result', () => {
    const findings = [newSelfSignedCert('CN=A', { minutes: 0 }), setAuthenticode(undefined, { minutes: 5 }), signtoolSign('x.exe', {}, { minutes: 8 })];
    expect(chainOf([...findings].reverse())).toEqual(chainOf(findings));
  });
});

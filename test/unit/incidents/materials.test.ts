import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { materialKeys } from '../../../shared/incidents/identity';
import { MaterialIndex } from '../../../shared/incidents/materials';
import type { Finding } from '../../../shared/model/finding';
import { normaliseResults } from '../../../shared/normalise/normalise';
import {
  certutilAddStore,
  exportPfxPowerShell,
  makecertCreate,
  makeFinding,
  newSelfSignedCert,
  opensslCreate,
  opensslExportPfx,
  pvk2pfx,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';

/** The demo's sample answer, normalised: real command lines, parents and scripts. */
function sampleFindings(): Finding[] {
  const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'shared', 'demo', 'sample-hunting-results.json'), 'utf8'));
  return normaliseResults(sample, { ruleId: 't1587-002' }).findings;
}

function odd(): Finding[] {
  const blank = makeFinding();
  blank.certificate = { ...blank.certificate, thumbprint: '  ', subject: ' \t', files: ['', '  "C:\\x\\"  ', 'C:\\Keys\\Dev.PFX', 'c:/other/dev.pfx'] };
  blank.signedFiles = ['dev.pfx', 'C:\\out\\App  Setup.exe'];
  const noCn = makeFinding();
  noCn.certificate = { ...noCn.certificate, subject: 'O=Contoso, OU=Dev', thumbprint: 'AB:CD:EF 01' };
  noCn.parent = { ...noCn.parent, fileName: '"C:\\Windows\\System32\\CMD.EXE"', processId: 0, commandLine: 'cmd /c C:\\build\\Sign.BAT && deploy.ps1 && sign.bat' };
  const noPid = makeFinding();
  noPid.parent = { ...noPid.parent, processId: null, commandLine: null };
  return [blank, noCn, noPid];
}

describe('MaterialIndex: interned material keys', () => {
  const findings = [
    newSelfSignedCert(),
    makecertCreate(),
    pvk2pfx(),
    opensslCreate(),
    opensslExportPfx(),
    signtoolSign('app.exe', { pfx: 'dev.pfx' }),
    signtoolSign('setup.exe', { subject: 'Contoso' }),
    setAuthenticode(),
    certutilAddStore(),
    exportPfxPowerShell(),
    ...odd(),
    ...sampleFindings(),
  ];

  test('each finding\'s ids name exactly its materialKeys, in the same order', () => {
    const index = new MaterialIndex();
    for (const finding of findings) {
      expect(index.ofFinding(finding).map((id) => index.keyOf(id))).toEqual(materialKeys(finding));
    }
    // Read again (every raw value now known): the same ids.
    const again = new MaterialIndex();
    for (const finding of [...findings, ...findings]) expect(again.ofFinding(finding).map((id) => again.keyOf(id))).toEqual(materialKeys(finding));
  });

  test('one id per key text, whatever the spelling; file names by id', () => {
    const index = new MaterialIndex();
    const a = makeFinding();
    a.certificate = { ...a.certificate, files: ['C:\\Keys\\Dev.pfx'], thumbprint: 'ab cd', subject: 'CN=Contoso Dev, O=Contoso' };
    const b = makeFinding();
    b.certificate = { ...b.certificate, files: ['/home/x/dev.PFX'], thumbprint: 'AB:CD', subject: '/CN=contoso  dev/O=Other' };
    expect(index.ofFinding(a).slice(0, 3)).toEqual(index.ofFinding(b).slice(0, 3));
    const [file] = index.ofFinding(a);
    expect(index.fileNames[file!]).toBe('dev.pfx');
    expect(index.idOf('file:dev.pfx')).toBe(file);
    const subject = index.idOf('subject:contoso dev');
    expect(index.fileNames[subject]).toBeNull();
    expect(index.keyOf(index.idOf('script:new.ps1'))).toBe('script:new.ps1');
  });

  test('key texts of known stories land on the ids the findings get, and write themselves back as given', () => {
    const index = new MaterialIndex();
    const f = makeFinding();
    f.parent = { ...f.parent, fileName: 'C:\\Windows\\System32\\CMD.EXE', processId: 4100, commandLine: 'cmd /c sign.bat' };
    f.certificate = { ...f.certificate, files: ['C:\\Keys\\Dev.pfx'] };
    const texts = ['parent:4100|cmd.exe', 'file:dev.pfx', 'parent:0|x', 'parent:-7|a|b', 'parent:007|x', 'parent:|x', 'parent:12', 'parent:1e+21|x', 'file:', 'script:sign.bat', 'parent:4100|cmd.exe '];
    const known = texts.map((text) => index.idOf(text));
    expect(known.map((id) => index.keyOf(id))).toEqual(texts);
    const ids = index.ofFinding(f);
    expect(ids.map((id) => index.keyOf(id))).toEqual(materialKeys(f));
    expect(ids).toEqual(expect.arrayContaining([known[0], known[1], known[9]]));
    expect(new Set(known).size).toBe(texts.length);
  });
});

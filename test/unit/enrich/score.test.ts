import { scoreIncident, type ReasonCode } from '../../../shared/enrich/score';
import { canonicalise, detectVendorImitation, editDistance } from '../../../shared/enrich/vendors';
import { ciAgentOf, isDevProxySubject, isUserWritablePath } from '../../../shared/enrich/signals';
import type { Finding } from '../../../shared/model/finding';
import {
  certutilAddStore,
  exportPfxPowerShell,
  importCertificateRoot,
  makecertCreate,
  makeRuleContext,
  newSelfSignedCert,
  opensslCreate,
  signtoolSign,
} from '../../support/findings';

const rule = makeRuleContext();

function codes(findings: Finding[], chain = false): ReasonCode[] {
  return scoreIncident(findings, rule, { chain }).reasons.map((r) => r.code as ReasonCode);
}

/** A creation with no raising signal at all: no EKU, a normal path, a normal parent. */
function plain(subject = 'CN=Contoso Dev'): Finding {
  return opensslCreate(`/CN=${subject.replace(/^CN=/, '')}`, 'dev');
}

describe('scoreIncident', () => {
  test('a key file written by an unusual process names that process, not only its ordinary parent', () => {
    // The file and registry rules flag the writer or its parent; the row's parent is the writer's.
    const base = makecertCreate('CN=X', 'cs');
    const written: Finding = {
      ...base,
      branch: 'File-CertKeyWrite',
      tool: 'other',
      process: { ...base.process, fileName: 'rundll32.exe' },
      parent: { ...base.parent, fileName: 'explorer.exe' },
      flags: { ...base.flags, suspiciousParent: true },
    };
    const text = scoreIncident([written], rule).reasons.find((r) => r.code === 'suspicious-parent')?.text ?? '';
    expect(text).toContain("'rundll32.exe' started by 'explorer.exe'");
    expect(text).not.toMatch(/^Started by a parent process/);
    // A tool started by an unusual parent reads as before.
    const tool: Finding = { ...base, parent: { ...base.parent, fileName: 'winword.exe' }, flags: { ...base.flags, suspiciousParent: true } };
    expect(scoreIncident([tool], rule).reasons.find((r) => r.code === 'suspicious-parent')?.text).toBe(
      "Started by a parent process unusual for certificate tooling ('winword.exe').",
    );
  });

  test('starts from the rule defaults when nothing moves the score', () => {
    expect(scoreIncident([plain()], rule)).toEqual({ severity: 'medium', confidence: 'medium', reasons: [] });
    expect(scoreIncident([plain()], makeRuleContext({ severity: 'low', confidence: 'high' }))).toMatchObject({ severity: 'low', confidence: 'high' });
  });

  test('suspicious parent raises severity and confidence and names the parent', () => {
    const f = plain();
    f.flags.suspiciousParent = true;
    f.parent.fileName = 'winword.exe';
    const score = scoreIncident([f], rule);
    expect(score.reasons[0]).toMatchObject({ code: 'suspicious-parent', severityDelta: 1, confidenceDelta: 1 });
    expect(score.reasons[0]!.text).toContain("'winword.exe'");
    expect(score).toMatchObject({ severity: 'high', confidence: 'high' });
  });

  test('temp or user-writable location raises severity, from the flag or from the paths', () => {
    const flagged = plain();
    flagged.flags.tempLocation = true;
    expect(codes([flagged])).toEqual(['user-writable-path']);
    const byPath = plain();
    byPath.certificate.files = ['C:\\Users\\alice\\AppData\\Local\\Temp\\dev.key'];
    const score = scoreIncident([byPath], rule);
    expect(score.reasons).toEqual([expect.objectContaining({ code: 'user-writable-path', severityDelta: 1, confidenceDelta: 0 })]);
    expect(score.reasons[0]!.text).toContain('AppData\\Local\\Temp');
    expect(score.severity).toBe('high');
  });

  test('a requested code-signing EKU raises confidence', () => {
    const f = plain();
    f.certificate.codeSigningEku = true;
    expect(scoreIncident([f], rule)).toMatchObject({
      severity: 'medium',
      confidence: 'high',
      reasons: [expect.objectContaining({ code: 'code-signing-eku', severityDelta: 0, confidenceDelta: 1 })],
    });
  });

  test.each(['CN=Micros0ft Corporation', 'CN=Microsoft Windows', 'CN=Rnicrosoft Corporation', 'CN=Mircosoft', 'CN=G00gle LLC', 'CN=Ad0be Systems', 'CN=NVIDlA Corporation', 'O=VMvvare, CN=Tools'])(
    'a subject imitating a well-known vendor raises both: %s',
    (subject) => {
      const f = plain();
      f.certificate.subject = subject;
      const score = scoreIncident([f], rule);
      expect(score.reasons).toEqual([expect.objectContaining({ code: 'vendor-imitation', severityDelta: 1, confidenceDelta: 1 })]);
      expect(score.reasons[0]!.text).toContain(subject);
    },
  );

  test.each(['CN=Contoso Dev', 'CN=Intelligent Systems', 'CN=Apply Tech', 'CN=Inter Build', 'CN=Adore Studio', 'CN=Miracle Software', 'CN=Zoomer Apps'])(
    'an ordinary subject is not a vendor imitation: %s',
    (subject) => {
      expect(detectVendorImitation(subject)).toBeNull();
    },
  );

  test('vendor look-alike detection: exact vs look-alike, homoglyphs and split names', () => {
    expect(detectVendorImitation('CN=Microsoft Windows')).toMatchObject({ vendor: 'Microsoft', kind: 'exact', distance: 0 });
    expect(detectVendorImitation('CN=Micros0ft Corporation')).toMatchObject({ vendor: 'Microsoft', kind: 'look-alike', distance: 0 });
    expect(detectVendorImitation('CN=Micro Soft')).toMatchObject({ vendor: 'Microsoft', matched: 'Micro Soft' });
    expect(detectVendorImitation('CN=MicrosoftUpdate')).toMatchObject({ vendor: 'Microsoft' });
    expect(detectVendorImitation('CN=Аpple Inc')).toMatchObject({ vendor: 'Apple', kind: 'look-alike' }); // Cyrillic А
    expect(canonicalise('1nte1')).toBe(canonicalise('Intel'));
    expect(editDistance('microsoft', 'mircosoft')).toBe(1);
    expect(editDistance('abc', '')).toBe(3);
  });

  test('an exported PFX raises severity', () => {
    expect(scoreIncident([exportPfxPowerShell(undefined, 'D:\\keys\\dev.pfx')], rule).reasons).toEqual([
      expect.objectContaining({ code: 'exported-pfx', severityDelta: 1, confidenceDelta: 0 }),
    ]);
  });

  test('a root-store import raises both; TrustedPublisher raises severity', () => {
    expect(scoreIncident([certutilAddStore('Root')], rule)).toMatchObject({
      severity: 'high',
      confidence: 'high',
      reasons: [expect.objectContaining({ code: 'root-store-import' })],
    });
    expect(codes([importCertificateRoot()])).toEqual(['root-store-import']);
    expect(codes([certutilAddStore('AuthRoot')])).toEqual(['root-store-import']);
    expect(codes([certutilAddStore('TrustedPublisher')])).toEqual(['trusted-publisher-import']);
    expect(codes([certutilAddStore('My')])).toEqual([]);
  });

  test('a chain lifts severity to high and raises confidence', () => {
    const score = scoreIncident([plain()], makeRuleContext({ severity: 'low' }), { chain: true });
    expect(score.severity).toBe('high');
    expect(score.confidence).toBe('high');
    expect(score.reasons).toEqual([expect.objectContaining({ code: 'chain', severityDelta: 2, confidenceDelta: 1 })]);
  });

  test.each([
    ['Runner.Worker.exe', null],
    ['Agent.Worker.exe', null],
    ['java.exe', '"C:\\Program Files\\Java\\bin\\java.exe" -jar C:\\jenkins\\agent.jar -jnlpUrl https://ci/computer/win/jenkins-agent.jnlp'],
  ])('a CI agent parent (%s) lowers severity and confidence', (parent, parentCommandLine) => {
    const f = plain();
    f.parent.fileName = parent;
    f.parent.commandLine = parentCommandLine;
    const score = scoreIncident([f], rule);
    expect(score.reasons).toEqual([expect.objectContaining({ code: 'ci-agent-parent', severityDelta: -1, confidenceDelta: -1 })]);
    expect(score).toMatchObject({ severity: 'low', confidence: 'low' });
  });

  test('java.exe outside Jenkins, or one finding outside the agent, is not a CI build', () => {
    const java = plain();
    java.parent.fileName = 'java.exe';
    java.parent.commandLine = 'java -jar tool.jar';
    expect(ciAgentOf(java)).toBeNull();
    const ci = plain();
    ci.parent.fileName = 'Runner.Worker.exe';
    expect(codes([ci, plain()])).toEqual([]);
  });

  test('a known developer-proxy subject lowers the score', () => {
    const f = plain();
    f.certificate.subject = 'CN=DO_NOT_TRUST_FiddlerRoot, O=DO_NOT_TRUST, OU=Created by http://www.fiddler2.com';
    const score = scoreIncident([f], rule);
    expect(score.reasons).toEqual([expect.objectContaining({ code: 'dev-proxy-subject', severityDelta: -2, confidenceDelta: -1 })]);
    expect(score).toMatchObject({ severity: 'informational', confidence: 'low' });
    expect(isDevProxySubject('CN=localhost')).toBe(true);
    expect(isDevProxySubject('CN=Contoso Dev')).toBe(false);
  });

  test('lowering applies after the chain lift: a CI pipeline that creates and signs ends at medium', () => {
    const create = newSelfSignedCert('CN=Build Test Cert');
    const sign = signtoolSign('out.exe');
    for (const f of [create, sign]) f.parent.fileName = 'Agent.Worker.exe';
    const score = scoreIncident([create, sign], rule, { chain: true });
    expect(score.severity).toBe('medium');
    expect(score.reasons.map((r) => r.code)).toEqual(['code-signing-eku', 'chain', 'ci-agent-parent']);
  });

  describe('a name the attacker chooses lowers confidence only, never severity below the floor (issue #15 item 6)', () => {
    function fiddlerChain(): Finding[] {
      const create = makecertCreate('CN=DO_NOT_TRUST_FiddlerRoot', 'upd');
      const sign = signtoolSign('C:\\Users\\alice\\AppData\\Roaming\\upd.exe', { pfx: 'upd.pfx' }, { minutes: 2 });
      for (const f of [create, sign]) {
        f.parent.fileName = 'WINWORD.EXE';
        f.flags.suspiciousParent = true;
      }
      return [create, sign];
    }

    test('a makecert -> signtool chain from winword.exe named DO_NOT_TRUST_FiddlerRoot stays high', () => {
      const score = scoreIncident(fiddlerChain(), rule, { chain: true });
      expect(score.severity).toBe('high');
      const cut = score.reasons.find((r) => r.code === 'dev-proxy-subject');
      expect(cut).toMatchObject({ severityDelta: 0, confidenceDelta: -1 });
      expect(cut!.text).toContain('confidence only');
    });

    test.each([
      ['a chain', (f: Finding[]) => ({ findings: f.map((x) => ({ ...x, flags: { ...x.flags, suspiciousParent: false } })), chain: true })],
      ['a suspicious parent', (f: Finding[]) => ({ findings: [{ ...f[0]!, certificate: { ...f[0]!.certificate, codeSigningEku: false } }], chain: false })],
      ['a code-signing EKU', (f: Finding[]) => ({ findings: [{ ...f[0]!, flags: { ...f[0]!.flags, suspiciousParent: false } }], chain: false })],
    ])('with %s alone, neither the name nor a CI agent pulls the story below medium', (_label, pick) => {
      const { findings, chain } = pick(fiddlerChain());
      for (const f of findings) f.parent = { ...f.parent, fileName: 'Agent.Worker.exe' };
      const score = scoreIncident(findings, rule, { chain });
      expect(['medium', 'high']).toContain(score.severity);
      expect(score.reasons.find((r) => r.code === 'dev-proxy-subject')).toMatchObject({ severityDelta: 0 });
    });

    test('without any floor signal the developer-proxy name still lowers severity', () => {
      const f = plain('CN=localhost');
      expect(scoreIncident([f], rule)).toMatchObject({ severity: 'informational' });
    });

    test('the name counts only when every subject of the story is a developer proxy', () => {
      expect(codes([plain('CN=DO_NOT_TRUST_FiddlerRoot'), plain('CN=Contoso Release Signing')])).not.toContain('dev-proxy-subject');
    });

    test('one suspicious step among many CI-agent steps is not diluted', () => {
      const steps = Array.from({ length: 10 }, () => {
        const f = plain();
        f.parent.fileName = 'Agent.Worker.exe';
        return f;
      });
      const odd = plain();
      odd.flags.suspiciousParent = true;
      odd.parent.fileName = 'mshta.exe';
      const score = scoreIncident([...steps, odd], rule);
      expect(score.reasons.map((r) => r.code)).toEqual(['suspicious-parent']);
      expect(score.severity).toBe('high');
    });
  });

  test('scales clamp at both ends', () => {
    const f = plain('CN=Micros0ft');
    f.flags.suspiciousParent = true;
    f.flags.tempLocation = true;
    f.certificate.codeSigningEku = true;
    expect(scoreIncident([f], makeRuleContext({ severity: 'high', confidence: 'high' }))).toMatchObject({ severity: 'high', confidence: 'high' });
    const g = plain('CN=DO_NOT_TRUST_FiddlerRoot');
    g.parent.fileName = 'Runner.Worker.exe';
    expect(scoreIncident([g], makeRuleContext({ severity: 'low', confidence: 'low' }))).toMatchObject({ severity: 'informational', confidence: 'low' });
  });

  test('user-writable paths', () => {
    for (const p of ['C:\\Windows\\Temp\\x.exe', 'C:\\Users\\bob\\Downloads\\makecert.exe', '%TEMP%\\a.pfx', '$env:TEMP\\a.pfx', 'C:\\Users\\Public\\a.cer', 'C:\\ProgramData\\x\\y.pfx', '/tmp/key.pem']) {
      expect(isUserWritablePath(p)).toBe(true);
    }
    for (const p of ['C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x64\\signtool.exe', 'C:\\build\\out.exe', 'code.pfx']) {
      expect(isUserWritablePath(p)).toBe(false);
    }
  });
});

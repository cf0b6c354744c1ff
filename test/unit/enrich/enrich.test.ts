import { gunzipSync } from 'node:zlib';
import { attackFor } from '../../../shared/enrich/attack';
import { entryFits, falsePositiveHints, wildcardMatch } from '../../../shared/enrich/hints';
import { allowlistLink, deviceLink, encodeHuntingQuery, encodeHuntingQueryParts, huntingLink } from '../../../shared/enrich/links';
import { incidentTitle } from '../../../shared/enrich/title';
import {
  certutilAddStore,
  makeRuleContext,
  newSelfSignedCert,
  opensslCreate,
  setAuthenticode,
  signtoolSign,
} from '../../support/findings';

const rule = makeRuleContext();

function decodeQuery(link: string): string {
  const q = new URL(link).searchParams.get('query');
  if (!q) throw new Error('no query');
  return gunzipSync(Buffer.from(q, 'base64')).toString('utf16le');
}

describe('ATT&CK techniques', () => {
  test('creation only: T1587.002, not the signing technique the rule also lists', () => {
    expect(attackFor([newSelfSignedCert()], rule).map((t) => t.id)).toEqual(['T1587.002']);
  });

  test('signing adds T1553.002, a root import T1553.004, each with its link', () => {
    const attack = attackFor([newSelfSignedCert(), signtoolSign(), certutilAddStore('Root')], rule);
    expect(attack).toEqual([
      expect.objectContaining({ id: 'T1587.002' }),
      expect.objectContaining({ id: 'T1553.002', url: 'https://attack.mitre.org/techniques/T1553/002/' }),
      { id: 'T1553.004', name: 'Subvert Trust Controls: Install Root Certificate', url: 'https://attack.mitre.org/techniques/T1553/004/' },
    ]);
  });

  test("the rule's other techniques are kept", () => {
    const custom = makeRuleContext({ attack: [{ id: 'T1036.001', name: 'Masquerading: Invalid Code Signature', url: 'https://attack.mitre.org/techniques/T1036/001/' }] });
    expect(attackFor([newSelfSignedCert()], custom).map((t) => t.id)).toEqual(['T1036.001', 'T1587.002']);
  });
});

describe('links', () => {
  test('device page', () => {
    expect(deviceLink('7e5c')).toBe('https://security.microsoft.com/machines/v2/7e5c/overview');
    expect(deviceLink('7e5c', 'https://security.microsoft.us/')).toBe('https://security.microsoft.us/machines/v2/7e5c/overview');
    expect(deviceLink(null)).toBeNull();
  });

  test('hunting deep link: base64 of gzip of UTF-16LE query, narrowed to the window and device', () => {
    const window = { start: new Date('2025-03-04T09:00:00Z'), end: new Date('2025-03-04T12:00:00Z') };
    const link = huntingLink(rule.query, window, 'dev"1')!;
    expect(link.startsWith('https://security.microsoft.com/v2/advanced-hunting?query=')).toBe(true);
    expect(link.endsWith('&timeRangeId=month')).toBe(true);
    const query = decodeQuery(link);
    expect(query.startsWith(rule.query)).toBe(true);
    expect(query).toContain('| where Timestamp between (datetime(2025-03-04T09:00:00.000Z) .. datetime(2025-03-04T12:00:00.000Z))');
    expect(query).toContain('| where DeviceId == "dev\\"1"');
    expect(huntingLink('  ', window, null)).toBeNull();
    // The raw encoding, checked independently of the URL.
    expect(gunzipSync(Buffer.from(encodeHuntingQuery('T | take 1'), 'base64')).toString('utf16le')).toBe('T | take 1');
  });

  test('the rule query is compressed once and each incident appends its own lines: still one valid gzip of the whole text', () => {
    const query = 'DeviceProcessEvents\n| where ProcessCommandLine has_any ("makecert", "证书", "😀")\n'.repeat(300);
    // The last tail needs two stored blocks (more than 65,535 bytes in UTF-16LE).
    for (const tail of ['', '\n| where DeviceId == "a"', `\n| where x == "${'界'.repeat(5000)}"`, `\n| where x == "${'a'.repeat(40_000)}"`]) {
      const text = gunzipSync(Buffer.from(encodeHuntingQueryParts(query, tail), 'base64')).toString('utf16le');
      expect(text).toBe(query + tail);
    }
  });

  test('queries of every length: the links of one query share its encoded head and each decodes to query and narrowing', () => {
    const window = { start: new Date('2025-03-04T09:00:00Z'), end: new Date('2025-03-04T12:00:00Z') };
    for (let n = 1; n <= 9; n++) {
      const query = `DeviceProcessEvents | take ${'9'.repeat(n)}`;
      const a = huntingLink(query, window, 'dev-a')!;
      const b = huntingLink(query, { ...window, end: new Date('2025-03-04T13:00:00Z') }, 'dev-b')!;
      expect(decodeQuery(a)).toBe(`${query}\n| where Timestamp between (datetime(2025-03-04T09:00:00.000Z) .. datetime(2025-03-04T12:00:00.000Z))\n| where DeviceId == "dev-a"`);
      expect(decodeQuery(b)).toContain('| where DeviceId == "dev-b"');
      // The head (gzip header and the query's blocks) is the same text in both links.
      let common = 0;
      while (common < a.length && a[common] === b[common]) common++;
      expect(common).toBeGreaterThan(a.indexOf('query=') + 20);
    }
  });

  test('allowlist link: the allowlist page for the incident; null without base URL or signer', () => {
    const link = allowlistLink('https://hunt.contoso.com/', {
      ruleId: 't1587-002',
      incidentId: 'abc/1&x',
      signer: { subject: 'CN=Contoso Dev, O=Contoso & Co', thumbprint: null, file: null },
    })!;
    const url = new URL(link);
    expect(url.origin + url.pathname).toBe('https://hunt.contoso.com/allowlist/new');
    expect([...url.searchParams.keys()]).toEqual(['incident']);
    expect(url.searchParams.get('incident')).toBe('abc/1&x');
    expect(allowlistLink(undefined, { ruleId: 'r', incidentId: 'i', signer: { subject: 'CN=x', thumbprint: null, file: null } })).toBeNull();
    expect(allowlistLink('https://x', { ruleId: 'r', incidentId: 'i', signer: { subject: null, thumbprint: null, file: null } })).toBeNull();
    expect(allowlistLink('https://x', { ruleId: 'r', incidentId: 'i', signer: { subject: null, thumbprint: null, file: 'a.pfx' } })).toBe('https://x/allowlist/new?incident=i');
  });
});

describe('false-positive hints', () => {
  test('a CI agent parent brings the CI hint only', () => {
    const f = newSelfSignedCert();
    f.parent.fileName = 'Runner.Worker.exe';
    expect(falsePositiveHints([f], rule.falsePositives)).toEqual([rule.falsePositives[0]!.hint]);
  });

  test('all matchers of an entry must fit one finding (java.exe AND a Jenkins command line)', () => {
    const f = newSelfSignedCert();
    f.parent.fileName = 'C:\\Program Files\\Java\\bin\\java.exe';
    f.parent.commandLine = 'java -jar tool.jar';
    expect(falsePositiveHints([f], rule.falsePositives)).toEqual([]);
    f.parent.commandLine = 'java -jar C:\\Jenkins\\agent.jar';
    expect(falsePositiveHints([f], rule.falsePositives)).toEqual([rule.falsePositives[1]!.hint]);
  });

  test('subject wildcards; entries without matchers are never offered', () => {
    const fiddler = opensslCreate('/CN=DO_NOT_TRUST_FiddlerRoot');
    expect(falsePositiveHints([fiddler], rule.falsePositives)).toEqual([rule.falsePositives[2]!.hint]);
    expect(entryFits(rule.falsePositives[3]!, fiddler)).toBe(false);
  });

  test('wildcards', () => {
    expect(wildcardMatch('*jenkins*', 'C:\\Jenkins\\agent.jar')).toBe(true);
    expect(wildcardMatch('java.exe', 'JAVA.EXE')).toBe(true);
    expect(wildcardMatch('java.exe', 'javaXexe')).toBe(false);
  });

  test('wildcards: `?` is literal, pieces do not overlap, values and patterns are trimmed', () => {
    expect(wildcardMatch('a?c', 'abc')).toBe(false);
    expect(wildcardMatch('a?c', 'A?C')).toBe(true);
    expect(wildcardMatch('ab*ba', 'aba')).toBe(false);
    expect(wildcardMatch('ab*ba', 'abba')).toBe(true);
    expect(wildcardMatch('*a*a*', 'xa')).toBe(false);
    expect(wildcardMatch('*a*a*', 'xaya')).toBe(true);
    expect(wildcardMatch(' *.PFX ', '  c:\\build\\code.pfx ')).toBe(true);
    expect(wildcardMatch('**', '')).toBe(true);
  });

  test('hints are the same when the entries are reused across calls (compiled once)', () => {
    const fiddler = opensslCreate('/CN=DO_NOT_TRUST_FiddlerRoot');
    const other = opensslCreate('/CN=Contoso Dev');
    const first = falsePositiveHints([fiddler], rule.falsePositives);
    expect(falsePositiveHints([other], rule.falsePositives)).toEqual([]);
    expect(falsePositiveHints([other, fiddler], rule.falsePositives)).toEqual(first);
    expect(falsePositiveHints([fiddler], [...rule.falsePositives])).toEqual(first);
  });
});

describe('titles', () => {
  const signer = { subject: 'CN=Contoso Dev', thumbprint: null, file: null };

  test('creation', () => {
    expect(incidentTitle({ findings: [newSelfSignedCert()], chain: false, signer, deviceName: 'WS-042' })).toBe(
      "Self-signed code-signing certificate 'CN=Contoso Dev' created on WS-042 by alice",
    );
  });

  test('chain says "created and used"', () => {
    const findings = [newSelfSignedCert(), setAuthenticode('C:\\Users\\alice\\payload.ps1', { minutes: 5 }), certutilAddStore('Root', 'c.cer', { minutes: 6 })];
    expect(incidentTitle({ findings, chain: true, signer, deviceName: 'WS-042' })).toBe(
      "Self-signed code-signing certificate 'CN=Contoso Dev' created and used to sign payload.ps1 and trusted via the Root store on WS-042 by alice",
    );
  });

  test('signing and imports, several accounts, no signer', () => {
    const a = signtoolSign('setup.exe');
    const b = signtoolSign('other.exe', {}, { account: { name: 'bob' } });
    expect(incidentTitle({ findings: [a, b], chain: false, signer: { subject: null, thumbprint: null, file: null }, deviceName: 'WS-1' })).toBe(
      'setup.exe signed on WS-1 by alice and 1 other',
    );
    expect(incidentTitle({ findings: [certutilAddStore('Root')], chain: false, signer: { subject: null, thumbprint: null, file: 'contoso.cer' }, deviceName: 'WS-1' })).toBe(
      "Certificate 'contoso.cer' imported into the Root store on WS-1 by alice",
    );
  });

  test('titles stay short', () => {
    const long = { subject: `CN=${'x'.repeat(500)}`, thumbprint: null, file: null };
    expect(incidentTitle({ findings: [newSelfSignedCert()], chain: false, signer: long, deviceName: 'WS-1' }).length).toBeLessThanOrEqual(200);
  });
});

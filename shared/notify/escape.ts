/**
 * Making attacker-controlled text safe to show in a Teams card. Command lines, file names,
 * certificate subjects, account and device names all come from the monitored machines, so an
 * attacker chooses them. Shown in a card they must not add links, mentions or formatting, hide
 * characters (bidi overrides, zero-width, tag characters) or be auto-linked.
 *
 * Policy (see teamsCard.ts): untrusted text is only ever placed in `TextRun`s, which the Adaptive
 * Cards spec and Teams render without markdown, after `neutralizeText`. `escapeMarkdown` is the
 * second line of defence for anything that ends up in a markdown-processed field (TextBlock,
 * Fact): it backslash-escapes every markdown special character as well.
 */
import TLDS from 'tlds';

/** Characters that change how text is displayed without being visible themselves. */
const INVISIBLE_OR_BIDI =
  // bidi embeddings/overrides/isolates and marks, Arabic letter mark, zero-width family,
  // word joiner and friends, BOM, Mongolian vowel separator, interlinear annotations
  /[\u061C\u200B-\u200F\u202A-\u202E\u2060-\u2064\u2066-\u206F\uFEFF\u180E\uFFF9-\uFFFB]/u;
/** Unicode tag characters ("ASCII smuggling"): invisible copies of ASCII. */
const TAG_CHARACTERS = /[\u{E0000}-\u{E007F}]/u;

function codePointMarker(codePoint: number): string {
  return `[U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}]`;
}

/**
 * Replaces control, invisible and bidi characters with visible markers (an RTL override in a file
 * name is itself evidence, so it is shown as `[U+202E]` rather than dropped), turns line breaks
 * into a visible `↵`, replaces lone surrogates, then defangs URLs.
 */
export function neutralizeText(value: string): string {
  let out = '';
  for (const char of value) {
    const cp = char.codePointAt(0) ?? 0xfffd;
    if (char === '\n' || char === '\r' || cp === 0x2028 || cp === 0x2029 || cp === 0x85) {
      if (!out.endsWith(' ↵ ')) out += ' ↵ ';
    } else if (char === '\t') {
      out += ' ';
    } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      out += codePointMarker(cp);
    } else if (cp >= 0xd800 && cp <= 0xdfff) {
      // A lone surrogate (iterating by code point yields them on their own).
      out += '\uFFFD';
    } else if (INVISIBLE_OR_BIDI.test(char) || TAG_CHARACTERS.test(char)) {
      out += codePointMarker(cp);
    } else {
      out += char;
    }
  }
  return defangUrls(out);
}

/**
 * Full stops that IDNA (UTS #46) maps to `.` in a host name: full-width U+FF0E, ideographic U+3002
 * and half-width ideographic U+FF61. `evil。com` opens evil.com in a browser.
 */
const IDNA_DOTS = /[\uFF0E\u3002\uFF61]/g;
/**
 * A `:` after a scheme of two or more characters and before `/` or `\`: browsers read
 * `https:\\host`, `https:/host` and `https:/\\host` as `https://host`. A drive letter (`C:\`)
 * has a one-letter "scheme" and is left alone. Checked at each colon (lookbehind), so linear.
 */
const SCHEME_SEPARATOR = /(?<=[a-z0-9+.-]{2}):(?=[/\\])/gi;
/**
 * PowerShell's provider drives (`Cert:\CurrentUser\My`, `HKLM:\SOFTWARE`), the commonest text in
 * this tool's command lines: no browser or client opens them, so they keep their colon when one
 * backslash and a path follow. `cert:\\host` or `cert:/x` is still read as a scheme.
 */
const POWERSHELL_DRIVE = /(?<![a-z0-9+.-])(cert|hklm|hkcu|env|variable|function|alias|wsman)\[:\](?=\\[^\\/])/gi;
/** Maximal runs of host-name characters (letters, digits, marks, `-` and dots). */
const HOST_RUN = /[\p{L}\p{N}\p{M}.-]+/gu;
/** Delegated top-level domains (IANA root zone, via the `tlds` package), lower case. */
const TOP_LEVEL_DOMAINS: ReadonlySet<string> = new Set(TLDS.map((t) => t.toLowerCase()));

/**
 * A host name a linkifier would recognise: two or more non-empty labels, the last a delegated
 * top-level domain (or an IDN `xn--` label). `certutil.exe`, `$cert.Thumbprint` and
 * `1.3.6.1.5.5.7.3.3` are not; `evil.com`, `cdn.evil.co.uk` and `invoice.zip` are.
 */
function isHostName(run: string): boolean {
  const labels = run.split('.');
  if (labels.length < 2 || labels.some((l) => l === '')) return false;
  const last = (labels[labels.length - 1] ?? '').toLowerCase();
  return TOP_LEVEL_DOMAINS.has(last) || /^xn--[a-z0-9-]+$/.test(last);
}

function defangHostRun(run: string): string {
  // Dots at the ends of a run are punctuation ("see evil.com."), not part of the name.
  const lead = /^[.]*/.exec(run)?.[0] ?? '';
  const trail = /[.]*$/.exec(run.slice(lead.length))?.[0] ?? '';
  const core = run.slice(lead.length, run.length - trail.length);
  return isHostName(core) ? `${lead}${core.replace(/\./g, '[.]')}${trail}` : run;
}

/**
 * Breaks what clients auto-link, in the notation analysts already use for defanged indicators:
 * scheme separators (`scheme[:]//`, also with backslashes or one slash), `www.` (`www[.]`), every
 * dot of a bare domain on a delegated top-level domain (`evil[.]com`), and full stops that IDNA
 * reads as dots (shown as `[U+3002]` markers). File names and PowerShell member access keep their
 * dots: their last label is not a top-level domain. The exact text stays available in the
 * webhook payload and in Defender. Linear in the length of the text.
 */
export function defangUrls(value: string): string {
  return value
    .replace(IDNA_DOTS, (m) => codePointMarker(m.codePointAt(0) ?? 0))
    .replace(/:\/\//g, '[:]//')
    .replace(SCHEME_SEPARATOR, '[:]')
    .replace(POWERSHELL_DRIVE, '$1:')
    .replace(HOST_RUN, defangHostRun)
    .replace(/\bwww\./gi, (m) => `${m.slice(0, 3)}[.]`);
}

/** Markdown specials of the Teams/Adaptive Cards subset and of CommonMark, plus `<` and templating braces. */
const MARKDOWN_SPECIALS = /[\\*_[\]()#>\-+!~|`<{}]/g;

/**
 * For text that must go into a markdown-processed field: neutralized, then every markdown special
 * character backslash-escaped, and a leading "1." kept from becoming a list.
 */
export function escapeMarkdown(value: string): string {
  return neutralizeText(value)
    .replace(MARKDOWN_SPECIALS, (m) => `\\${m}`)
    .replace(/^(\s*\d+)\./, '$1\\.');
}

/**
 * Cuts to `maxCodePoints` code points (never inside a surrogate pair) and says how much was cut.
 * `maxCodePoints` 0 gives an empty string.
 */
export function truncateText(value: string, maxCodePoints: number): string {
  if (maxCodePoints <= 0) return '';
  const points = Array.from(value);
  if (points.length <= maxCodePoints) return value;
  const kept = points.slice(0, maxCodePoints).join('');
  return `${kept}… (+${points.length - maxCodePoints} chars)`;
}

/** Neutralize, then truncate: the order matters because markers make text longer. */
export function safeText(value: string | null | undefined, maxCodePoints: number): string {
  if (value === null || value === undefined) return '';
  return truncateText(neutralizeText(value), maxCodePoints);
}

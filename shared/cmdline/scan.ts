/**
 * Linear-time text scanners shared by the per-tool extractors: SHA-1 thumbprints, the code-signing
 * EKU, PowerShell `Cert:\` drive paths and certificate/key file names. They work on one value at a
 * time and never use backtracking regular expressions on unbounded input.
 */

/** The id-kp-codeSigning extended key usage (RFC 5280). */
export const CODE_SIGNING_OID = '1.3.6.1.5.5.7.3.3';

const isDigit = (ch: string | undefined): boolean => ch !== undefined && ch >= '0' && ch <= '9';

/** Character classes of ASCII: 0 separator, 1 hex digit, 2 other letter. */
const CHAR_CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CHAR_CLASS[c] = 1;
for (let c = 65; c <= 90; c++) CHAR_CLASS[c] = c <= 70 ? 1 : 2;
for (let c = 97; c <= 122; c++) CHAR_CLASS[c] = c <= 102 ? 1 : 2;

const THUMBPRINT_LENGTH = 40;

/** The class of the character at i (anything outside ASCII separates). */
function classAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? (CHAR_CLASS[code] as number) : 0;
}

/**
 * The first run of exactly 40 hex digits not glued to other letters or digits: a SHA-1
 * certificate thumbprint. Longer runs (SHA-256 hashes, base64) do not count.
 *
 * This runs over every argument of a line, and an attacker's line may hold 8,000 characters in one
 * argument: rather than reading every character, it looks at the last character of each window of
 * 40 that could hold a thumbprint. A window whose last character is not a hex digit holds none, nor
 * does any window overlapping it, so the search moves 40 on; otherwise it reads back to where the
 * hex digits begin. Linear, and on text without long hex runs about one read in 40.
 */
export function findThumbprint(text: string): string | null {
  const n = text.length;
  // The earliest position a thumbprint may still start at.
  let from = 0;
  while (from + THUMBPRINT_LENGTH <= n) {
    const last = from + THUMBPRINT_LENGTH - 1;
    if (classAt(text, last) !== 1) {
      from = last + 1;
      continue;
    }
    let start = last;
    while (start > from && classAt(text, start - 1) === 1) start--;
    if (start > from) {
      // A character in [from, start) is not a hex digit: no window before it.
      from = start;
      continue;
    }
    // text[from .. last] are 40 hex digits. They are a thumbprint when no letter or digit touches
    // either end; else they are part of a longer run, and the next candidate starts after it.
    if ((from === 0 || classAt(text, from - 1) === 0) && (last + 1 === n || classAt(text, last + 1) === 0)) return text.slice(from, last + 1);
    let end = last + 1;
    while (end < n && classAt(text, end) !== 0) end++;
    from = end + 1;
  }
  return null;
}

/** True when the text names the code-signing EKU OID (and not a longer OID that starts with it). */
export function mentionsCodeSigningOid(text: string): boolean {
  let at = text.indexOf(CODE_SIGNING_OID);
  while (at >= 0) {
    const before = text[at - 1];
    const after = text[at + CODE_SIGNING_OID.length];
    if (!isDigit(before) && before !== '.' && !isDigit(after) && !(after === '.' && isDigit(text[at + CODE_SIGNING_OID.length + 1]))) {
      return true;
    }
    at = text.indexOf(CODE_SIGNING_OID, at + 1);
  }
  return false;
}

/**
 * True when a name refers to code signing: OpenSSL's `codeSigning` EKU name, a config section
 * such as `v3_codesign` or `code_sign`, or the EKU's friendly name `Code Signing`.
 */
export function mentionsCodeSigning(text: string): boolean {
  return /code[\s_-]?sign/i.test(text) || mentionsCodeSigningOid(text);
}

const PATH_STOP = new Set([' ', '\t', '\r', '\n', '"', "'", ',', ';', '|', '(', ')', '{', '}', '[', ']', '\\', '/']);

export interface CertDrivePath {
  /** `Cert:\<location>\<store>` as written. */
  store: string;
  /** The fourth path component when it is a thumbprint. */
  thumbprint: string | null;
}

/**
 * The first PowerShell certificate-drive path in the text (`Cert:\CurrentUser\My\<thumbprint>`),
 * cut to its store level: the store is what the line names, the rest identifies one certificate.
 * A path that stops at the location (`Cert:\LocalMachine`) names no store and is skipped.
 */
const CERT_DRIVE = /cert:[\\/]/gi;

export function findCertDrivePath(text: string): CertDrivePath | null {
  if (!text.includes(':')) return null;
  const pattern = CERT_DRIVE;
  pattern.lastIndex = 0;
  for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
    const components: [number, number][] = [];
    let i = match.index + match[0].length;
    while (components.length < 3) {
      // Doubled separators (`Cert:\\LocalMachine\\Root`, from escaped sources) still separate.
      while (text[i] === '\\' || text[i] === '/') i++;
      const start = i;
      while (i < text.length && !PATH_STOP.has(text[i]!)) i++;
      if (i === start) break;
      components.push([start, i]);
      if (text[i] !== '\\' && text[i] !== '/') break;
    }
    const storeComponent = components[1];
    if (storeComponent === undefined) {
      pattern.lastIndex = Math.max(pattern.lastIndex, i);
      continue;
    }
    const third = components[2];
    const candidate = third === undefined ? null : text.slice(third[0], third[1]);
    return {
      store: text.slice(match.index, storeComponent[1]),
      thumbprint: candidate !== null && findThumbprint(candidate) === candidate ? candidate : null,
    };
  }
  return null;
}

/** Extensions of certificate, key and certificate-store files. A CSR is a request, not a certificate. */
const CERT_EXTENSIONS = new Set(['cer', 'crt', 'cert', 'pem', 'der', 'pfx', 'p12', 'pvk', 'spc', 'key', 'p7b', 'p7c', 'sst']);

export function extensionOf(path: string): string {
  const dot = path.lastIndexOf('.');
  if (dot < 0 || path.indexOf('\\', dot) >= 0 || path.indexOf('/', dot) >= 0) return '';
  return path.slice(dot + 1).toLowerCase();
}

export function hasCertFileExtension(path: string): boolean {
  return CERT_EXTENSIONS.has(extensionOf(path));
}

/**
 * Whether a value can be a file name rather than a message that mentions one (`"Saved to x.pfx"`):
 * no blanks, or blanks inside a rooted path (`C:\Users\a b\c.pfx`, `$env:TEMP\a b.pfx`).
 */
export function looksLikePath(text: string): boolean {
  return !/\s/.test(text) || /^([A-Za-z]:[\\/]|\\\\|\.{1,2}[\\/]|~[\\/]|[$%])/.test(text);
}

/** The last component of a Windows or POSIX path. */
export function baseName(path: string): string {
  let cut = -1;
  for (let i = path.length - 1; i >= 0; i--) {
    if (path[i] === '\\' || path[i] === '/') {
      cut = i;
      break;
    }
  }
  return path.slice(cut + 1);
}

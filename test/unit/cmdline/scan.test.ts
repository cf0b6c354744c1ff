import fc from 'fast-check';
import { baseName, extensionOf, findCertDrivePath, findThumbprint, hasCertFileExtension, looksLikePath, mentionsCodeSigning, mentionsCodeSigningOid } from '../../../shared/cmdline/scan';

const THUMB = '5F98EBBFE735CDDAE00E33E0FD69050EF9220254';

describe('findThumbprint', () => {
  it('finds a 40-hex run on its own', () => {
    expect(findThumbprint(THUMB)).toBe(THUMB);
    expect(findThumbprint(`cert:\\LocalMachine\\My\\${THUMB.toLowerCase()}`)).toBe(THUMB.toLowerCase());
    expect(findThumbprint(`"${THUMB}",x`)).toBe(THUMB);
  });

  it('ignores longer runs, runs glued to letters, and non-hex', () => {
    expect(findThumbprint(`${THUMB}AB`)).toBeNull();
    expect(findThumbprint(`0x${THUMB}`)).toBeNull();
    expect(findThumbprint('G'.repeat(40))).toBeNull();
    expect(findThumbprint('a'.repeat(64))).toBeNull();
    expect(findThumbprint('')).toBeNull();
  });
});

/** The character-by-character reading findThumbprint had before it looked at windows: the reference. */
function thumbprintByCharacter(text: string): string | null {
  let runStart = -1;
  let allHex = true;
  for (let i = 0; i <= text.length; i++) {
    const code = i < text.length ? text.charCodeAt(i) : -1;
    const digit = code >= 48 && code <= 57;
    const lower = (code | 0x20) >= 97 && (code | 0x20) <= 122;
    if (digit || lower) {
      if (runStart < 0) {
        runStart = i;
        allHex = true;
      }
      if (!digit && (code | 0x20) > 102) allHex = false;
      continue;
    }
    if (runStart >= 0 && allHex && i - runStart === 40) return text.slice(runStart, i);
    runStart = -1;
  }
  return null;
}

describe('findThumbprint reads windows and finds what reading every character finds', () => {
  // Runs of hex digits around 40 long, glued or not to letters, digits, separators and non-ASCII.
  const piece = fc.oneof(
    fc.integer({ min: 1, max: 90 }).map((n) => 'aF09'.repeat(23).slice(0, n)),
    fc.integer({ min: 38, max: 42 }).map((n) => THUMB.repeat(2).slice(0, n)),
    fc.constantFrom(' ', '"', ',', '\\', ':', 'g', 'Z', 'x', '0', 'é', '界', '[', '`', '@', '{', '_'),
  );
  it('on random texts', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join('');
        expect(findThumbprint(text)).toBe(thumbprintByCharacter(text));
      }),
      { numRuns: 3000 },
    );
  });

  it('on edge placements and every ASCII character around a thumbprint', () => {
    for (let code = 0; code < 256; code++) {
      const c = String.fromCharCode(code);
      for (const text of [`${c}${THUMB}`, `${THUMB}${c}`, `${c}${THUMB}${c}`, `${THUMB.slice(0, 39)}${c}${THUMB}`, `${c.repeat(45)}${THUMB}`]) {
        expect(findThumbprint(text)).toBe(thumbprintByCharacter(text));
      }
    }
    const long = `${'Microsozzz '.repeat(800)}${THUMB} ${'a'.repeat(41)} ${THUMB.toLowerCase()}`;
    expect(findThumbprint(long)).toBe(THUMB);
    expect(findThumbprint(`${'a'.repeat(41)} x ${THUMB.toLowerCase()}`)).toBe(THUMB.toLowerCase());
  });
});

describe('code signing', () => {
  it('matches the EKU OID exactly', () => {
    expect(mentionsCodeSigningOid('2.5.29.37={text}1.3.6.1.5.5.7.3.3')).toBe(true);
    expect(mentionsCodeSigningOid('1.3.6.1.5.5.7.3.1,1.3.6.1.5.5.7.3.3')).toBe(true);
    expect(mentionsCodeSigningOid('1.3.6.1.5.5.7.3.30')).toBe(false);
    expect(mentionsCodeSigningOid('1.3.6.1.5.5.7.3.3.1')).toBe(false);
    expect(mentionsCodeSigningOid('11.3.6.1.5.5.7.3.3')).toBe(false);
  });

  it('matches names of code signing', () => {
    for (const text of ['extendedKeyUsage=codeSigning', 'v3_codesign', 'code_sign', 'Code Signing', 'code-signing.cnf']) expect(mentionsCodeSigning(text)).toBe(true);
    for (const text of ['serverAuth', 'v3_ca', 'codec']) expect(mentionsCodeSigning(text)).toBe(false);
  });
});

describe('findCertDrivePath', () => {
  it('cuts a drive path to its store and reads a thumbprint after it', () => {
    expect(findCertDrivePath('Cert:\\CurrentUser\\My')).toEqual({ store: 'Cert:\\CurrentUser\\My', thumbprint: null });
    expect(findCertDrivePath(`cert:\\localMachine\\my\\${THUMB}`)).toEqual({ store: 'cert:\\localMachine\\my', thumbprint: THUMB });
    expect(findCertDrivePath('Cert:\\CurrentUser\\My\\<Certificate Thumbprint>')).toEqual({ store: 'Cert:\\CurrentUser\\My', thumbprint: null });
    expect(findCertDrivePath('Cert:/LocalMachine/Root/')).toEqual({ store: 'Cert:/LocalMachine/Root', thumbprint: null });
    expect(findCertDrivePath('Cert:\\\\LocalMachine\\\\Root')).toEqual({ store: 'Cert:\\\\LocalMachine\\\\Root', thumbprint: null });
    expect(findCertDrivePath('@(Get-ChildItem cert:\\LocalMachine\\My -codesign)[0]')?.store).toBe('cert:\\LocalMachine\\My');
  });

  it('needs a store component', () => {
    expect(findCertDrivePath('Cert:\\LocalMachine')).toBeNull();
    expect(findCertDrivePath('Cert:\\')).toBeNull();
    expect(findCertDrivePath('$cert.Thumbprint')).toBeNull();
    expect(findCertDrivePath('Cert:\\LocalMachine Cert:\\CurrentUser\\Root')?.store).toBe('Cert:\\CurrentUser\\Root');
  });
});

describe('file names', () => {
  it('recognises certificate and key extensions but not requests', () => {
    for (const name of ['a.cer', 'a.CRT', 'C:\\x\\a.pfx', 'a.p12', 'a.pvk', 'a.spc', 'a.pem', 'a.key', '<FilePath>.pfx']) expect(hasCertFileExtension(name)).toBe(true);
    for (const name of ['a.csr', 'a.exe', 'dir.pem\\file', 'pem', '']) expect(hasCertFileExtension(name)).toBe(false);
    expect(extensionOf('C:\\a.b\\c')).toBe('');
  });

  it('tells file names from messages that mention one', () => {
    for (const text of ['a.pfx', 'C:\\Users\\a b\\c.pfx', '\\\\srv\\share\\a b.pfx', '.\\a b.cer', '$env:TEMP\\a b.pfx', '%TEMP%\\a b.pfx']) expect(looksLikePath(text)).toBe(true);
    expect(looksLikePath('Saved to C:\\out.pfx')).toBe(false);
  });

  it('takes the last path component', () => {
    expect(baseName('C:\\Program Files\\x\\signtool.exe')).toBe('signtool.exe');
    expect(baseName('/usr/bin/openssl')).toBe('openssl');
    expect(baseName('certutil')).toBe('certutil');
  });
});

/** Property tests: parseCommandLine never throws and always returns well-formed facts. */
import fc from 'fast-check';
import { CERT_ACTIONS, TOOLS, type CertificateFacts } from '../../../shared/model/finding';
import { analyseCommandLine, parseCommandLine } from '../../../shared/cmdline/parse';

const SNIPPETS = [
  'powershell', 'pwsh -c ', 'cmd /c ', 'bash -c ', '-enc ', '-EncodedCommand ', 'certutil ', '-addstore ', 'Root ', 'signtool sign ',
  '/f ', 'makecert ', '-n ', 'pvk2pfx ', '-pvk ', 'openssl req ', '-subj ', '-addext ', 'New-SelfSignedCertificate ', '-Subject:',
  '-Type CodeSigningCert ', '@{', '}', '@(', '$(', '(', ')', '{', '$p = ', '@p ', "'", '"', '`', '^', '\\', '\\"', ';', '|', '&', '&&',
  '\n', ' ', ',', '=', '#', '<#', '#>', '@"\n', '\n"@', 'Cert:\\LocalMachine\\Root\\', '1.3.6.1.5.5.7.3.3', 'a.pfx', '>nul', '2>&1',
  '“', '”', '–', 'iex ', 'X509Store]::new(', '.Add(', 'Set-AuthenticodeSignature ', '0123456789abcdef0123456789ABCDEF01234567',
];

/** Lines built from shell syntax fragments reach far more branches than random characters. */
const shellish = fc.array(fc.oneof(fc.constantFrom(...SNIPPETS), fc.string({ maxLength: 6 })), { maxLength: 40 }).map((parts) => parts.join(''));
const anyLine = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }), shellish);
const encodedLine = fc.tuple(fc.constantFrom('powershell -enc ', 'pwsh -e ', '-ec '), shellish).map(([prefix, script]) => prefix + Buffer.from(script, 'utf16le').toString('base64'));
const hint = fc.option(
  fc.record({
    fileName: fc.option(fc.constantFrom('powershell.exe', 'x.exe', 'signtool.exe', 'cmd.exe', ''), { nil: null }),
    originalFileName: fc.option(fc.constantFrom('makecert.exe', 'pwsh.dll', 'CertUtil.exe', 'notepad.exe'), { nil: null }),
  }),
  { nil: undefined },
);

function wellFormed(facts: CertificateFacts): void {
  expect(TOOLS).toContain(facts.tool);
  expect(CERT_ACTIONS).toContain(facts.action);
  expect(facts.signedFile).toBe(facts.signedFiles[0] ?? null);
  expect(Array.isArray(facts.certificate.files)).toBe(true);
  expect(typeof facts.certificate.codeSigningEku).toBe('boolean');
  for (const value of [facts.certificate.subject, facts.certificate.store, facts.certificate.thumbprint, facts.decodedCommand]) {
    expect(value === null || typeof value === 'string').toBe(true);
  }
}

describe('fuzz', () => {
  it('the unguarded analysis never throws on any line and hint', () => {
    fc.assert(
      fc.property(fc.oneof(anyLine, encodedLine), hint, (line, h) => {
        wellFormed(analyseCommandLine(line, h));
      }),
      { numRuns: 3000 },
    );
  });

  it('parseCommandLine returns valid tool and action values', () => {
    fc.assert(
      fc.property(anyLine, (line) => {
        wellFormed(parseCommandLine(line));
      }),
      { numRuns: 1000 },
    );
  });
});

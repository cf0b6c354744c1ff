import { decodeEncodedCommand, isEncodedCommandSwitch } from '../../../shared/cmdline/encoded';
import { parseCommandLine } from '../../../shared/cmdline/parse';

/** What `powershell -EncodedCommand` expects: base64 of the UTF-16LE script. */
const encode = (script: string): string => Buffer.from(script, 'utf16le').toString('base64');

describe('isEncodedCommandSwitch', () => {
  it.each(['-EncodedCommand', '-encodedcommand', '-enc', '-e', '-ec', '-En', '-encoded', '/enc', '/EncodedCommand', '--enc', '–enc'])('accepts %s', (s) => {
    expect(isEncodedCommandSwitch(s)).toBe(true);
  });
  it.each(['-ex', '-ep', '-ExecutionPolicy', '-Command', '-encodedcommandx', 'enc', '-', '-f'])('rejects %s', (s) => {
    expect(isEncodedCommandSwitch(s)).toBe(false);
  });
});

describe('decodeEncodedCommand', () => {
  it('decodes base64 UTF-16LE, ignoring wrapped whitespace and a byte-order mark', () => {
    const script = "New-SelfSignedCertificate -Subject 'CN=Ünïcode'";
    expect(decodeEncodedCommand(encode(script))).toBe(script);
    const wrapped = encode(script).replace(/(.{10})/g, '$1\n ');
    expect(decodeEncodedCommand(wrapped)).toBe(script);
    expect(decodeEncodedCommand(encode(`\ufeff${script}`))).toBe(script);
  });

  it('returns null for values that are not base64', () => {
    expect(decodeEncodedCommand('')).toBeNull();
    expect(decodeEncodedCommand('not base64!')).toBeNull();
    expect(decodeEncodedCommand('$cmd')).toBeNull();
  });
});

describe('parseCommandLine with -EncodedCommand', () => {
  const script =
    "$c = New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=Contoso Updater' -CertStoreLocation Cert:\\CurrentUser\\My; " +
    'Set-AuthenticodeSignature -FilePath C:\\Users\\Public\\payload.ps1 -Certificate $c';

  it('decodes the script and parses it as the command line', () => {
    const facts = parseCommandLine(`powershell.exe -NoP -NonI -W Hidden -Exec Bypass -enc ${encode(script)}`);
    expect(facts.decodedCommand).toBe(script);
    expect(facts).toMatchObject({
      tool: 'powershell',
      action: 'sign',
      certificate: { subject: 'CN=Contoso Updater', codeSigningEku: true, store: 'Cert:\\CurrentUser\\My' },
      signedFile: 'C:\\Users\\Public\\payload.ps1',
    });
  });

  it.each(['-e', '-ec', '/EncodedCommand', '-EncodedCommand', '-ENCODEDC'])('accepts the %s spelling', (flag) => {
    const facts = parseCommandLine(`pwsh ${flag} "${encode(script)}"`);
    expect(facts.decodedCommand).toBe(script);
    expect(facts.action).toBe('sign');
  });

  it('works when telemetry omits the executable (hint from the image name)', () => {
    const facts = parseCommandLine(`-enc ${encode('certutil -addstore Root C:\\t\\evil.cer')}`, { fileName: 'powershell.exe' });
    expect(facts).toMatchObject({ tool: 'certutil', action: 'import-store', certificate: { store: 'Root', files: ['C:\\t\\evil.cer'] } });
    expect(facts.decodedCommand).toBe('certutil -addstore Root C:\\t\\evil.cer');
  });

  it('follows a nested encoded command and keeps the outer decoded script', () => {
    const inner = "New-SelfSignedCertificate -Subject 'CN=inner' -Type CodeSigningCert";
    const outer = `powershell -enc ${encode(inner)}`;
    const facts = parseCommandLine(`powershell -EncodedCommand ${encode(outer)}`);
    expect(facts.decodedCommand).toBe(outer);
    expect(facts.certificate.subject).toBe('CN=inner');
  });

  it('leaves decodedCommand null for garbage values and non-encoded lines', () => {
    expect(parseCommandLine('powershell -enc %%%').decodedCommand).toBeNull();
    expect(parseCommandLine('powershell -enc').decodedCommand).toBeNull();
    expect(parseCommandLine('powershell -Command Get-Date').decodedCommand).toBeNull();
  });
});

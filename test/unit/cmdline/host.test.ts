import { cmdPayload, powershellHostPayload, shPayload } from '../../../shared/cmdline/host';
import { splitArgv } from '../../../shared/cmdline/tokenize';

/** The launcher's arguments and the text they came from, as the parser passes them. */
const read = (line: string): [ReturnType<typeof splitArgv>, { text: string; end: number }] => [splitArgv(line).slice(1), { text: line, end: line.length }];
const host = (line: string): ReturnType<typeof powershellHostPayload> => powershellHostPayload(...read(line));
const cmd = (line: string): string | null => cmdPayload(...read(line));

describe('powershellHostPayload', () => {
  it('takes a quoted -Command as its value', () => {
    expect(host('powershell -NoProfile -ExecutionPolicy Bypass -Command "Get-Date; Get-Host"')).toEqual({ kind: 'script', script: 'Get-Date; Get-Host', decoded: false, toEnd: false });
  });

  it('keeps several -Command words as written', () => {
    expect(host('powershell -c Import-Certificate -FilePath "a b.crt"  -CertStoreLocation Cert:\\LocalMachine\\Root')).toEqual({
      kind: 'script',
      script: 'Import-Certificate -FilePath "a b.crt"  -CertStoreLocation Cert:\\LocalMachine\\Root',
      decoded: false,
      toEnd: true,
    });
  });

  it('reads switch prefixes and skips the values of valued switches', () => {
    expect(host('pwsh -nop -w hidden -ep bypass -ex bypass -v 2 -com Get-Date')).toMatchObject({ script: 'Get-Date' });
    expect(host('powershell -WindowStyle hidden Get-Date')).toMatchObject({ script: 'Get-Date' });
  });

  it('treats the first non-switch argument as the command', () => {
    expect(host('powershell -NoLogo New-SelfSignedCertificate -Subject CN=x')).toMatchObject({ script: 'New-SelfSignedCertificate -Subject CN=x', toEnd: true });
    expect(host('powershell Get-Date')).toMatchObject({ script: 'Get-Date', toEnd: true });
  });

  it('decodes -EncodedCommand', () => {
    const b64 = Buffer.from('Get-Date', 'utf16le').toString('base64');
    expect(host(`powershell -e ${b64}`)).toEqual({ kind: 'script', script: 'Get-Date', decoded: true, toEnd: false });
  });

  it('has no script for -File, stdin or nothing', () => {
    expect(host('powershell -File x.ps1 -Command y')).toEqual({ kind: 'none' });
    expect(host('powershell -Command -')).toEqual({ kind: 'none' });
    expect(host('powershell -NoProfile')).toEqual({ kind: 'none' });
    expect(host('powershell -enc !!!')).toEqual({ kind: 'none' });
  });
});

describe('cmdPayload', () => {
  it('reads /c, /k and /r after other switches', () => {
    expect(cmd('cmd /Q /D /c certutil -addstore Root a.cer')).toBe('certutil -addstore Root a.cer');
    expect(cmd('cmd /K signtool sign a.exe')).toBe('signtool sign a.exe');
    expect(cmd('cmd /r x')).toBe('x');
    expect(cmd('cmd /q')).toBeNull();
    expect(cmd('cmd /c')).toBeNull();
  });

  it('applies cmd quote stripping', () => {
    expect(cmd('cmd /c "certutil -addstore Root "C:\\a b\\x.cer""')).toBe('certutil -addstore Root "C:\\a b\\x.cer"');
    expect(cmd('cmd /c ""C:\\a b\\x.exe" "arg""')).toBe('"C:\\a b\\x.exe" "arg"');
    expect(cmd('cmd /c "C:\\Program Files\\x.exe"')).toBe('"C:\\Program Files\\x.exe"');
    expect(cmd('cmd /c "certutil -urlcache"')).toBe('certutil -urlcache');
  });
});

describe('shPayload', () => {
  it('reads -c and combined switches', () => {
    expect(shPayload(splitArgv("-c 'openssl req -x509'"))).toBe('openssl req -x509');
    expect(shPayload(splitArgv('-lc "openssl genrsa"'))).toBe('openssl genrsa');
    expect(shPayload(splitArgv('script.sh'))).toBeNull();
  });
});

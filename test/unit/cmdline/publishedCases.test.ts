/**
 * The command lines the side-by-side reading of our rule and the published T1587.002 query found
 * (issue 12.3), and the decoys that tried to steer the parser (issue 15.8): facts come from the
 * command that runs. Each line is also a fixture row of rules/t1587-002 (see
 * test/unit/rules/publishedDifferences.test.ts), where the query's side is checked.
 */
import { parseCommandLine } from '../../../shared/cmdline/parse';

const parse = (line: string, fileName: string) => parseCommandLine(line, { fileName, originalFileName: null });

describe('cases the published query catches', () => {
  it('reads a certutil verb written in quotes', () => {
    expect(parse('certutil.exe -f "-addstore" root C:\\Users\\Public\\ca.cer', 'certutil.exe')).toMatchObject({
      tool: 'certutil',
      action: 'import-store',
      certificate: { store: 'root', files: ['C:\\Users\\Public\\ca.cer'] },
    });
  });

  it('reads a signtool verb written in quotes', () => {
    expect(parse('signtool.exe "sign" /f c.pfx payload.exe', 'signtool.exe')).toMatchObject({
      tool: 'signtool',
      action: 'sign',
      certificate: { files: ['c.pfx'] },
      signedFiles: ['payload.exe'],
    });
  });

  it('reads a certificate issued from one\'s own CA with .NET CertificateRequest.Create and the EKU by friendly name', () => {
    const line =
      "powershell.exe -NoProfile -Command \"$k = [System.Security.Cryptography.RSA]::Create(3072); " +
      "$r = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=Contoso Update Signing', $k, 'SHA256', [System.Security.Cryptography.RSASignaturePadding]::Pkcs1); " +
      "$u = [System.Security.Cryptography.OidCollection]::new(); $u.Add([System.Security.Cryptography.Oid]::FromFriendlyName('Code Signing', 'EnhancedKeyUsage')); " +
      "$r.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509EnhancedKeyUsageExtension]::new($u, $false)); " +
      '$c = $r.Create($ca, [DateTimeOffset]::Now, [DateTimeOffset]::Now.AddYears(2), [byte[]](1,2,3,4))"';
    expect(parse(line, 'powershell.exe')).toMatchObject({
      tool: 'powershell',
      action: 'create-cert',
      certificate: { subject: 'CN=Contoso Update Signing', codeSigningEku: true },
    });
  });

  it('reads New-Object CertificateRequest with -ArgumentList and CreateSelfSigned', () => {
    const line =
      "$req = New-Object System.Security.Cryptography.X509Certificates.CertificateRequest -ArgumentList 'CN=Build', $rsa, 'SHA256', $pad; " +
      '$cert = $req.CreateSelfSigned([DateTimeOffset]::Now, [DateTimeOffset]::Now.AddDays(30))';
    expect(parse(line, 'powershell.exe')).toMatchObject({ action: 'create-cert', certificate: { subject: 'CN=Build' } });
  });

  it('reads Export-Certificate on its own: the public certificate written to a file (not a PFX)', () => {
    const line = 'powershell.exe -Command "Export-Certificate -Cert Cert:\\CurrentUser\\My\\1F3D38F280635F275BE92B87CF83E40E40458400 -FilePath C:\\Users\\Public\\sign.cer"';
    expect(parse(line, 'powershell.exe')).toMatchObject({
      tool: 'powershell',
      action: 'other',
      certificate: { files: ['C:\\Users\\Public\\sign.cer'], store: 'Cert:\\CurrentUser\\My', thumbprint: '1F3D38F280635F275BE92B87CF83E40E40458400' },
    });
  });
});

describe('cases both queries missed', () => {
  it('reads openssl ca -selfsign as a certificate creation', () => {
    expect(parse('openssl.exe ca -selfsign -config ca.cnf -extensions v3_codesign -in req.csr -keyfile ca.key -out C:\\Users\\x\\AppData\\Roaming\\ca.crt', 'openssl.exe')).toMatchObject({
      tool: 'openssl',
      action: 'create-cert',
      certificate: { files: expect.arrayContaining(['C:\\Users\\x\\AppData\\Roaming\\ca.crt', 'ca.key']), codeSigningEku: true },
    });
  });

  it('reads a certificate made through the CertEnroll COM objects, its subject and its EKU', () => {
    const line =
      "powershell -c \"$dn = New-Object -ComObject X509Enrollment.CX500DistinguishedName; $dn.Encode('CN=Fabrikam Signing', 0); " +
      '$key = New-Object -ComObject X509Enrollment.CX509PrivateKey; $key.Create(); ' +
      "$oid = New-Object -ComObject X509Enrollment.CObjectId; $oid.InitializeFromValue('1.3.6.1.5.5.7.3.3'); " +
      '$cert = New-Object -ComObject X509Enrollment.CX509CertificateRequestCertificate; $cert.InitializeFromPrivateKey(2, $key, \'\'); ' +
      '$cert.Subject = $dn; $cert.Issuer = $dn; $cert.Encode(); ' +
      "$enroll = New-Object -ComObject X509Enrollment.CX509Enrollment; $enroll.InitializeFromRequest($cert); $enroll.InstallResponse(2, $enroll.CreateRequest(0), 0, '')\"";
    expect(parse(line, 'powershell.exe')).toMatchObject({
      tool: 'powershell',
      action: 'create-cert',
      certificate: { subject: 'CN=Fabrikam Signing', codeSigningEku: true },
    });
  });

  it.each([
    ['en dash', 'certutil \u2013addstore Root C:\\Users\\Public\\evil.cer'],
    ['em dash', 'certutil.exe \u2014f \u2014addstore TrustedPublisher C:\\Users\\Public\\evil.cer'],
  ])('reads certutil switches written with an %s', (_name, line) => {
    expect(parse(line, 'certutil.exe')).toMatchObject({ tool: 'certutil', action: 'import-store', certificate: { files: ['C:\\Users\\Public\\evil.cer'] } });
  });
});

describe('noise the rule must not count', () => {
  it('reads Get-ChildItem Cert:\\ -CodeSigningCert that only lists as no action', () => {
    expect(parse('powershell.exe -Command "Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | Format-List Subject, Thumbprint"', 'powershell.exe')).toMatchObject({
      action: 'other',
      certificate: { store: 'Cert:\\CurrentUser\\My', codeSigningEku: true, files: [] },
    });
  });

  it('reads Import-Module as no import', () => {
    expect(parse('powershell.exe -Command "Import-Module PKI; $c = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2; Get-Command -Module PKI"', 'powershell.exe')).toMatchObject({
      action: 'other',
      certificate: { files: [], store: null },
    });
  });
});

describe('decoys: facts come from the command that runs', () => {
  it('skips a makecert in an if(0) block beside a real New-SelfSignedCertificate', () => {
    const line =
      'powershell.exe -Command "if(0){ makecert -n \\"CN=DO_NOT_TRUST_FiddlerRoot\\" -r -ss Root }; ' +
      "New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=Real Signer' -CertStoreLocation Cert:\\CurrentUser\\My\"";
    expect(parse(line, 'powershell.exe')).toMatchObject({
      tool: 'powershell',
      action: 'create-cert',
      certificate: { subject: 'CN=Real Signer', store: 'Cert:\\CurrentUser\\My', codeSigningEku: true },
    });
  });

  it.each([
    'if ($false) { makecert -n "CN=Decoy" -r -ss Root }',
    'if ($null) { makecert -n "CN=Decoy" -r -ss Root }',
    'while(0){ makecert -n "CN=Decoy" -r -ss Root }',
    'while ($false) { makecert -n "CN=Decoy" -r -ss Root }',
    'if (0 -eq 1) { makecert -n "CN=Decoy" -r -ss Root }',
    "if ('') { makecert -n \"CN=Decoy\" -r -ss Root }",
    'if (1) { } else { makecert -n "CN=Decoy" -r -ss Root }',
    'if (1) { } elseif (1) { makecert -n "CN=Decoy" -r -ss Root }',
    'if(!1){ makecert -n "CN=Decoy" -r -ss Root }',
  ])('skips the dead branch of %s', (decoy) => {
    const facts = parse(`${decoy}; New-SelfSignedCertificate -Subject 'CN=Real'`, 'powershell.exe');
    expect(facts).toMatchObject({ tool: 'powershell', action: 'create-cert', certificate: { subject: 'CN=Real', store: null } });
  });

  it('still reads branches that may run', () => {
    expect(parse('if ($env:CI) { makecert -n "CN=Maybe" -r -ss Root }', 'powershell.exe')).toMatchObject({ tool: 'makecert', certificate: { subject: 'CN=Maybe' } });
    expect(parse('if (0) { } else { makecert -n "CN=Else" -r -ss Root }', 'powershell.exe')).toMatchObject({ tool: 'makecert', certificate: { subject: 'CN=Else' } });
    expect(parse('if (1) { makecert -n "CN=Then" -r -ss Root }', 'powershell.exe')).toMatchObject({ tool: 'makecert', certificate: { subject: 'CN=Then' } });
  });

  it('reads echo arguments in cmd as data, not certificate files', () => {
    expect(parse('cmd.exe /c echo C:\\PKI\\issued\\ok.cer & signtool sign /f C:\\Users\\Public\\evil.pfx payload.exe', 'cmd.exe')).toMatchObject({
      tool: 'signtool',
      certificate: { files: ['C:\\Users\\Public\\evil.pfx'] },
      signedFiles: ['payload.exe'],
    });
  });

  it.each(['& echo C:\\PKI\\issued\\ok.cer', 'echo C:\\PKI\\issued\\ok.cer', 'Write-Output C:\\PKI\\issued\\ok.cer', 'Write-Host "C:\\PKI\\issued\\ok.cer"', 'write-verbose C:\\PKI\\issued\\ok.cer'])(
    'reads the arguments of `%s` in PowerShell as data',
    (decoy) => {
      const facts = parse(`powershell.exe -Command "${decoy.replace(/"/g, '\\"')}; Set-AuthenticodeSignature -FilePath C:\\Users\\Public\\a.exe -Certificate (Get-PfxCertificate C:\\Users\\Public\\evil.pfx)"`, 'powershell.exe');
      expect(facts).toMatchObject({ action: 'sign', certificate: { files: ['C:\\Users\\Public\\evil.pfx'] }, signedFiles: ['C:\\Users\\Public\\a.exe'] });
    },
  );
});

import { commandFacts, mergeFacts, type CommandFacts } from '../../../shared/cmdline/facts';
import { analysePowerShell, cmdletNamed, type ScriptHooks } from '../../../shared/cmdline/powershell';
import { tokenizePowerShell } from '../../../shared/cmdline/tokenize';

type Analysis = ReturnType<typeof mergeFacts> & { commands: CommandFacts[] };

/**
 * Analyses a script on its own: native programs are the caller's business (`native` decides what
 * they return), and nested scripts (Invoke-Expression) are analysed the same way.
 */
function analyse(script: string, native: ScriptHooks['native'] = () => null): Analysis {
  const hooks: ScriptHooks = { native, script: (inner) => analysePowerShell(inner, tokenizePowerShell(inner), hooks) };
  const commands = analysePowerShell(script, tokenizePowerShell(script), hooks);
  return { ...mergeFacts(commands), commands };
}

describe('New-SelfSignedCertificate', () => {
  it('reads subject, store and the code-signing type', () => {
    expect(analyse("New-SelfSignedCertificate -Type CodeSigningCert -Subject 'CN=Evil' -CertStoreLocation Cert:\\CurrentUser\\My")).toMatchObject({
      tool: 'powershell',
      action: 'create-cert',
      certificate: { subject: 'CN=Evil', store: 'Cert:\\CurrentUser\\My', codeSigningEku: true },
    });
  });

  it('binds splatted parameters', () => {
    const facts = analyse("$p = @{ Subject = 'CN=Evil'; Type = 'CodeSigningCert'; CertStoreLocation = 'Cert:\\CurrentUser\\My' }; New-SelfSignedCertificate @p");
    expect(facts).toMatchObject({ action: 'create-cert', certificate: { subject: 'CN=Evil', codeSigningEku: true, store: 'Cert:\\CurrentUser\\My' } });
  });

  it('binds splatting with unspaced, quoted and multi-line entries', () => {
    const facts = analyse("$p=@{'Subject'='CN=Tight'\n Type='CodeSigning'}\nNew-SelfSignedCertificate @p -CertStoreLocation Cert:\\LocalMachine\\My");
    expect(facts.certificate).toMatchObject({ subject: 'CN=Tight', codeSigningEku: true, store: 'Cert:\\LocalMachine\\My' });
  });

  it('accepts colon syntax, name prefixes and any case', () => {
    const facts = analyse('new-selfsignedcertificate -SUBJ:"CN=x" -ty:CodeSigningCert -certstore:cert:\\LocalMachine\\My');
    expect(facts.certificate).toMatchObject({ subject: 'CN=x', codeSigningEku: true, store: 'cert:\\LocalMachine\\My' });
  });

  it('falls back to the first -DnsName, in any array form', () => {
    expect(analyse('New-SelfSignedCertificate -DnsName a.example, b.example').certificate.subject).toBe('a.example');
    expect(analyse('New-SelfSignedCertificate -DnsName "a.example","b.example"').certificate.subject).toBe('a.example');
    expect(analyse("New-SelfSignedCertificate -DnsName @('a.example', 'b.example')").certificate.subject).toBe('a.example');
    expect(analyse('New-SelfSignedCertificate -DnsName $name').certificate.subject).toBe('$name');
  });

  it('resolves a variable assigned a string literal earlier in the script', () => {
    expect(analyse("$s = 'CN=Var'; New-SelfSignedCertificate -Subject $s").certificate.subject).toBe('CN=Var');
    expect(analyse("$s = 'CN=Old'; $s = Get-Name; New-SelfSignedCertificate -Subject $s").certificate.subject).toBe('$s');
  });

  it('sees the code-signing EKU in -TextExtension but not other extensions', () => {
    expect(analyse('New-SelfSignedCertificate -Type Custom -TextExtension @("2.5.29.37={text}1.3.6.1.5.5.7.3.3")').certificate.codeSigningEku).toBe(true);
    expect(analyse('New-SelfSignedCertificate -TextExtension @("2.5.29.19={critical}{text}ca=TRUE")').certificate.codeSigningEku).toBe(false);
    expect(analyse('New-SelfSignedCertificate -TextExtension @("2.5.29.37={text}1.3.6.1.5.5.7.3.31")').certificate.codeSigningEku).toBe(false);
    expect(analyse('New-SelfSignedCertificate -FriendlyName "Code Signing" -Subject CN=a').certificate.codeSigningEku).toBe(false);
  });

  it('takes the thumbprint from -Signer and the store from -CertStoreLocation', () => {
    const facts = analyse('New-SelfSignedCertificate -Signer Cert:\\LocalMachine\\Root\\07AA8E037F6D1D83CA1B5023318981DDFB546BFB -CertStoreLocation Cert:\\CurrentUser\\My');
    expect(facts.certificate).toMatchObject({ store: 'Cert:\\CurrentUser\\My', thumbprint: '07AA8E037F6D1D83CA1B5023318981DDFB546BFB' });
  });
});

describe('export, import and signing cmdlets', () => {
  it('labels create-then-export with the later stage and keeps the creation facts', () => {
    const facts = analyse("$cert = New-SelfSignedCertificate -Subject 'CN=a' -CertStoreLocation Cert:\\CurrentUser\\My -Type CodeSigningCert; Export-PfxCertificate -Cert $cert -FilePath x.pfx -Password $pw");
    expect(facts).toMatchObject({ action: 'export-pfx', certificate: { subject: 'CN=a', files: ['x.pfx'], store: 'Cert:\\CurrentUser\\My', codeSigningEku: true } });
  });

  it('binds positional parameters', () => {
    expect(analyse('Export-PfxCertificate $c C:\\t\\a.pfx').certificate.files).toEqual(['C:\\t\\a.pfx']);
    expect(analyse('Import-PfxCertificate C:\\t\\a.pfx Cert:\\LocalMachine\\Root')).toMatchObject({
      action: 'import-store',
      certificate: { files: ['C:\\t\\a.pfx'], store: 'Cert:\\LocalMachine\\Root' },
    });
    expect(analyse('Set-AuthenticodeSignature .\\a.ps1 $cert').signedFiles).toEqual(['.\\a.ps1']);
  });

  it('reads a pipeline from the certificate drive', () => {
    const facts = analyse('Get-ChildItem -Path cert:\\localMachine\\my\\5F98EBBFE735CDDAE00E33E0FD69050EF9220254 | Export-PfxCertificate -FilePath C:\\mypfx.pfx -Password $p');
    expect(facts).toMatchObject({
      action: 'export-pfx',
      certificate: { store: 'cert:\\localMachine\\my', thumbprint: '5F98EBBFE735CDDAE00E33E0FD69050EF9220254', files: ['C:\\mypfx.pfx'] },
    });
  });

  it('signs several files with a code-signing certificate found by the cert provider', () => {
    const facts = analyse('Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert | ForEach-Object { Set-AuthenticodeSignature -FilePath .\\a.ps1, .\\b.ps1 -Certificate $_ }');
    expect(facts).toMatchObject({ action: 'sign', certificate: { codeSigningEku: true, store: 'Cert:\\CurrentUser\\My' }, signedFiles: ['.\\a.ps1', '.\\b.ps1'] });
    expect(analyse('Get-ChildItem Cert:\\CurrentUser\\My -CodeSigningCert:$false').certificate.codeSigningEku).toBe(false);
    expect(analyse('Get-ChildItem Cert:\\CurrentUser\\My -Eku "Code Signing"').certificate.codeSigningEku).toBe(true);
  });

  it('treats Export-Certificate (public part only) as other and Get-AuthenticodeSignature as verify', () => {
    expect(analyse('Export-Certificate -Type CERT -Cert Cert:\\LocalMachine\\My\\$($c.Thumbprint) -FilePath c.cer')).toMatchObject({
      action: 'other',
      certificate: { files: ['c.cer'], store: 'Cert:\\LocalMachine\\My', codeSigningEku: false },
    });
    expect(analyse('Get-AuthenticodeSignature C:\\a.exe')).toMatchObject({ action: 'verify', signedFiles: [] });
  });

  it('treats moving a certificate into a store as an import', () => {
    expect(analyse("Move-Item -Path $cert.PSPath -Destination 'Cert:\\LocalMachine\\Root'")).toMatchObject({
      action: 'import-store',
      certificate: { store: 'Cert:\\LocalMachine\\Root' },
    });
  });
});

describe('.NET classes', () => {
  it('reads X509Store constructors and an Add on the store', () => {
    expect(analyse('$s = [System.Security.Cryptography.X509Certificates.X509Store]::new("Root","LocalMachine")')).toMatchObject({ action: 'other', certificate: { store: 'Root' } });
    expect(analyse("$s = New-Object System.Security.Cryptography.X509Certificates.X509Store 'TrustedPublisher', 'LocalMachine'; $s.Open('ReadWrite'); $s.Add($c)")).toMatchObject({
      action: 'import-store',
      certificate: { store: 'TrustedPublisher' },
    });
    expect(analyse('$s = [System.Security.Cryptography.X509Certificates.X509Store]::new([System.Security.Cryptography.X509Certificates.StoreName]::Root, "LocalMachine"); $s.Add($c)')).toMatchObject({
      action: 'import-store',
      certificate: { store: 'Root' },
    });
    expect(analyse('$s = New-Object System.Security.Cryptography.X509Certificates.X509Store([System.Security.Cryptography.X509Certificates.StoreLocation]::CurrentUser)').certificate.store).toBeNull();
  });

  it('reads certificate files given to X509Certificate2', () => {
    expect(analyse('$c = New-Object System.Security.Cryptography.X509Certificates.X509Certificate2("C:\\temp\\ca.crt")').certificate.files).toEqual(['C:\\temp\\ca.crt']);
    expect(analyse('$c = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new("C:\\t\\noext", $pw)').certificate.files).toEqual(['C:\\t\\noext']);
    expect(analyse('$c = New-Object Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList "C:\\t\\k", $pw').certificate.files).toEqual(['C:\\t\\k']);
    expect(analyse('$c = [System.Security.Cryptography.X509Certificates.X509Certificate2]::new($bytes)').certificate.files).toEqual([]);
  });

  it('does not take a message that mentions a file for a file, nor what Write-Host prints (data, issue 15.8)', () => {
    expect(analyse('Write-Host "Saved to C:\\out.pfx"; Write-Host C:\\out.pfx').certificate.files).toEqual([]);
    expect(analyse('Write-Host "Saved to C:\\out.pfx"; Copy-Item "Saved to C:\\a.pfx" C:\\out.pfx D:\\backup').certificate.files).toEqual(['C:\\out.pfx']);
  });

  it('sees a PFX written from X509Certificate2.Export', () => {
    expect(analyse("[IO.File]::WriteAllBytes('C:\\t\\out.pfx', $cert.Export([System.Security.Cryptography.X509Certificates.X509ContentType]::Pfx, 'pw'))")).toMatchObject({
      action: 'export-pfx',
      certificate: { files: ['C:\\t\\out.pfx'] },
    });
  });
});

describe('commands, expressions and hooks', () => {
  it('hands native programs to the caller with the script as source', () => {
    const seen: string[] = [];
    const facts = analyse("& 'C:\\kits\\signtool.exe' sign /a x.exe; certutil -addstore Root a.cer", (name, args, source) => {
      seen.push(`${name}|${args.map((a) => a.text).join(' ')}|${source.text.slice(args[0]!.start, source.end)}`);
      return name === 'certutil' ? [{ ...commandFacts('certutil', 'import-store'), store: 'Root' }] : null;
    });
    expect(seen).toEqual(['C:\\kits\\signtool.exe|sign /a x.exe|sign /a x.exe', 'certutil|-addstore Root a.cer|-addstore Root a.cer']);
    expect(facts.tool).toBe('certutil');
  });

  it('runs a program named by a variable after the call operator', () => {
    const names: string[] = [];
    analyse("$tool = 'C:\\kits\\makecert.exe'; & $tool -r a.cer", (name) => {
      names.push(name);
      return null;
    });
    expect(names).toContain('C:\\kits\\makecert.exe');
  });

  it('does not take an expression for a command', () => {
    const names: string[] = [];
    analyse("'a.pfx', 'b.pfx' | ForEach-Object { $_ }; $x.Method(); [Type]::Call(); 42", (name) => {
      names.push(name);
      return null;
    });
    expect(names).toEqual(['ForEach-Object']);
  });

  it('finds commands inside script blocks and sub-expressions', () => {
    expect(analyse('& { New-SelfSignedCertificate -Subject CN=block }').certificate.subject).toBe('CN=block');
    expect(analyse('if ($true) { $c = (New-SelfSignedCertificate -Subject CN=inner -Type CodeSigningCert) }')).toMatchObject({
      action: 'create-cert',
      certificate: { subject: 'CN=inner', codeSigningEku: true },
    });
  });

  it('follows Invoke-Expression on a literal or a variable holding one', () => {
    expect(analyse("iex 'New-SelfSignedCertificate -Subject CN=iex'").certificate.subject).toBe('CN=iex');
    expect(analyse("$s = 'New-SelfSignedCertificate -Subject CN=var'; Invoke-Expression -Command $s").certificate.subject).toBe('CN=var');
    expect(analyse('iex (New-Object Net.WebClient).DownloadString($u)').action).toBe('other');
  });

  it('knows cmdlet names, aliases and module-qualified names', () => {
    expect(cmdletNamed('gci')).toBe('Get-ChildItem');
    expect(cmdletNamed('PKI\\export-pfxcertificate')).toBe('Export-PfxCertificate');
    expect(cmdletNamed('Write-Host')).toBeUndefined();
  });
});

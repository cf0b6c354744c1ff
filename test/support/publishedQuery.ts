/**
 * A model of what the published T1587.002 hunting query (the detection rule t1587-002 implements)
 * selects and flags, written from its documented behaviour, to check the "published" side of the
 * differences table against the fixture rows. It is not the query and is not used at run time:
 * it encodes only which tool names, keyword terms and parent names the published query looks for
 * and how Kusto's `has` matches a term (a whole term, case-insensitively).
 */

export interface PublishedVerdict {
  selected: boolean;
  branch?: string;
  isSuspiciousParent?: boolean;
  isTempLocation?: boolean;
}

const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}]/u.test(ch);

/**
 * Kusto `has`: the needle occurs case-insensitively and, where it starts or ends with a letter or
 * digit, is not glued to further letters or digits (`has "sign"` matches `sign.exe`, not `signtool`).
 */
export function kustoHas(text: string, needle: string): boolean {
  const t = text.toLowerCase();
  const n = needle.toLowerCase();
  for (let at = t.indexOf(n); at >= 0; at = t.indexOf(n, at + 1)) {
    const startOk = !isWordChar(n[0]) || !isWordChar(t[at - 1]);
    const endOk = !isWordChar(n[n.length - 1]) || !isWordChar(t[at + n.length]);
    if (startOk && endOk) return true;
  }
  return false;
}

const hasAny = (text: string, needles: readonly string[]): boolean => needles.some((n) => kustoHas(text, n));
const textOf = (value: unknown): string => (typeof value === 'string' ? value : '');

const POWERSHELL_TERMS = [
  'New-SelfSignedCertificate', 'Export-PfxCertificate', 'Export-Certificate', 'X509Certificate2(', 'CertEnroll.CX509',
  'CertificateRequest', 'codeSigning', '1.3.6.1.5.5.7.3.3',
];
const PARENTS = ['cmd.exe', 'wscript.exe', 'mshta.exe', 'cscript.exe', 'regsvr32.exe', 'rundll32.exe', 'msiexec.exe'];
const STAGING = ['\\Temp\\', '\\AppData\\', '\\Downloads\\', '\\Public\\'];

/** What the published query does with one DeviceProcessEvents row (FileName, ProcessCommandLine, InitiatingProcessFileName). */
export function publishedVerdict(row: Record<string, unknown>): PublishedVerdict {
  const file = textOf(row.FileName).toLowerCase();
  const line = textOf(row.ProcessCommandLine);
  let branch: string | null = null;
  if (file === 'makecert.exe') branch = 'MakeCert-NativeSDK';
  else if (file === 'pvk2pfx.exe') branch = 'Pvk2Pfx-KeyConversion';
  else if ((file === 'powershell.exe' || file === 'pwsh.exe') && hasAny(line, POWERSHELL_TERMS)) branch = 'PowerShell-CertCmdlet';
  else if (
    file === 'openssl.exe' &&
    hasAny(line, ['req ', 'x509 ', 'pkcs12', 'genpkey', 'genrsa']) &&
    hasAny(line, ['codeSigning', '1.3.6.1.5.5.7.3.3', '-x509', 'extendedKeyUsage'])
  ) {
    branch = 'OpenSSL-CertCreation';
  } else if (file === 'certutil.exe' && hasAny(line, ['-addstore', '-importpfx', '-add'])) branch = 'CertUtil-StoreImport';
  else if (file === 'signtool.exe' && kustoHas(line, 'sign')) branch = 'SignTool-ExecutableSigning';
  if (branch === null) return { selected: false };
  return {
    selected: true,
    branch,
    isSuspiciousParent: hasAny(textOf(row.InitiatingProcessFileName), PARENTS),
    isTempLocation: hasAny(line, STAGING),
  };
}

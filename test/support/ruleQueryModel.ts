/**
 * A model of what rule t1587-002's own query (rules/t1587-002/query.kql) computes for one
 * DeviceProcessEvents row: whether it is selected, its DetectionBranch, IsSuspiciousParent,
 * IsTempLocation and DecodedCommand. Hand-written rows (the demo's sample, the labelled stories)
 * are checked against it, so they hold only what the query would really return, flagged as it
 * would flag them. The tool, parent and cmdlet lists and the staging-path regex are read from the
 * query text itself, so a change to them reaches the check; the shape of the `case()` and its
 * inline patterns are written out here (Kusto semantics: `in~` case-insensitive equality, `has`
 * a whole-term match, `matches regex` RE2 with `(?i)`). Not used at run time.
 */
import { kustoHas } from './publishedQuery';

export interface RuleQueryVerdict {
  selected: boolean;
  DetectionBranch: string;
  IsSuspiciousParent: boolean;
  IsTempLocation: boolean;
  DecodedCommand: string;
}

/** `let Name = dynamic(["a", "b"]);` of the query, lower-cased. */
function listOf(query: string, name: string): string[] {
  const match = new RegExp(`let\\s+${name}\\s*=\\s*dynamic\\(\\[([^\\]]*)\\]\\)`).exec(query);
  if (!match?.[1]) throw new Error(`the query has no list ${name}`);
  return [...match[1].matchAll(/"([^"]*)"/g)].map((m) => (m[1] ?? '').toLowerCase());
}

/** `let Name = @"...";` (a verbatim string: `""` is one quote) as a JS regex; `(?i)` becomes the i flag. */
function regexOf(query: string, name: string): RegExp {
  const match = new RegExp(`let\\s+${name}\\s*=\\s*@"((?:[^"]|"")*)"`).exec(query);
  if (!match?.[1]) throw new Error(`the query has no regex ${name}`);
  return kustoRegex(match[1].replace(/""/g, '"'));
}

function kustoRegex(source: string): RegExp {
  return source.startsWith('(?i)') ? new RegExp(source.slice(4), 'iu') : new RegExp(source, 'u');
}

/** `let Name = "text";` of the query. */
function stringOf(query: string, name: string): string {
  const match = new RegExp(`let\\s+${name}\\s*=\\s*"([^"]*)"`).exec(query);
  if (!match?.[1]) throw new Error(`the query has no string ${name}`);
  return match[1];
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Builds the model of one rendered or unrendered t1587-002 query. */
export function ruleQueryModel(query: string): (row: Record<string, unknown>) => RuleQueryVerdict {
  const tools = {
    makecert: listOf(query, 'MakecertTools'),
    pvk2pfx: listOf(query, 'Pvk2pfxTools'),
    powershell: listOf(query, 'PowerShellTools'),
    openssl: listOf(query, 'OpensslTools'),
    certutil: listOf(query, 'CertutilTools'),
    signtool: listOf(query, 'SigntoolTools'),
  };
  const cmdlets = listOf(query, 'PowerShellCertCmdlets');
  const builders = listOf(query, 'PowerShellCertBuilders');
  const codeSigningName = regexOf(query, 'CodeSigningName');
  const certEnroll = regexOf(query, 'CertEnrollObjects');
  const codeSigningEku = stringOf(query, 'CodeSigningEku');
  const suspiciousParents = listOf(query, 'SuspiciousParents');
  const shellHosts = listOf(query, 'ShellHosts');
  const tempLocation = regexOf(query, 'TempLocationRegex');
  const encodedPayload = /(?:^|\s)[-/–—]e[a-z]*\s+["']?([a-z0-9+/]{16,}={0,2})/iu;

  const inList = (value: unknown, list: readonly string[]): boolean => list.includes(text(value).toLowerCase());
  const hasAny = (haystack: string, terms: readonly string[]): boolean => terms.some((t) => kustoHas(haystack, t));
  const contains = (haystack: string, needle: string): boolean => haystack.toLowerCase().includes(needle.toLowerCase());

  return (row) => {
    const isTool = (list: readonly string[]): boolean => inList(row.FileName, list) || inList(row.ProcessVersionInfoOriginalFileName, list);
    const line = text(row.ProcessCommandLine);
    const isPowerShell = isTool(tools.powershell);
    const payload = isPowerShell ? (encodedPayload.exec(line)?.[1] ?? '') : '';
    const decoded = payload === '' ? '' : Buffer.from(payload, 'base64').toString('utf8').split('\u0000').join('');
    const command = `${line} ${decoded}`;
    let branch = '';
    if (isTool(tools.makecert)) branch = 'MakeCert-NativeSDK';
    else if (isTool(tools.pvk2pfx)) branch = 'Pvk2Pfx-KeyConversion';
    else if (
      isPowerShell &&
      (hasAny(command, cmdlets) ||
        hasAny(command, builders) ||
        codeSigningName.test(command) ||
        certEnroll.test(command) ||
        contains(command, codeSigningEku) ||
        (kustoHas(command, 'X509Certificate2') && (kustoHas(command, 'X509Store') || /\.Import\s*\(/iu.test(command))))
    ) {
      branch = 'PowerShell-CertCmdlet';
    } else if (
      isTool(tools.openssl) &&
      (kustoHas(line, 'codeSigning') ||
        contains(line, codeSigningEku) ||
        /\bpkcs12\b.*\s[-–—]export\b/iu.test(line) ||
        /\breq\b.*\s[-–—]x509\b/iu.test(line) ||
        /\bx509\b.*\s[-–—]req\b/iu.test(line) ||
        /\bca\b.*\s[-–—]selfsign\b/iu.test(line))
    ) {
      branch = 'OpenSSL-CertCreation';
    } else if (isTool(tools.certutil) && /(?:^|\s)["']?[-/–—](?:addstore|importpfx|exportpfx)\b/iu.test(line)) {
      branch = 'CertUtil-StoreImport';
    } else if (isTool(tools.signtool) && /^\s*(?:"[^"]*"|[^"]*?\.exe|\S+)\s+["']?sign["']?(?:\s|$)/iu.test(line)) {
      branch = 'SignTool-ExecutableSigning';
    }
    return {
      selected: branch !== '',
      DetectionBranch: branch,
      IsSuspiciousParent:
        inList(row.InitiatingProcessFileName, suspiciousParents) ||
        (inList(row.InitiatingProcessFileName, shellHosts) && inList(row.InitiatingProcessParentFileName, suspiciousParents)),
      IsTempLocation: tempLocation.test(text(row.FolderPath)) || tempLocation.test(command),
      DecodedCommand: decoded,
    };
  };
}

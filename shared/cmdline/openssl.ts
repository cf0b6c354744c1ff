/**
 * openssl: the subcommands that make keys and certificates (genrsa, genpkey, req, x509, ca),
 * package them (pkcs12 -export), convert keys (rsa, pkey, pkcs8) and sign or verify data (cms,
 * smime, dgst). Reference: https://docs.openssl.org/master/man1/
 */
import type { CertAction } from '../model/finding';
import { commandFacts, type CommandFacts } from './facts';
import { hasOption, optionName, optionValue, parseOptions, valuedOptions, type OptionSpec, type ParsedArgs } from './options';
import { extensionOf, mentionsCodeSigning } from './scan';
import type { Word } from './tokenize';

const COMMON_VALUED = [
  'in', 'out', 'inform', 'outform', 'inkey', 'key', 'keyform', 'keyout', 'passin', 'passout', 'pass', 'days', 'subj',
  'newkey', 'config', 'section', 'extensions', 'reqexts', 'extfile', 'addext', 'ca', 'cakey', 'caform', 'cakeyform',
  'caserial', 'set_serial', 'name', 'certfile', 'cafile', 'capath', 'castore', 'algorithm', 'pkeyopt', 'paramfile',
  'connect', 'servername', 'signkey', 'md', 'certpbe', 'keypbe', 'macalg', 'iter', 'caname', 'cert', 'signer', 'recip',
  'engine', 'rand', 'writerand', 'sigopt', 'vfyopt', 'nameopt', 'certopt', 'ext', 'checkend', 'keyfile', 'cipher',
  'policy', 'spkac', 'ss_cert', 'outdir', 'crl_reason', 'revoke', 'crldays', 'crlhours', 'not_before', 'not_after',
  'copy_extensions', 'provider', 'provider-path', 'propquery', 'content', 'keyopt', 'dateopt', 'proxy', 'host', 'port',
  'verify_hostname', 'verify_ip',
];
const SPEC: OptionSpec = { slash: false, valued: valuedOptions(COMMON_VALUED) };
/** dgst names its key files through -sign/-verify/-prverify, which take a value there. */
const DGST_SPEC: OptionSpec = {
  slash: false,
  valued: valuedOptions([...COMMON_VALUED, 'sign', 'verify', 'prverify', 'signature', 'hmac', 'mac']),
};

/** Options whose value is a certificate or key file, whatever the subcommand. */
const KEY_AND_CERT_OPTIONS = new Set([
  'inkey', 'key', 'keyout', 'ca', 'cakey', 'certfile', 'cafile', 'cert', 'signer', 'signkey', 'keyfile', 'recip',
]);
/** Subcommands whose -in and -out are certificates or keys (not payloads or other data). */
const CERT_IO_SUBCOMMANDS = new Set([
  'req', 'x509', 'pkcs12', 'genrsa', 'genpkey', 'gendsa', 'ecparam', 'rsa', 'pkey', 'ec', 'pkcs8', 'dsa', 'ca', 'crl2pkcs7', 'pkcs7',
]);
const KEY_CONVERSION = new Set(['rsa', 'pkey', 'ec', 'pkcs8', 'dsa']);

function actionOf(subcommand: string, parsed: ParsedArgs): CertAction {
  switch (subcommand) {
    case 'genrsa':
    case 'genpkey':
    case 'gendsa':
      return 'create-cert';
    case 'ecparam':
      return hasOption(parsed, 'genkey') ? 'create-cert' : 'other';
    case 'req':
      return hasOption(parsed, 'x509', 'new', 'newkey') ? 'create-cert' : 'other';
    case 'x509':
      return hasOption(parsed, 'req', 'signkey', 'new') ? 'create-cert' : 'other';
    case 'ca':
      return hasOption(parsed, 'gencrl', 'revoke') ? 'other' : 'create-cert';
    case 'pkcs12':
      return hasOption(parsed, 'export') ? 'export-pfx' : 'other';
    case 'cms':
    case 'smime':
      return hasOption(parsed, 'sign') ? 'sign' : hasOption(parsed, 'verify') ? 'verify' : 'other';
    case 'dgst':
      return hasOption(parsed, 'sign') ? 'sign' : hasOption(parsed, 'verify', 'prverify') ? 'verify' : 'other';
    default:
      return KEY_CONVERSION.has(subcommand) && hasOption(parsed, 'out') ? 'convert-key' : 'other';
  }
}

/**
 * Whether -in / -out of this command carry a certificate signing request rather than a
 * certificate or key: `req` reads a request and writes one unless -x509 makes it a certificate,
 * `x509 -req` and `ca` read one.
 */
function isRequest(subcommand: string, option: 'in' | 'out', parsed: ParsedArgs): boolean {
  if (subcommand === 'req') return option === 'in' || !hasOption(parsed, 'x509');
  if (subcommand === 'x509') return option === 'in' && hasOption(parsed, 'req');
  return subcommand === 'ca' && option === 'in';
}

export function analyseOpenssl(args: readonly Word[]): CommandFacts {
  const subcommandIndex = args.findIndex((word) => optionName(word.text, false) === null);
  if (subcommandIndex < 0) return commandFacts('openssl', 'other');
  const subcommand = args[subcommandIndex]!.text.toLowerCase();
  const rest = args.slice(subcommandIndex + 1);
  const parsed = parseOptions(rest, subcommand === 'dgst' ? DGST_SPEC : SPEC);
  const facts = commandFacts('openssl', actionOf(subcommand, parsed));
  facts.subject = optionValue(parsed, 'subj');
  for (const option of parsed.options) {
    const value = option.values[0]?.text;
    if (value === undefined) continue;
    // -addext extendedKeyUsage=codeSigning, -extensions v3_codesign, -extfile codesign.cnf, ...
    if (option.name.includes('ext') && mentionsCodeSigning(value)) facts.codeSigningEku = true;
    const isFile =
      KEY_AND_CERT_OPTIONS.has(option.name) ||
      (subcommand === 'dgst' && (option.name === 'sign' || option.name === 'verify' || option.name === 'prverify')) ||
      ((option.name === 'in' || option.name === 'out') &&
        CERT_IO_SUBCOMMANDS.has(subcommand) &&
        !isRequest(subcommand, option.name, parsed));
    if (isFile && extensionOf(value) !== 'csr') facts.files.push(value);
  }
  if (facts.action === 'sign') {
    // What gets signed: the -in payload for cms/smime, the positional files for dgst.
    const payload = optionValue(parsed, 'in');
    facts.signedFiles = subcommand === 'dgst' ? parsed.positionals.map((word) => word.text) : payload === null ? [] : [payload];
  }
  return facts;
}

/**
 * signtool.exe (Windows SDK): `sign` puts an Authenticode signature on files, `verify` checks one,
 * `timestamp` adds a timestamp to an existing signature. Reference:
 * https://learn.microsoft.com/dotnet/framework/tools/signtool-exe
 */
import { commandFacts, type CommandFacts } from './facts';
import { optionName, optionValue, parseOptions, valuedOptions, type OptionSpec } from './options';
import type { Word } from './tokenize';

const SIGN: OptionSpec = {
  slash: true,
  valued: valuedOptions([
    'ac', 'c', 'csp', 'd', 'du', 'f', 'fd', 'i', 'kc', 'n', 'p', 'p7', 'p7ce', 'p7co', 'r', 's', 'sha1', 't', 'tr', 'td', 'u',
    'dg', 'di', 'dlib', 'dmdf', 'tseal', ['sa', 2],
  ]),
};

/** The signing certificate file and the additional certificate added to the signature. */
const FILE_OPTIONS = new Set(['f', 'ac']);

export function analyseSigntool(args: readonly Word[]): CommandFacts {
  const commandIndex = args.findIndex((word) => optionName(word.text, true) === null);
  const command = commandIndex < 0 ? '' : args[commandIndex]!.text.toLowerCase();
  const rest = args.slice(commandIndex + 1);
  if (command === 'sign') {
    const facts = commandFacts('signtool', 'sign');
    const parsed = parseOptions(rest, SIGN);
    // Signing picks the certificate by subject name (/n), store (/s) or thumbprint (/sha1); the
    // signer name is the closest thing to a subject the line offers.
    facts.subject = optionValue(parsed, 'n');
    facts.store = optionValue(parsed, 's');
    for (const option of parsed.options) {
      if (FILE_OPTIONS.has(option.name) && option.values[0] !== undefined) facts.files.push(option.values[0].text);
    }
    facts.signedFiles = parsed.positionals.map((word) => word.text);
    return facts;
  }
  // Verifying or timestamping names files that this command does not sign.
  return commandFacts('signtool', command === 'verify' ? 'verify' : 'other');
}

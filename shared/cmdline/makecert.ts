/**
 * makecert.exe (Windows SDK, deprecated): creates an X.509 certificate, optionally self-signed
 * (`-r`), with a private key file (`-sv`) and into a store (`-ss`). Reference:
 * https://learn.microsoft.com/windows/win32/seccrypto/makecert
 */
import { commandFacts, type CommandFacts } from './facts';
import { optionValue, optionValues, parseOptions, valuedOptions, type OptionSpec } from './options';
import { mentionsCodeSigningOid } from './scan';
import type { Word } from './tokenize';

const SPEC: OptionSpec = {
  // makecert only knows dash options; a `/` word is a path.
  slash: false,
  valued: valuedOptions([
    'a', 'b', 'c', 'cy', 'e', 'eku', 'h', 'ic', 'ik', 'iky', 'in', 'ip', 'ir', 'is', 'iv', 'iy', 'l', 'len', 'm', 'n',
    'sc', 'sk', 'sky', 'sp', 'sr', 'ss', 'sv', 'sy', '$', '#',
  ]),
};

/** Issuer certificate and key, subject certificate and key: the options that name files. */
const FILE_OPTIONS = new Set(['ic', 'iv', 'sc', 'sv']);

export function analyseMakecert(args: readonly Word[]): CommandFacts {
  const facts = commandFacts('makecert', args.length > 0 ? 'create-cert' : 'other');
  const parsed = parseOptions(args, SPEC);
  facts.subject = optionValue(parsed, 'n');
  facts.store = optionValue(parsed, 'ss');
  facts.codeSigningEku = optionValues(parsed, 'eku').some(mentionsCodeSigningOid);
  for (const option of parsed.options) {
    if (FILE_OPTIONS.has(option.name) && option.values[0] !== undefined) facts.files.push(option.values[0].text);
  }
  // The one positional argument is the output certificate file.
  for (const word of parsed.positionals) facts.files.push(word.text);
  return facts;
}

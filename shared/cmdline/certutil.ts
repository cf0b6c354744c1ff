/**
 * certutil.exe: among its many verbs, the ones that touch certificates and stores (-addstore,
 * -importPFX, -exportPFX, -delstore, -verify, ...). Download and encoding verbs (-urlcache,
 * -encode) are LOLBAS uses with no certificate facts. Reference:
 * https://learn.microsoft.com/windows-server/administration/windows-commands/certutil
 */
import type { CertAction } from '../model/finding';
import { commandFacts, type CommandFacts } from './facts';
import { parseOptions, valuedOptions, type OptionSpec } from './options';
import { hasCertFileExtension } from './scan';
import type { Word } from './tokenize';

const SPEC: OptionSpec = {
  slash: true,
  valued: valuedOptions(['p', 'pin', 'config', 't', 'sid', 'csp', 'dc', 'restrict', 'out', 'protectto', 'symkeyalg', 'kdf']),
};

/** What each certificate verb does and what its positional arguments are. */
type Layout = 'store-file' | 'store-id' | 'export' | 'import-pfx' | 'file' | 'inspect';
const VERBS: ReadonlyMap<string, { action: CertAction; layout: Layout }> = new Map([
  ['addstore', { action: 'import-store', layout: 'store-file' }],
  ['importpfx', { action: 'import-store', layout: 'import-pfx' }],
  ['exportpfx', { action: 'export-pfx', layout: 'export' }],
  ['importcert', { action: 'other', layout: 'file' }],
  ['delstore', { action: 'other', layout: 'store-id' }],
  ['viewstore', { action: 'other', layout: 'store-id' }],
  ['store', { action: 'other', layout: 'store-id' }],
  ['repairstore', { action: 'other', layout: 'store-id' }],
  ['verifystore', { action: 'other', layout: 'store-id' }],
  ['verify', { action: 'verify', layout: 'file' }],
  ['dump', { action: 'other', layout: 'inspect' }],
]);

/** -importPFX modifiers (`AT_SIGNATURE,NoExport,...`) follow the file name. */
const PFX_MODIFIER =
  /^(at_keyexchange|at_signature|noexport|nocert|nochain|noroot|protect|noprotect|vsm|exportencrypted|friendlyname=|keydescription=)/i;

export function analyseCertutil(args: readonly Word[]): CommandFacts {
  const parsed = parseOptions(args, SPEC);
  const verbOption = parsed.options.find((option) => VERBS.has(option.name));
  if (verbOption === undefined) return commandFacts('certutil', 'other');
  const verb = VERBS.get(verbOption.name)!;
  const facts = commandFacts('certutil', verb.action);
  const values = parseOptions(args.slice(verbOption.index + 1), SPEC).positionals.map((word) => word.text);
  const [a = null, b = null, c = null] = values;
  switch (verb.layout) {
    case 'store-file':
      facts.store = a;
      if (b !== null) facts.files.push(b);
      break;
    case 'store-id':
      facts.store = a;
      break;
    case 'export':
      // [Store] CertId PFXFile: the store is optional.
      if (values.length >= 3) {
        facts.store = a;
        if (c !== null) facts.files.push(c);
      } else if (b !== null) {
        facts.files.push(b);
      }
      break;
    case 'import-pfx':
      // [Store] PFXFile [Modifiers]
      if (b !== null && !PFX_MODIFIER.test(b)) {
        facts.store = a;
        facts.files.push(b);
      } else if (a !== null) {
        facts.files.push(a);
      }
      break;
    case 'file':
      if (a !== null) facts.files.push(a);
      break;
    case 'inspect':
      if (a !== null && hasCertFileExtension(a)) facts.files.push(a);
      break;
  }
  return facts;
}

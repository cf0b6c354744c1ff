/**
 * pvk2pfx.exe (Windows SDK): packs a .pvk private key and a .cer/.spc certificate into a .pfx,
 * the step between makecert and signtool. Reference:
 * https://learn.microsoft.com/windows-hardware/drivers/devtest/pvk2pfx
 */
import { commandFacts, type CommandFacts } from './facts';
import { parseOptions, valuedOptions, type OptionSpec } from './options';
import type { Word } from './tokenize';

const SPEC: OptionSpec = { slash: true, valued: valuedOptions(['pvk', 'pi', 'spc', 'pfx', 'po']) };
const FILE_OPTIONS = new Set(['pvk', 'spc', 'pfx']);

export function analysePvk2pfx(args: readonly Word[]): CommandFacts {
  const facts = commandFacts('pvk2pfx', args.length > 0 ? 'convert-key' : 'other');
  for (const option of parseOptions(args, SPEC).options) {
    if (FILE_OPTIONS.has(option.name) && option.values[0] !== undefined) facts.files.push(option.values[0].text);
  }
  return facts;
}

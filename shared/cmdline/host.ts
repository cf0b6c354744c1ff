/**
 * Programs that run other command lines: the PowerShell host (powershell.exe / pwsh with
 * -Command, -EncodedCommand, -File or a bare command), cmd.exe /c and `sh -c`. They return the
 * script or command line to analyse next; the caller does the analysing.
 */
import { decodeEncodedCommand, isEncodedCommandSwitch } from './encoded';
import { optionName } from './options';
import { looksLikeExecutable } from './programs';
import type { Word } from './tokenize';

export type HostPayload =
  | {
      kind: 'script';
      script: string;
      decoded: boolean;
      /** True when the script runs to the end of the command (an unquoted -Command). */
      toEnd: boolean;
    }
  /** -File, `-Command -` (stdin), an undecodable -EncodedCommand, or no command at all. */
  | { kind: 'none' };

/** Host switches that take a value, by a prefix each must be at least as long as. */
const VALUED: readonly (readonly [string, number])[] = [
  ['executionpolicy', 2],
  ['ep', 2],
  ['windowstyle', 1],
  ['version', 1],
  ['inputformat', 3],
  ['if', 2],
  ['outputformat', 1],
  ['of', 2],
  ['psconsolefile', 2],
  ['configurationname', 4],
  ['configurationfile', 14],
  ['settingsfile', 2],
  ['workingdirectory', 2],
  ['wd', 2],
  ['custompipename', 2],
  ['encodedarguments', 8],
];
const matches = (name: string, full: string, minimum: number): boolean => name.length >= minimum && full.startsWith(name);

/**
 * Where the arguments were read from: `text` holds them at their `start`/`end` offsets and the
 * command they belong to ends at `end`. Arguments may stop short of `end` (callers read only the
 * first few words of a long line); the rest of the command is taken from the text.
 */
export interface ArgumentSource {
  readonly text: string;
  readonly end: number;
}

/**
 * The -Command script starting at `from`. A quoted value is the script, and what follows it on a
 * command line is cmd syntax (`>nul`, `&& next`). Unquoted, everything to the end of the command
 * is the script, kept as written rather than re-joined so that quoted values keep their spaces.
 */
function commandFrom(from: Word, source: ArgumentSource): HostPayload {
  if (from.parts.length > 0 && from.parts.every((part) => part.kind === 'quoted')) {
    return { kind: 'script', script: from.text, decoded: false, toEnd: false };
  }
  const rest = source.text.slice(from.start, source.end).trimEnd();
  return { kind: 'script', script: rest === from.raw ? from.text : rest, decoded: false, toEnd: true };
}

export function powershellHostPayload(args: readonly Word[], source: ArgumentSource): HostPayload {
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    const name = optionName(word.text, true);
    if (name === null) return commandFrom(word, source);
    if (isEncodedCommandSwitch(word.text)) {
      const script = decodeEncodedCommand(args[i + 1]?.text ?? '');
      return script === null ? { kind: 'none' } : { kind: 'script', script, decoded: true, toEnd: false };
    }
    if (VALUED.some(([full, minimum]) => matches(name, full, minimum))) {
      i++;
      continue;
    }
    if (matches(name, 'command', 1) || matches(name, 'commandwithargs', 8) || name === 'cwa') {
      const next = args[i + 1];
      if (next === undefined || next.text === '-') return { kind: 'none' };
      return commandFrom(next, source);
    }
    if (matches(name, 'file', 1)) return { kind: 'none' };
  }
  return { kind: 'none' };
}

/**
 * The command line cmd.exe runs for `/c`, `/k` or `/r`, with cmd's quote handling: a leading quote
 * and the last quote are removed unless the quotes just wrap one executable path with spaces.
 */
export function cmdPayload(args: readonly Word[], source: ArgumentSource): string | null {
  const at = args.findIndex((word) => /^\/[ckr]$/i.test(word.text));
  const next = at < 0 ? undefined : args[at + 1];
  if (next === undefined) return null;
  const rest = source.text.slice(next.start, source.end).trim();
  if (!rest.startsWith('"')) return rest;
  const last = rest.lastIndexOf('"');
  const inner = rest.slice(1, last);
  let quotes = 0;
  for (const ch of rest) if (ch === '"') quotes++;
  const keep = quotes === 2 && last === rest.length - 1 && !/[&<>()@^|]/.test(inner) && /\s/.test(inner) && looksLikeExecutable(inner);
  return keep ? rest : inner + rest.slice(last + 1);
}

/** The command line of `sh -c '...'` (also `bash -lc`). */
export function shPayload(args: readonly Word[]): string | null {
  const at = args.findIndex((word) => /^-[a-z]*c[a-z]*$/.test(word.text));
  return at < 0 ? null : (args[at + 1]?.text ?? null);
}

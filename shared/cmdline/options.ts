/**
 * Switch-style argument parsing for the native certificate tools (makecert, pvk2pfx, certutil,
 * signtool, openssl): which words are options, which option takes the next word as its value, and
 * what is left over as positional arguments.
 */
import type { Word } from './tokenize';

/** Copy-pasted documentation turns `-` into en or em dashes; PowerShell accepts them too. */
const DASHES = new Set(['-', '\u2013', '\u2014', '\u2015']);

export interface OptionSpec {
  /** Whether `/name` is an option too (Windows tools), besides the dash forms. */
  readonly slash: boolean;
  /** Lower-case option names and how many following words each one takes. */
  readonly valued: ReadonlyMap<string, number>;
}

export interface ParsedOption {
  /** Lower-case name without its prefix. */
  readonly name: string;
  /** Index of the option's word in the parsed arguments. */
  readonly index: number;
  readonly values: readonly Word[];
}

export interface ParsedArgs {
  readonly options: readonly ParsedOption[];
  readonly positionals: readonly Word[];
}

/**
 * The option name a word spells (`-Out`, `--out`, `–out`, `/out` → `out`), or null for a value.
 * A lone dash (stdin) and negative numbers are values.
 */
export function optionName(text: string, slash: boolean): string | null {
  let i = 0;
  if (DASHES.has(text[0] ?? '')) {
    i = DASHES.has(text[1] ?? '') ? 2 : 1;
  } else if (slash && text[0] === '/') {
    i = 1;
  } else {
    return null;
  }
  const first = text[i];
  if (first === undefined || (first >= '0' && first <= '9')) return null;
  return text.slice(i).toLowerCase();
}

export function valuedOptions(entries: readonly (string | readonly [string, number])[]): ReadonlyMap<string, number> {
  return new Map(entries.map((entry) => (typeof entry === 'string' ? [entry, 1] : entry)));
}

export function parseOptions(args: readonly Word[], spec: OptionSpec): ParsedArgs {
  const options: ParsedOption[] = [];
  const positionals: Word[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!;
    const name = optionName(word.text, spec.slash);
    if (name === null) {
      positionals.push(word);
      continue;
    }
    const count = spec.valued.get(name) ?? 0;
    options.push({ name, index: i, values: args.slice(i + 1, i + 1 + count) });
    i += count;
  }
  return { options, positionals };
}

/** The value of the first occurrence of any of the named options. */
export function optionValue(parsed: ParsedArgs, ...names: string[]): string | null {
  for (const option of parsed.options) {
    if (names.includes(option.name)) return option.values[0]?.text ?? null;
  }
  return null;
}

export function hasOption(parsed: ParsedArgs, ...names: string[]): boolean {
  return parsed.options.some((option) => names.includes(option.name));
}

/** Values of the named options in line order. */
export function optionValues(parsed: ParsedArgs, ...names: string[]): string[] {
  const values: string[] = [];
  for (const option of parsed.options) {
    if (names.includes(option.name)) for (const value of option.values) values.push(value.text);
  }
  return values;
}

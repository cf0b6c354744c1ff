/**
 * Reading PowerShell meaning out of tokenized words: parameters (`-Name`, `-Name:value`, name
 * prefixes), array arguments (`a, b`, `@("a","b")`), assignments (`$x = ...`), hashtable entries
 * (`Key = value`) and redirections. Quoted and bare parts are kept apart so that commas and equal
 * signs inside strings are never taken for syntax.
 */
import { isDoubleQuote, type Part, type Word } from './tokenize';

const DASHES = new Set(['-', '\u2013', '\u2014', '\u2015']);

/** A word made of some parts of another (the value in `-Name:value`, the rest of `$x=value`). */
export function wordFromParts(parts: readonly Part[], like: Word): Word {
  const text = parts.map((p) => p.text).join('');
  return { text, raw: text, quoted: parts.some((p) => p.kind === 'quoted'), start: like.start, end: like.end, parts };
}

const firstPart = (word: Word): Part | undefined => word.parts[0];
const lastPart = (word: Word): Part | undefined => word.parts[word.parts.length - 1];

/** True when the word is exactly the given unquoted text. */
export function isBare(word: Word | undefined, text: string): boolean {
  return word !== undefined && word.parts.length === 1 && firstPart(word)!.kind === 'bare' && word.text === text;
}

/** True when every part of the word is quoted: a string literal. */
export function isStringLiteral(word: Word): boolean {
  return word.parts.length > 0 && word.parts.every((p) => p.kind === 'quoted');
}

/** The variable a word refers to in full (`$cert`, `$script:cert`, `${cert}` is not handled): lower-case name, or null. */
export function variableName(word: Word): string | null {
  return word.parts.length === 1 && firstPart(word)!.kind === 'bare' ? variableInText(word.text) : null;
}

/** The variable an unquoted text refers to in full, or null. */
export function variableInText(text: string): string | null {
  const match = /^\$(?:(?:global|script|local|private):)?(\w+)$/i.exec(text.length <= 256 ? text : '');
  return match === null ? null : match[1]!.toLowerCase();
}

/** The hashtable variable a splatting word (`@params`) refers to, or null. */
export function splatName(word: Word): string | null {
  if (word.parts.length !== 1 || firstPart(word)!.kind !== 'bare') return null;
  const match = /^@(\w+)$/.exec(word.text.length <= 256 ? word.text : '');
  return match === null ? null : match[1]!.toLowerCase();
}

export interface ParameterWord {
  /** The name as written, without its dash. */
  name: string;
  /** The value of `-Name:value`, or null. */
  value: Word | null;
}

/** Reads `-Name` or `-Name:value`; a quoted word, a lone dash or a negative number is a value. */
export function parameterOf(word: Word): ParameterWord | null {
  const first = firstPart(word);
  if (first === undefined || first.kind !== 'bare' || !DASHES.has(first.text[0] ?? '')) return null;
  const text = first.text;
  let end = 1;
  while (end < text.length && /[\w?]/.test(text[end]!)) end++;
  if (end === 1 || /\d/.test(text[1]!)) return null;
  const name = text.slice(1, end);
  if (end === text.length) {
    // `-Name` alone, or `-Name"value"` (quote glued to the name), which PowerShell reads as two tokens.
    return word.parts.length === 1 ? { name, value: null } : null;
  }
  if (text[end] !== ':') return null;
  const rest = text.slice(end + 1);
  const valueParts: Part[] = rest.length > 0 ? [{ kind: 'bare', text: rest }, ...word.parts.slice(1)] : word.parts.slice(1);
  return { name, value: valueParts.length > 0 ? wordFromParts(valueParts, word) : null };
}

const endsWithComma = (word: Word): boolean => {
  const part = lastPart(word);
  return part !== undefined && part.kind === 'bare' && part.text.endsWith(',');
};
const startsWithComma = (word: Word): boolean => {
  const part = firstPart(word);
  return part !== undefined && part.kind === 'bare' && part.text.startsWith(',');
};

/** How many words from `start` make up one argument: `a, b ,c` is one array argument. */
export function argumentLength(words: readonly Word[], start: number): number {
  let end = start + 1;
  while (end < words.length && (endsWithComma(words[end - 1]!) || startsWithComma(words[end]!))) end++;
  return end - start;
}

export interface Element {
  readonly text: string;
  /** Written as a string literal only (`"a"`, `'a'`). */
  readonly literal: boolean;
  /** Written unquoted only (`a.com`, `$name`). */
  readonly bare: boolean;
}

/**
 * The elements of an array argument, in order: split on unquoted commas, looking through one
 * `@(...)` or `(...)` that holds a single statement (`-DnsName @("a.com", "b.com")`). `limit`
 * stops early for callers that want the first element of a possibly huge list.
 */
export function arrayElements(words: readonly Word[], limit = Infinity): Element[] {
  const only = words.length === 1 ? words[0]! : null;
  const simple = only?.parts.length === 1 ? firstPart(only) : undefined;
  if (simple?.kind === 'group' && (simple.group.kind === '@(' || simple.group.kind === '(') && simple.group.statements.length === 1) {
    return arrayElements(simple.group.statements[0]!.words, limit);
  }
  if (simple !== undefined && simple.kind !== 'group' && !(simple.kind === 'bare' && simple.text.includes(','))) {
    if (simple.text === '' && simple.kind === 'bare') return [];
    return [{ text: simple.text, literal: simple.kind === 'quoted', bare: simple.kind === 'bare' }];
  }
  const elements: Element[] = [];
  let text = '';
  let quoted = false;
  let bare = false;
  let group = false;
  const close = (): void => {
    if (text.length > 0 || quoted) elements.push({ text, literal: quoted && !bare && !group, bare: bare && !quoted && !group });
    text = '';
    quoted = bare = group = false;
  };
  for (const word of words) {
    for (const part of word.parts) {
      if (part.kind !== 'bare') {
        text += part.text;
        if (part.kind === 'quoted') quoted = true;
        else group = true;
        continue;
      }
      let from = 0;
      for (let comma = part.text.indexOf(','); comma >= 0; comma = part.text.indexOf(',', from)) {
        if (comma > from) {
          text += part.text.slice(from, comma);
          bare = true;
        }
        close();
        if (elements.length >= limit) return elements;
        from = comma + 1;
      }
      if (from < part.text.length) {
        text += part.text.slice(from);
        bare = true;
      }
    }
    close();
    if (elements.length >= limit) return elements;
  }
  return elements;
}

interface EqualsSplit {
  key: string;
  value: Word[];
}

/**
 * Splits a statement at its first unquoted `=`, looking only at the first two words: `$x = 1`,
 * `$x=1`, `Key = 'v'`, `'Key'='v'`. Further words are never a target.
 */
function splitAtEquals(words: readonly Word[]): EqualsSplit | null {
  const limit = Math.min(2, words.length);
  let key = '';
  for (let wi = 0; wi < limit; wi++) {
    const word = words[wi]!;
    if (wi > 0) key += ' ';
    for (let pi = 0; pi < word.parts.length; pi++) {
      const part = word.parts[pi]!;
      const at = part.kind === 'bare' ? part.text.indexOf('=') : -1;
      if (at < 0) {
        key += part.text;
        continue;
      }
      key += part.text.slice(0, at);
      const restParts: Part[] = [];
      if (at + 1 < part.text.length) restParts.push({ kind: 'bare', text: part.text.slice(at + 1) });
      restParts.push(...word.parts.slice(pi + 1));
      const value = restParts.length > 0 ? [wordFromParts(restParts, word), ...words.slice(wi + 1)] : words.slice(wi + 1);
      return { key: key.trim(), value };
    }
  }
  return null;
}

export interface Assignment {
  /** Lower-case variable name without `$` or scope. */
  target: string;
  value: Word[];
}

/** `$x = ...`, `[type]$x = ...`, `$script:x = ...`, `$x += ...`; null for anything else. */
export function variableAssignment(words: readonly Word[]): Assignment | null {
  const first = firstPart(words[0]!);
  if (first === undefined || first.kind !== 'bare' || (first.text[0] !== '$' && first.text[0] !== '[')) return null;
  const split = splitAtEquals(words);
  if (split === null || split.key.length > 256) return null;
  const match = /^(?:\[[\w.,]*(?:\[\])?\]\s*)*\$(?:(?:global|script|local|private):)?(\w+)\s*[-+*/%?]?$/i.exec(split.key);
  return match === null ? null : { target: match[1]!.toLowerCase(), value: split.value };
}

export interface HashEntry {
  key: string;
  value: Word[];
}

/** One `Key = value` entry of a hashtable literal. */
export function hashEntry(words: readonly Word[]): HashEntry | null {
  const split = splitAtEquals(words);
  if (split === null || !/^[\w-]+$/.test(split.key.length <= 256 ? split.key : '')) return null;
  return { key: split.key, value: split.value };
}

const REDIRECTION_START = new Set(['>', '<', '*', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);

/**
 * Drops output redirections (`>nul`, `2>&1`, `> out.txt`, `*>$null`) and input redirections
 * (`< in.txt`) so their targets are not read as arguments. `<FilePath>`-style placeholders stay.
 */
export function dropRedirections(words: readonly Word[]): Word[] {
  const kept: Word[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const first = firstPart(word);
    const text = first !== undefined && first.kind === 'bare' ? first.text : '';
    if (!REDIRECTION_START.has(text[0] ?? '')) {
      kept.push(word);
      continue;
    }
    const output = /^[\d*]?>>?/.exec(text.length <= 256 ? text : text.slice(0, 8));
    if (output !== null) {
      // A bare operator (`>`, `2>`) takes the next word as its target; `2>&1` and `>file` do not.
      if (output[0].length === word.text.length) i++;
      continue;
    }
    if (text.startsWith('<') && !word.text.includes('>') && !isDoubleQuote(word.text[1])) {
      if (word.text === '<') i++;
      continue;
    }
    kept.push(word);
  }
  return kept;
}

/**
 * Tokenizers for the two command-line dialects the parser meets: the Windows process command line
 * (cmd.exe syntax on top of the C runtime's argv rules, which also serves sh-style lines) and
 * PowerShell script text. Both are single forward passes (linear time) and never throw: malformed
 * input (unterminated quotes, unbalanced brackets) degrades to literal text.
 */

/** PowerShell bracket groups that nest statements inside a word. */
export type GroupKind = '(' | '@(' | '$(' | '{' | '@{';

export interface Group {
  readonly kind: GroupKind;
  readonly statements: readonly Statement[];
}

/**
 * A piece of a word. Keeping quoted and bare pieces apart lets callers tell a PowerShell array
 * separator (`a,b`) or assignment (`k=v`) from the same characters inside a string.
 */
export type Part =
  | { readonly kind: 'bare'; readonly text: string }
  | { readonly kind: 'quoted'; readonly text: string }
  /** `text` is the group as written, brackets included. */
  | { readonly kind: 'group'; readonly text: string; readonly group: Group };

export interface Word {
  /** The value: quotes removed, escapes applied, groups kept as written. */
  readonly text: string;
  /** The word exactly as written. */
  readonly raw: string;
  /** True when any part of the word was quoted. */
  readonly quoted: boolean;
  /** Offsets into the text that was tokenized (for cmd lines: the statement after caret removal). */
  readonly start: number;
  readonly end: number;
  readonly parts: readonly Part[];
}

export type Separator = ';' | '|' | '||' | '&&' | '&' | '\n';

export interface Statement {
  readonly words: readonly Word[];
  /** The separator that ended the statement, or null at the end of the text. */
  readonly separator: Separator | null;
}

/**
 * Beyond this depth PowerShell brackets are kept as plain text. Real scripts nest a handful of
 * levels; the cap bounds the work done on words that contain groups (each level repeats the text
 * of the levels inside it) and the recursion depth of the analysers that walk groups.
 */
export const MAX_GROUP_DEPTH = 16;

const SPACES = new Set([' ', '\t', '\f', '\v', '\u00a0', '\u1680', '\u202f', '\u205f', '\u3000', '\ufeff']);
const isSpace = (ch: string): boolean => ch === ' ' || SPACES.has(ch) || (ch >= '\u2000' && ch <= '\u200a');
const isNewline = (ch: string | undefined): boolean => ch === '\n' || ch === '\r';

/** PowerShell accepts typographic quotes, and documentation copy-pastes bring them into cmd lines too. */
const DOUBLE_QUOTES = new Set(['"', '\u201c', '\u201d', '\u201e']);
const SINGLE_QUOTES = new Set(["'", '\u2018', '\u2019', '\u201a', '\u201b']);
export const isDoubleQuote = (ch: string | undefined): boolean => ch !== undefined && DOUBLE_QUOTES.has(ch);
export const isSingleQuote = (ch: string | undefined): boolean => ch !== undefined && SINGLE_QUOTES.has(ch);

interface MutableTextPart {
  kind: 'bare' | 'quoted';
  text: string;
}
interface MutableGroupPart {
  kind: 'group';
  text: string;
  group: { kind: GroupKind; statements: Statement[] };
}

class WordBuilder {
  readonly parts: (MutableTextPart | MutableGroupPart)[] = [];
  private current: MutableTextPart | null = null;

  constructor(readonly start: number) {}

  get empty(): boolean {
    return this.parts.length === 0;
  }

  add(text: string, kind: 'bare' | 'quoted'): void {
    if (this.current === null || this.current.kind !== kind) this.startPart(kind);
    this.current!.text += text;
  }

  /** Starts a new part even when empty, so that `""` still yields a (quoted, empty) word. */
  startPart(kind: 'bare' | 'quoted'): void {
    this.current = { kind, text: '' };
    this.parts.push(this.current);
  }

  /** Ends the current part; the next text starts a new one (after a closing quote). */
  endPart(): void {
    this.current = null;
  }

  addGroup(part: MutableGroupPart): void {
    this.parts.push(part);
    this.current = null;
  }

  finish(source: string, end: number): Word {
    const only = this.parts.length === 1 ? this.parts[0]! : null;
    return {
      text: only !== null ? only.text : this.parts.map((p) => p.text).join(''),
      raw: source.slice(this.start, end),
      quoted: this.parts.some((p) => p.kind === 'quoted'),
      start: this.start,
      end,
      parts: this.parts,
    };
  }
}

/**
 * Finds the end of a run of ordinary characters (neither blank nor in `special`, or only not in
 * `special` when blanks are ordinary), so that words are copied in slices rather than character by
 * character. ASCII is classified through a table.
 */
function runScanner(special: readonly string[], blanksEndRuns: boolean): (text: string, from: number) => number {
  const specials = new Set(special);
  const stops = new Uint8Array(128);
  for (let code = 0; code < 128; code++) {
    const ch = String.fromCharCode(code);
    stops[code] = specials.has(ch) || (blanksEndRuns && isSpace(ch)) ? 1 : 0;
  }
  return (text, from) => {
    let i = from;
    for (; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 128 ? stops[code] === 1 : specials.has(text[i]!) || (blanksEndRuns && isSpace(text[i]!))) break;
    }
    return i;
  };
}
const argvRun = runScanner(['\\', '\n', '\r', ...DOUBLE_QUOTES, ...SINGLE_QUOTES], true);
/** Inside double quotes only backslashes and double quotes mean something: blanks are text. */
const argvQuotedRun = runScanner(['\\', ...DOUBLE_QUOTES], false);
const cmdRun = runScanner(['\\', '"', '^', '&', '|', '\n', '\r', ';'], false);
const powershellRun = runScanner(
  ['\n', '\r', ';', '|', '&', '#', '<', '`', '@', '$', '(', ')', '{', '}', ...DOUBLE_QUOTES, ...SINGLE_QUOTES],
  true,
);

/** Index of the last single-quote-like character, so an unmatched quote is detected in O(1). */
function lastSingleQuote(text: string): number {
  // One native search per quote character beats a per-character test on long lines.
  let last = -1;
  for (const quote of SINGLE_QUOTES) last = Math.max(last, text.lastIndexOf(quote));
  return last;
}

/**
 * Splits one command into words (at most `limit`, so that callers that only need the program
 * name and its first switches do not pay for the rest) the way the Microsoft C runtime builds argv: whitespace separates,
 * double quotes group, backslashes are literal except in front of a double quote (2n backslashes
 * and a quote give n backslashes and a delimiter; 2n+1 give n and a literal quote), and `""` inside
 * quotes is a literal quote. A single quote opening a word also groups (sh style) when it is closed
 * later on; an apostrophe inside a word (`O'Brien`) stays literal.
 */
export function splitArgv(text: string, limit = Infinity): Word[] {
  const words: Word[] = [];
  const n = text.length;
  const lastSingle = lastSingleQuote(text);
  let i = 0;
  while (i < n && words.length < limit) {
    while (i < n && (isSpace(text[i]!) || isNewline(text[i]))) i++;
    if (i >= n) break;
    const word = new WordBuilder(i);
    let inDouble = false;
    while (i < n) {
      const ch = text[i]!;
      if (!inDouble && (isSpace(ch) || isNewline(ch))) break;
      if (ch === '\\') {
        let j = i;
        while (j < n && text[j] === '\\') j++;
        const count = j - i;
        if (text[j] === '"') {
          word.add('\\'.repeat(count >> 1), inDouble ? 'quoted' : 'bare');
          if (count % 2 === 1) {
            word.add('"', inDouble ? 'quoted' : 'bare');
            i = j + 1;
          } else {
            i = j;
          }
        } else {
          word.add(text.slice(i, j), inDouble ? 'quoted' : 'bare');
          i = j;
        }
        continue;
      }
      if (isDoubleQuote(ch)) {
        if (inDouble && ch === '"' && text[i + 1] === '"') {
          word.add('"', 'quoted');
          i += 2;
          continue;
        }
        inDouble = !inDouble;
        if (inDouble) word.startPart('quoted');
        else word.endPart();
        i++;
        continue;
      }
      if (!inDouble && word.empty && isSingleQuote(ch) && i < lastSingle) {
        let close = i + 1;
        while (!isSingleQuote(text[close])) close++;
        word.startPart('quoted');
        word.add(text.slice(i + 1, close), 'quoted');
        i = close + 1;
        continue;
      }
      // Copy the run of ordinary characters at once rather than one by one.
      const j = inDouble ? argvQuotedRun(text, i + 1) : argvRun(text, i + 1);
      word.add(text.slice(i, j), inDouble ? 'quoted' : 'bare');
      i = j;
    }
    words.push(word.finish(text, i));
  }
  return words;
}

/**
 * Tokenizes a command line with cmd.exe rules, then each command with {@link splitArgv}: carets
 * escape the next character outside quotes (and join lines), and `&`, `&&`, `||`, `|` and newlines
 * separate commands. `; ` (semicolon then blank) also separates, for sh-style lines; cmd itself
 * never sees one there. A quote escaped for the C runtime (`\"`) does not open or close quoting,
 * so `powershell -c "Write-Host \"a & b\""` stays one command.
 */
export function tokenizeCmd(line: string): Statement[] {
  const statements: Statement[] = [];
  for (const command of splitCmdCommands(line)) {
    const words = splitArgv(command.text);
    if (words.length > 0) statements.push({ words, separator: command.separator });
  }
  return statements;
}

export interface CmdCommand {
  /** The command's text with cmd's carets applied, ready for {@link splitArgv}. */
  readonly text: string;
  readonly separator: Separator | null;
}

/** The cmd.exe layer of {@link tokenizeCmd}: commands as text, blank ones dropped. */
export function splitCmdCommands(line: string): CmdCommand[] {
  const commands: CmdCommand[] = [];
  const n = line.length;
  let buffer = '';
  let inQuote = false;
  const flush = (separator: Separator | null): void => {
    if (buffer.trim() !== '') commands.push({ text: buffer, separator });
    buffer = '';
  };
  let i = 0;
  while (i < n) {
    const ch = line[i]!;
    if (ch === '\\') {
      let j = i;
      while (j < n && line[j] === '\\') j++;
      buffer += line.slice(i, j);
      if (line[j] === '"' && (j - i) % 2 === 1) {
        buffer += '"';
        i = j + 1;
      } else {
        i = j;
      }
      continue;
    }
    if (ch === '"') {
      inQuote = !inQuote;
      buffer += ch;
      i++;
      continue;
    }
    if (inQuote) {
      let j = i + 1;
      while (j < n && line[j] !== '"' && line[j] !== '\\') j++;
      buffer += line.slice(i, j);
      i = j;
      continue;
    }
    if (ch === '^') {
      const next = line[i + 1];
      if (next === '\r' && line[i + 2] === '\n') i += 3;
      else if (next === '\n' || next === '\r') i += 2;
      else {
        buffer += next ?? '';
        i += 2;
      }
      continue;
    }
    if (ch === '&') {
      // `2>&1` is a redirection, not a separator.
      const previous = buffer[buffer.length - 1];
      if (previous === '>' || previous === '<') {
        buffer += ch;
        i++;
      } else if (line[i + 1] === '&') {
        flush('&&');
        i += 2;
      } else {
        flush('&');
        i++;
      }
      continue;
    }
    if (ch === '|') {
      const double = line[i + 1] === '|';
      flush(double ? '||' : '|');
      i += double ? 2 : 1;
      continue;
    }
    if (isNewline(ch)) {
      flush('\n');
      i += ch === '\r' && line[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    if (ch === ';' && (i + 1 >= n || isSpace(line[i + 1]!) || isNewline(line[i + 1]))) {
      flush(';');
      i++;
      continue;
    }
    const j = cmdRun(line, i + 1);
    buffer += line.slice(i, j);
    i = j;
  }
  flush(null);
  return commands;
}

const ESCAPES: Readonly<Record<string, string>> = { n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };
const backtickEscape = (ch: string): string => ESCAPES[ch] ?? ch;

interface Frame {
  readonly kind: GroupKind | null;
  readonly part: MutableGroupPart | null;
  readonly openedAt: number;
  readonly statements: Statement[];
  words: Word[];
  word: WordBuilder | null;
}

const closes = (kind: GroupKind, ch: string): boolean => (ch === ')' ? kind.endsWith('(') : kind.endsWith('{'));

/**
 * Tokenizes PowerShell script text. Statements end at `;`, `|`, `||`, `&&` and newlines;
 * backtick escapes (and continues lines); single and double quoted strings (with doubled quotes
 * and typographic quotes), here-strings and comments are understood. `(...)`, `@(...)`, `$(...)`,
 * `{...}` and `@{...}` become a group part of the word they appear in, holding their own
 * statements, so an argument such as `@(Get-ChildItem cert:\ -codesign)[0]` stays one word. `#`
 * opens a comment only at the start of a word and not before `{`, because Atomic Red Team style
 * `#{placeholder}` arguments are common in the lines this parser sees.
 */
export function tokenizePowerShell(script: string): Statement[] {
  const n = script.length;
  const root: Frame = { kind: null, part: null, openedAt: 0, statements: [], words: [], word: null };
  const stack: Frame[] = [root];
  let excess = 0;

  const wordOf = (frame: Frame, at: number): WordBuilder => (frame.word ??= new WordBuilder(at));
  const endWord = (frame: Frame, end: number): void => {
    if (frame.word !== null) frame.words.push(frame.word.finish(script, end));
    frame.word = null;
  };
  const endStatement = (frame: Frame, end: number, separator: Separator | null): void => {
    endWord(frame, end);
    if (frame.words.length > 0) frame.statements.push({ words: frame.words, separator });
    frame.words = [];
  };
  /** `contentEnd` is where the group's content stops, `groupEnd` just after its closer. */
  const closeFrame = (frame: Frame, contentEnd: number, groupEnd: number): void => {
    endStatement(frame, contentEnd, null);
    if (frame.part !== null) {
      frame.part.group.statements = frame.statements;
      frame.part.text = script.slice(frame.openedAt, groupEnd);
    }
  };
  /** Reads a quoted string starting at `i`; returns its value and the index after it. */
  const readString = (i: number, double: boolean): [string, number] => {
    const isQuote = double ? isDoubleQuote : isSingleQuote;
    let text = '';
    let j = i + 1;
    while (j < n) {
      const c = script[j]!;
      if (double && c === '`' && j + 1 < n) {
        text += backtickEscape(script[j + 1]!);
        j += 2;
      } else if (isQuote(c)) {
        if (isQuote(script[j + 1])) {
          text += c;
          j += 2;
        } else {
          return [text, j + 1];
        }
      } else {
        text += c;
        j++;
      }
    }
    return [text, n];
  };
  /** A here-string opener is `@"` or `@'` followed only by blanks up to the end of the line. */
  const hereStringBody = (i: number): number => {
    let j = i + 2;
    while (j < n && (script[j] === ' ' || script[j] === '\t')) j++;
    if (script[j] === '\r' && script[j + 1] === '\n') return j + 2;
    if (script[j] === '\n') return j + 1;
    return -1;
  };

  let i = 0;
  while (i < n) {
    const frame = stack[stack.length - 1]!;
    const ch = script[i]!;
    const next = script[i + 1];
    if (isSpace(ch)) {
      endWord(frame, i);
      i++;
    } else if (isNewline(ch)) {
      endStatement(frame, i, '\n');
      i++;
    } else if (ch === ';') {
      endStatement(frame, i, ';');
      i++;
    } else if (ch === '|') {
      endStatement(frame, i, next === '|' ? '||' : '|');
      i += next === '|' ? 2 : 1;
    } else if (ch === '&' && next === '&') {
      endStatement(frame, i, '&&');
      i += 2;
    } else if (ch === '&' && frame.word === null) {
      // The call operator is a word of its own even when glued to what follows (`&{ ... }`).
      const amp = new WordBuilder(i);
      amp.add('&', 'bare');
      frame.words.push(amp.finish(script, i + 1));
      i++;
    } else if (ch === '#' && frame.word === null && next !== '{') {
      const eol = script.indexOf('\n', i);
      i = eol < 0 ? n : eol;
    } else if (ch === '<' && next === '#' && frame.word === null) {
      const close = script.indexOf('#>', i + 2);
      i = close < 0 ? n : close + 2;
    } else if (ch === '`') {
      let j = i + 1;
      while (j < n && (script[j] === ' ' || script[j] === '\t')) j++;
      if (isNewline(script[j])) {
        endWord(frame, i);
        i = j + (script[j] === '\r' && script[j + 1] === '\n' ? 2 : 1);
      } else if (i + 1 < n) {
        wordOf(frame, i).add(backtickEscape(next!), 'bare');
        i += 2;
      } else {
        i++;
      }
    } else if (isDoubleQuote(ch) || isSingleQuote(ch)) {
      const [text, after] = readString(i, isDoubleQuote(ch));
      const word = wordOf(frame, i);
      word.startPart('quoted');
      word.add(text, 'quoted');
      i = after;
    } else if (ch === '@' && (isDoubleQuote(next) || isSingleQuote(next)) && hereStringBody(i) >= 0) {
      const body = hereStringBody(i);
      const terminator = `\n${isDoubleQuote(next) ? '"' : "'"}@`;
      const end = script.indexOf(terminator, body - 1);
      const contentEnd = end < 0 ? n : end;
      let text = body <= contentEnd ? script.slice(body, contentEnd) : '';
      if (text.endsWith('\r')) text = text.slice(0, -1);
      const word = wordOf(frame, i);
      word.startPart('quoted');
      word.add(text, 'quoted');
      i = end < 0 ? n : end + terminator.length;
    } else if (ch === '(' || ch === '{' || ((ch === '@' || ch === '$') && next === '(') || (ch === '@' && next === '{')) {
      const kind: GroupKind = ch === '(' || ch === '{' ? ch : ch === '$' ? '$(' : next === '(' ? '@(' : '@{';
      if (excess > 0 || stack.length > MAX_GROUP_DEPTH) {
        excess++;
        wordOf(frame, i).add(kind, 'bare');
      } else {
        const part: MutableGroupPart = { kind: 'group', text: '', group: { kind, statements: [] } };
        wordOf(frame, i).addGroup(part);
        stack.push({ kind, part, openedAt: i, statements: [], words: [], word: null });
      }
      i += kind.length;
    } else if ((ch === ')' || ch === '}') && excess > 0) {
      excess--;
      wordOf(frame, i).add(ch, 'bare');
      i++;
    } else if ((ch === ')' || ch === '}') && frame.kind !== null && closes(frame.kind, ch)) {
      closeFrame(frame, i, i + 1);
      stack.pop();
      i++;
    } else {
      const j = powershellRun(script, i + 1);
      wordOf(frame, i).add(script.slice(i, j), 'bare');
      i = j;
    }
  }
  while (stack.length > 1) closeFrame(stack.pop()!, n, n);
  endStatement(root, n, null);
  return root.statements;
}

/**
 * The command-line parser's entry point: reads a process command line (or a pasted script line)
 * and returns what it says about certificates. It picks the dialect, follows launchers (cmd /c,
 * powershell -Command / -EncodedCommand, sh -c, Invoke-Expression) into the commands they run,
 * hands each command to its tool's extractor and merges the results. Pure, linear time, and it
 * never throws.
 */
import type { CertificateFacts } from '../model/finding';
import { analyseCertutil } from './certutil';
import { commandFacts, mergeFacts, type CommandFacts } from './facts';
import { cmdPayload, powershellHostPayload, shPayload, type ArgumentSource, type HostPayload } from './host';
import { analyseMakecert } from './makecert';
import { analyseOpenssl } from './openssl';
import { analysePowerShell, cmdletNamed } from './powershell';
import { dropRedirections } from './powershell-syntax';
import { resolveLaunch, type ImageHint, type Program } from './programs';
import { analysePvk2pfx } from './pvk2pfx';
import { findThumbprint, hasCertFileExtension, mentionsCodeSigningOid } from './scan';
import { analyseSigntool } from './signtool';
import { splitArgv, splitCmdCommands, tokenizePowerShell, type Word } from './tokenize';

export type { ImageHint } from './programs';

/** How many launchers deep the parser follows (cmd /c powershell -enc ... iex '...'). */
const MAX_DEPTH = 12;

/**
 * Each launcher level re-reads the command it runs. The total text read is capped at a few times
 * the input, so that `powershell -c powershell -c ...` stays linear however deep it goes.
 */
const rereadBudget = (input: string): number => 4 * input.length + 65_536;

interface Context {
  /** The first decoded -EncodedCommand met. */
  decoded: string | null;
  /** Characters the parser may still read. */
  budget: number;
}

/** Approved PowerShell verbs (Get-Verb) that start the cmdlet names seen in these lines. */
const VERBS = new Set([
  'add', 'approve', 'assert', 'backup', 'block', 'build', 'checkpoint', 'clear', 'close', 'compare', 'complete', 'compress',
  'confirm', 'connect', 'convert', 'convertfrom', 'convertto', 'copy', 'debug', 'deny', 'deploy', 'disable', 'disconnect',
  'dismount', 'edit', 'enable', 'enter', 'exit', 'expand', 'export', 'find', 'foreach', 'format', 'get', 'grant', 'group',
  'hide', 'import', 'initialize', 'install', 'invoke', 'join', 'limit', 'lock', 'measure', 'merge', 'mount', 'move', 'new',
  'open', 'optimize', 'out', 'ping', 'pop', 'protect', 'publish', 'push', 'read', 'receive', 'redo', 'register', 'remove',
  'rename', 'repair', 'request', 'reset', 'resize', 'resolve', 'restart', 'restore', 'resume', 'revoke', 'save', 'search',
  'select', 'send', 'set', 'show', 'skip', 'split', 'start', 'step', 'stop', 'submit', 'suspend', 'switch', 'sync', 'test',
  'trace', 'unblock', 'undo', 'uninstall', 'unlock', 'unprotect', 'unpublish', 'unregister', 'update', 'use', 'wait',
  'watch', 'where', 'write',
]);

/**
 * Whether a line that names no known program is PowerShell source: it starts with a variable,
 * array, type, group or call operator, or with a cmdlet name.
 */
function looksLikePowerShell(line: string, first: Word): boolean {
  const head = line[0];
  if (head === '$' || head === '@' || head === '[' || head === '(' || head === '{') return true;
  if ((head === '&' || head === '.') && /^[&.]\s*["'{$&.(]|^[&.]\s/.test(line.slice(0, 4))) return true;
  if (first.quoted) return false;
  const verbNoun = /^([a-z]+)-[a-z]+$/i.exec(first.text.length <= 64 ? first.text : '');
  return cmdletNamed(first.text) !== undefined || (verbNoun !== null && VERBS.has(verbNoun[1]!.toLowerCase()));
}

/** Facts of a command the parser has no extractor for: certificate files by extension, thumbprints, the EKU OID. */
function otherCommand(args: readonly Word[]): CommandFacts {
  const facts = commandFacts('other');
  for (const word of args) {
    if (hasCertFileExtension(word.text)) facts.files.push(word.text);
  }
  return facts;
}

/** Line-wide evidence every extractor shares: a thumbprint and the code-signing OID anywhere in the arguments. */
function withArgumentEvidence(facts: CommandFacts, args: readonly Word[]): CommandFacts {
  for (const word of args) {
    facts.thumbprint ??= findThumbprint(word.text);
    if (!facts.codeSigningEku && mentionsCodeSigningOid(word.text)) facts.codeSigningEku = true;
  }
  return facts;
}

/** `echo`, `echo.`, `echo:`, `@echo`, `rem`, `title` (and sh's `echo` / `printf`), as cmd spells them. */
const CMD_DATA_COMMAND = /^@?(?:echo|rem|title|printf)(?:$|[.:(;,=+/[\]\\])/i;

/** Enough words to see a launcher's switches before the command it runs; that command is read from the text. */
const LOOKAHEAD = 64;

const LAUNCHERS: ReadonlySet<Program> = new Set<Program>(['powershell', 'cmd', 'sh']);

class LineAnalyser {
  constructor(private readonly context: Context) {}

  /** Accounts for reading `text`; false when the depth or the budget is exhausted. */
  private read(text: string, depth: number): boolean {
    if (depth > MAX_DEPTH || text.length > this.context.budget) return false;
    this.context.budget -= text.length;
    return true;
  }

  /** A process command line, or a line from a batch file or shell script. */
  line(text: string, depth: number, hint: ImageHint | null): CommandFacts[] {
    const line = text.trim();
    if (line === '' || !this.read(line, depth)) return [];
    const commands = splitCmdCommands(line);
    const first = commands[0] === undefined ? undefined : splitArgv(commands[0].text, 1)[0];
    if (first === undefined) return [];
    const launch = resolveLaunch(first.text, hint);
    if (launch.program === 'powershell') {
      // powershell.exe receives its command line as argv, not as cmd syntax: in an unquoted
      // -Command, `;` and `&` belong to the script. After a quoted one, the line is cmd syntax again
      // (`powershell -c "..." && certutil ...` in a batch file).
      const args = splitArgv(line, LOOKAHEAD + launch.argsFrom).slice(launch.argsFrom);
      const payload = powershellHostPayload(args, { text: line, end: line.length });
      const facts = this.host(payload, depth);
      if (payload.kind === 'script' && payload.toEnd) return facts;
      return [...facts, ...commands.slice(1).flatMap((command) => this.command(command.text, depth, null))];
    }
    if (launch.program === null && looksLikePowerShell(line, first)) return this.script(line, depth);
    return commands.flatMap((command, index) => this.command(command.text, depth, index === 0 ? hint : null));
  }

  /** One command of a cmd or sh line. */
  private command(text: string, depth: number, hint: ImageHint | null): CommandFacts[] {
    const first = splitArgv(text, 1)[0];
    if (first === undefined) return [];
    const launch = resolveLaunch(first.text, hint);
    const source = { text, end: text.length };
    const isLauncher = launch.program !== null && LAUNCHERS.has(launch.program);
    const args = dropRedirections(isLauncher ? splitArgv(text, LOOKAHEAD + launch.argsFrom) : splitArgv(text)).slice(launch.argsFrom);
    if (launch.program === null) {
      // cmd's echo / rem / title print or ignore their text: it names no file and runs nothing.
      if (CMD_DATA_COMMAND.test(first.text.slice(0, 16))) return [commandFacts('other')];
      return [withArgumentEvidence(otherCommand(args), args)];
    }
    return this.program(launch.program, args, source, depth);
  }

  program(program: Program, args: readonly Word[], source: ArgumentSource, depth: number): CommandFacts[] {
    switch (program) {
      case 'makecert':
        return [withArgumentEvidence(analyseMakecert(args), args)];
      case 'pvk2pfx':
        return [withArgumentEvidence(analysePvk2pfx(args), args)];
      case 'openssl':
        return [withArgumentEvidence(analyseOpenssl(args), args)];
      case 'certutil':
        return [withArgumentEvidence(analyseCertutil(args), args)];
      case 'signtool':
        return [withArgumentEvidence(analyseSigntool(args), args)];
      default:
        return this.launcher(program, args, source, depth);
    }
  }

  /** Programs that run another command line: follow it. */
  private launcher(program: 'powershell' | 'cmd' | 'sh', args: readonly Word[], source: ArgumentSource, depth: number): CommandFacts[] {
    if (program === 'powershell') return this.host(powershellHostPayload(args, source), depth);
    const payload = program === 'cmd' ? cmdPayload(args, source) : shPayload(args);
    return payload === null ? [commandFacts('other')] : this.line(payload, depth + 1, null);
  }

  /** The PowerShell host and the script it runs. */
  private host(payload: HostPayload, depth: number): CommandFacts[] {
    const host = commandFacts('powershell');
    if (payload.kind === 'none') return [host];
    if (payload.decoded) this.context.decoded ??= payload.script;
    return [host, ...this.script(payload.script, depth + 1)];
  }

  /** PowerShell script text. */
  script(text: string, depth: number): CommandFacts[] {
    if (!this.read(text, depth)) return [];
    return analysePowerShell(text, tokenizePowerShell(text), {
      native: (name, args, source) => {
        const launch = resolveLaunch(name, null);
        return launch.program === null ? null : this.program(launch.program, args, source, depth + 1);
      },
      script: (inner) => this.script(inner, depth + 1),
    });
  }
}

/** Like {@link parseCommandLine} but lets an unexpected error escape; for tests. */
export function analyseCommandLine(commandLine: string, hint?: ImageHint | null): CertificateFacts {
  const line = typeof commandLine === 'string' ? commandLine : '';
  const context: Context = { decoded: null, budget: rereadBudget(line) };
  const commands = new LineAnalyser(context).line(line, 0, hint ?? null);
  return { ...mergeFacts(commands), decodedCommand: context.decoded };
}

/**
 * What a command line says about certificates. `hint` carries the process image name and PE
 * original file name from telemetry, used when the line does not name the executable or the
 * binary was renamed.
 */
export function parseCommandLine(commandLine: string, hint?: ImageHint | null): CertificateFacts {
  try {
    return analyseCommandLine(commandLine, hint);
  } catch {
    // A bug must cost the facts of one line, never the hunt; the fuzz tests keep this unreachable.
    return { ...mergeFacts([]), decodedCommand: null };
  }
}

/**
 * PowerShell script analysis: the PKI and Authenticode cmdlets (New-SelfSignedCertificate,
 * Export-PfxCertificate, Import-Certificate, Set-AuthenticodeSignature, ...), the certificate
 * drive (`Cert:\LocalMachine\Root`), the .NET classes scripts use instead (X509Store,
 * X509Certificate2), parameter binding as PowerShell does it (name prefixes, `-Name:value`,
 * positional parameters, splatting) and variables assigned earlier in the script. Native programs
 * and nested scripts are handed back to the caller through {@link ScriptHooks}.
 */
import { commandFacts, type CommandFacts } from './facts';
import {
  argumentLength,
  arrayElements,
  dropRedirections,
  hashEntry,
  isBare,
  isStringLiteral,
  parameterOf,
  splatName,
  variableAssignment,
  variableInText,
  variableName,
  type Element,
} from './powershell-syntax';
import {
  baseName,
  extensionOf,
  findCertDrivePath,
  findThumbprint,
  hasCertFileExtension,
  looksLikePath,
  mentionsCodeSigning,
  mentionsCodeSigningOid,
} from './scan';
import type { ArgumentSource } from './host';
import type { Group, Part, Statement, Word } from './tokenize';

export interface ScriptHooks {
  /**
   * Facts of a native program the script runs, or null when the name is not a program the parser
   * knows. `source` is the script, for launchers that read the rest of the command as written.
   */
  native(name: string, args: readonly Word[], source: ArgumentSource): CommandFacts[] | null;
  /** Facts of script text the script evaluates (Invoke-Expression). */
  script(text: string): CommandFacts[];
}

type Variable =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'hashtable'; readonly entries: ReadonlyMap<string, { readonly key: string; readonly value: readonly Word[] }> }
  | { readonly kind: 'store'; readonly store: string | null }
  /** A .NET CertificateRequest: its Create / CreateSelfSigned issues a certificate. */
  | { readonly kind: 'request' }
  /** A COM object by ProgID (CertEnroll's X509Enrollment.*). */
  | { readonly kind: 'com'; readonly progId: string };

/** A cmdlet call after parameter binding. */
interface Call {
  /** Bound values by lower-case canonical parameter name; a switch has no words. */
  readonly named: ReadonlyMap<string, readonly Word[]>;
  /** The value when it is a string the script spells out: a literal, or a variable assigned one. */
  literal(name: string): string | null;
  /** The first value as a string, variables resolved. */
  text(name: string): string | null;
  /** The array elements of a value, variables resolved. */
  elements(name: string): string[];
  /** The first array element of a value, variables resolved. */
  firstElement(name: string): string | null;
  /** A switch that is present and not turned off with `:$false`. */
  on(name: string): boolean;
}

/** What a cmdlet analyser may ask of the script walker. */
interface CmdletContext {
  readonly hooks: ScriptHooks;
  /** Records that the statement opens an X509Store, so the variable it is assigned to is known. */
  openedStore(store: string | null): void;
  /** Records the object the statement creates (a CertificateRequest, a COM object). */
  created(object: Variable): void;
}

interface CmdletSpec {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly parameters: readonly string[];
  readonly switches?: readonly string[];
  readonly positional?: readonly string[];
  analyse(call: Call, facts: CommandFacts, context: CmdletContext): CommandFacts[];
}

const COMMON_PARAMETERS = [
  'Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction', 'ErrorVariable', 'WarningVariable',
  'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable', 'WhatIf', 'Confirm',
];
const COMMON_SWITCHES = ['Verbose', 'Debug', 'WhatIf', 'Confirm'];
const COMMON_ALIASES: Readonly<Record<string, string>> = {
  vb: 'verbose', db: 'debug', ea: 'erroraction', wa: 'warningaction', infa: 'informationaction', proga: 'progressaction',
  ev: 'errorvariable', wv: 'warningvariable', iv: 'informationvariable', ov: 'outvariable', ob: 'outbuffer',
  pv: 'pipelinevariable', wi: 'whatif', cf: 'confirm',
};

/** `-CertStoreLocation Cert:\CurrentUser\My` and friends: the store level of a drive path, else the value as written. */
const storeOf = (value: string | null): string | null => (value === null ? null : (findCertDrivePath(value)?.store ?? value));

const certProviderFilters = (call: Call, facts: CommandFacts): CommandFacts[] => {
  // The certificate provider's -CodeSigningCert filter (often shortened to -codesign) and -Eku.
  if (call.on('codesigningcert') || call.elements('eku').some(mentionsCodeSigning)) facts.codeSigningEku = true;
  return [facts];
};

const CERT_PROVIDER_PARAMETERS = [
  'CodeSigningCert', 'DocumentEncryptionCert', 'SSLServerAuthentication', 'DnsName', 'Eku', 'ExpiringInDays',
];
const CERT_PROVIDER_SWITCHES = ['CodeSigningCert', 'DocumentEncryptionCert', 'SSLServerAuthentication'];

const CMDLETS: readonly CmdletSpec[] = [
  {
    name: 'New-SelfSignedCertificate',
    parameters: [
      'AlternateSignatureAlgorithm', 'CertStoreLocation', 'CloneCert', 'Container', 'CurveExport', 'DnsName', 'ExistingKey',
      'Extension', 'FriendlyName', 'HardwareKeyUsage', 'HashAlgorithm', 'KeyAlgorithm', 'KeyDescription', 'KeyExportPolicy',
      'KeyFriendlyName', 'KeyLength', 'KeyLocation', 'KeyProtection', 'KeySpec', 'KeyUsage', 'KeyUsageProperty', 'NotAfter',
      'NotBefore', 'Pin', 'Provider', 'Reader', 'SecurityDescriptor', 'SerialNumber', 'Signer', 'SignerPin', 'SignerReader',
      'SmimeCapabilities', 'Subject', 'SuppressOid', 'TestRoot', 'TextExtension', 'Type',
    ],
    switches: ['AlternateSignatureAlgorithm', 'ExistingKey', 'SmimeCapabilities', 'TestRoot'],
    analyse(call, facts) {
      facts.action = 'create-cert';
      facts.subject = call.text('subject') ?? call.firstElement('dnsname');
      facts.store = storeOf(call.text('certstorelocation'));
      // -Type CodeSigningCert (the enum value; `CodeSigning` is accepted by its prefix).
      if (/^codesign/i.test(call.text('type') ?? '')) facts.codeSigningEku = true;
      return [facts];
    },
  },
  {
    name: 'Export-PfxCertificate',
    parameters: [
      'Cert', 'ChainOption', 'CryptoAlgorithmOption', 'FilePath', 'Force', 'NoClobber', 'NoProperties', 'Password', 'PFXData', 'ProtectTo',
    ],
    switches: ['Force', 'NoClobber', 'NoProperties'],
    positional: ['Cert', 'FilePath'],
    analyse(call, facts) {
      facts.action = 'export-pfx';
      facts.files.push(...call.elements('filepath'));
      return [facts];
    },
  },
  {
    // Exports the public certificate only (no private key), so it is not an export-pfx.
    name: 'Export-Certificate',
    parameters: ['Cert', 'FilePath', 'Force', 'NoClobber', 'Type'],
    switches: ['Force', 'NoClobber'],
    analyse(call, facts) {
      facts.files.push(...call.elements('filepath'));
      return [facts];
    },
  },
  {
    name: 'Import-Certificate',
    parameters: ['CertStoreLocation', 'FilePath'],
    positional: ['FilePath'],
    analyse(call, facts) {
      facts.action = 'import-store';
      facts.files.push(...call.elements('filepath'));
      facts.store = storeOf(call.text('certstorelocation'));
      return [facts];
    },
  },
  {
    name: 'Import-PfxCertificate',
    parameters: ['CertStoreLocation', 'Exportable', 'FilePath', 'Password'],
    switches: ['Exportable'],
    positional: ['FilePath', 'CertStoreLocation'],
    analyse(call, facts) {
      facts.action = 'import-store';
      facts.files.push(...call.elements('filepath'));
      facts.store = storeOf(call.text('certstorelocation'));
      return [facts];
    },
  },
  {
    name: 'Get-PfxCertificate',
    parameters: ['FilePath', 'LiteralPath', 'NoPromptForPassword', 'Password'],
    switches: ['NoPromptForPassword'],
    positional: ['FilePath'],
    analyse(call, facts) {
      facts.files.push(...call.elements('filepath'), ...call.elements('literalpath'));
      return [facts];
    },
  },
  {
    name: 'Set-AuthenticodeSignature',
    parameters: [
      'Certificate', 'Content', 'FilePath', 'Force', 'HashAlgorithm', 'IncludeChain', 'LiteralPath', 'SourcePathOrExtension',
      'TimestampServer',
    ],
    switches: ['Force'],
    positional: ['FilePath', 'Certificate'],
    analyse(call, facts) {
      facts.action = 'sign';
      facts.signedFiles.push(...call.elements('filepath'), ...call.elements('literalpath'));
      return [facts];
    },
  },
  {
    name: 'Get-AuthenticodeSignature',
    parameters: ['Content', 'FilePath', 'LiteralPath', 'SourcePathOrExtension'],
    positional: ['FilePath'],
    analyse(_call, facts) {
      facts.action = 'verify';
      return [facts];
    },
  },
  {
    name: 'Get-ChildItem',
    aliases: ['gci', 'ls', 'dir'],
    parameters: [
      'Attributes', 'Depth', 'Directory', 'Exclude', 'File', 'Filter', 'FollowSymlink', 'Force', 'Hidden', 'Include', 'LiteralPath',
      'Name', 'Path', 'ReadOnly', 'Recurse', 'System', ...CERT_PROVIDER_PARAMETERS,
    ],
    switches: ['Directory', 'File', 'FollowSymlink', 'Force', 'Hidden', 'Name', 'ReadOnly', 'Recurse', 'System', ...CERT_PROVIDER_SWITCHES],
    positional: ['Path', 'Filter'],
    analyse: certProviderFilters,
  },
  {
    name: 'Get-Item',
    aliases: ['gi'],
    parameters: ['Exclude', 'Filter', 'Force', 'Include', 'LiteralPath', 'Path', 'Stream', ...CERT_PROVIDER_PARAMETERS],
    switches: ['Force', ...CERT_PROVIDER_SWITCHES],
    positional: ['Path'],
    analyse: certProviderFilters,
  },
  {
    // Moving a certificate into another store (`-Destination Cert:\LocalMachine\Root`) plants trust.
    name: 'Move-Item',
    aliases: ['mi', 'move', 'mv'],
    parameters: ['Credential', 'Destination', 'Exclude', 'Filter', 'Force', 'Include', 'LiteralPath', 'PassThru', 'Path'],
    switches: ['Force', 'PassThru'],
    positional: ['Path', 'Destination'],
    analyse(call, facts) {
      const destination = findCertDrivePath(call.text('destination') ?? '');
      if (destination !== null) {
        facts.action = 'import-store';
        facts.store = destination.store;
      }
      return [facts];
    },
  },
  {
    name: 'New-Object',
    parameters: ['ArgumentList', 'ComObject', 'Property', 'Strict', 'TypeName'],
    switches: ['Strict'],
    positional: ['TypeName', 'ArgumentList'],
    analyse(call, facts, context) {
      // `New-Object X509Store -ArgumentList Root, LocalMachine`; the `X509Store(args)` form is read
      // with the other .NET constructor calls.
      const progId = call.text('comobject');
      if (progId !== null) return [certEnrollObject(progId.slice(0, 128), facts, context)];
      const typeWord = call.named.get('typename')?.[0];
      if (typeWord === undefined || typeWord.parts.some((p) => p.kind === 'group')) return [facts];
      const type = typeWord.text.slice(-64);
      const first = arrayElements(call.named.get('argumentlist') ?? [], 1)[0];
      if (/X509Store$/i.test(type)) {
        const store = first === undefined ? null : storeNameArgument(first);
        facts.store ??= store;
        context.openedStore(store);
      } else if (/X509Certificate2?$/i.test(type) && first !== undefined) {
        const file = certificateFileArgument(first);
        if (file !== null) facts.files.push(file);
      } else if (/CertificateRequest$/i.test(type)) {
        facts.subject ??= first === undefined ? null : subjectArgument(first);
        context.created({ kind: 'request' });
      }
      return [facts];
    },
  },
  {
    name: 'Invoke-Expression',
    aliases: ['iex'],
    parameters: ['Command'],
    positional: ['Command'],
    analyse(call, facts, context) {
      // Only a script the line spells out can be read; `iex (downloaded text)` cannot.
      const script = call.literal('command');
      return script === null ? [facts] : [facts, ...context.hooks.script(script)];
    },
  },
];

const CMDLET_BY_NAME: ReadonlyMap<string, CmdletSpec> = new Map(
  CMDLETS.flatMap((spec) => [spec.name, ...(spec.aliases ?? [])].map((name) => [name.toLowerCase(), spec] as const)),
);

/** The cmdlet a command name refers to (`PKI\Export-PfxCertificate`, `gci`), or undefined. */
export function cmdletNamed(name: string): string | undefined {
  return CMDLET_BY_NAME.get(baseName(name).toLowerCase())?.name;
}

/** Resolves a parameter name as PowerShell does: exact name, alias, then a unique prefix. */
function resolveParameter(spec: CmdletSpec, name: string): string | null {
  const lower = name.toLowerCase();
  const all = [...spec.parameters, ...COMMON_PARAMETERS].map((p) => p.toLowerCase());
  if (all.includes(lower)) return lower;
  const alias = COMMON_ALIASES[lower];
  if (alias !== undefined) return alias;
  const candidates = all.filter((p) => p.startsWith(lower));
  return candidates.length === 1 ? candidates[0]! : null;
}

/** First argument of an X509Store constructor: `"Root"`, `[StoreName]::Root`; a StoreLocation names no store. */
function storeNameArgument(element: Element): string | null {
  const text = element.text;
  const member = /StoreName\]::(\w+)$/i.exec(text.slice(-128));
  if (member !== null) return member[1]!;
  if (/StoreLocation|^(CurrentUser|LocalMachine)$/i.test(text.slice(0, 128))) return null;
  return text;
}

/** First argument of an X509Certificate2 constructor when it is a file name rather than bytes. */
function certificateFileArgument(element: Element): string | null {
  return element.literal || hasCertFileExtension(element.text) ? element.text : null;
}

/** First argument of a CertificateRequest constructor when it is a distinguished name written out. */
function subjectArgument(element: Element): string | null {
  return element.literal || /^[A-Za-z]+=/.test(element.text) ? element.text : null;
}

/**
 * CertEnroll through COM (`New-Object -ComObject X509Enrollment.CX509...`): the request object
 * that makes a self-signed certificate, or the enrollment that installs one, is a creation. The
 * distinguished-name object is remembered so that its `Encode('CN=...')` gives the subject.
 */
function certEnrollObject(progId: string, facts: CommandFacts, context: CmdletContext): CommandFacts {
  if (!/^X509Enrollment\./i.test(progId)) return facts;
  if (/^X509Enrollment\.CX509(CertificateRequestCertificate|Enrollment)$/i.test(progId)) facts.action = 'create-cert';
  context.created({ kind: 'com', progId: progId.toLowerCase() });
  return facts;
}

/** Commands whose arguments are data to print, never files or commands (`echo C:\x.cer`). */
const DATA_COMMANDS = new Set([
  'echo', 'write', 'write-output', 'write-host', 'write-verbose', 'write-information', 'write-warning', 'write-debug',
  'write-error', 'write-progress',
]);

/**
 * The truth of a condition PowerShell can decide without running anything: literal numbers,
 * `$true` / `$false` / `$null`, string literals, `!` / `-not`, comparisons of two numbers and
 * `-and` / `-or` with a decided left side. Null when it depends on anything at run time.
 */
export function constantCondition(condition: string): boolean | null {
  let text = condition.trim();
  if (text.length > 256) return null;
  while (text.startsWith('(') && text.endsWith(')')) text = text.slice(1, -1).trim();
  const negated = /^(?:!|-not\s)\s*([\s\S]*)$/i.exec(text);
  if (negated !== null) {
    const inner = constantCondition(negated[1]!);
    return inner === null ? null : !inner;
  }
  const logical = /^(\S+)\s+-(and|or)\s+([\s\S]+)$/i.exec(text);
  if (logical !== null) {
    const left = constantCondition(logical[1]!);
    if (left === null) return null;
    if (logical[2]!.toLowerCase() === 'and') return left ? constantCondition(logical[3]!) : false;
    return left ? true : constantCondition(logical[3]!);
  }
  const comparison = /^(\S+)\s+-(eq|ne|gt|ge|lt|le)\s+(\S+)$/i.exec(text);
  if (comparison !== null) {
    const [a, b] = [numberLiteral(comparison[1]!), numberLiteral(comparison[3]!)];
    if (a === null || b === null) return null;
    const op = comparison[2]!.toLowerCase();
    return op === 'eq' ? a === b : op === 'ne' ? a !== b : op === 'gt' ? a > b : op === 'ge' ? a >= b : op === 'lt' ? a < b : a <= b;
  }
  const number = numberLiteral(text);
  if (number !== null) return number !== 0;
  const lower = text.toLowerCase();
  if (lower === '$true') return true;
  if (lower === '$false' || lower === '$null') return false;
  const quoted = /^'([^']*)'$|^"([^"$`]*)"$/.exec(text);
  if (quoted !== null) return (quoted[1] ?? quoted[2] ?? '') !== '';
  return null;
}

function numberLiteral(text: string): number | null {
  if (/^[-+]?0x[0-9a-f]{1,15}$/i.test(text)) return Number.parseInt(text.replace(/^[-+]?0x/i, ''), 16) * (text.startsWith('-') ? -1 : 1);
  if (/^[-+]?\d{1,15}(?:\.\d{1,15})?$/.test(text)) return Number(text);
  return null;
}

type Item = Part;

class ScriptWalker implements CmdletContext {
  readonly out: CommandFacts[] = [];
  private readonly variables = new Map<string, Variable>();
  /** Set while analysing a statement that opens an X509Store (undefined: it opens none). */
  private opened: { store: string | null } | undefined;
  /** Set while analysing a statement that creates an object worth remembering. */
  private made: Variable | undefined;

  constructor(
    private readonly source: string,
    readonly hooks: ScriptHooks,
  ) {}

  openedStore(store: string | null): void {
    this.opened = { store };
  }

  created(object: Variable): void {
    this.made = object;
  }

  walk(statements: readonly Statement[]): void {
    for (const statement of statements) this.statement(statement.words);
  }

  private statement(all: readonly Word[]): void {
    const words = dropRedirections(all);
    if (words.length === 0) return;
    if (this.controlFlow(words)) return;
    const assignment = variableAssignment(words);
    const body = assignment?.value ?? words;
    // Groups run before the command that contains them, and may assign variables it uses.
    this.nested(body);
    this.opened = undefined;
    this.made = undefined;
    const facts = body.length > 0 ? this.command(body) : [];
    if (assignment !== null) this.remember(assignment.target, body);
    this.out.push(...facts);
  }

  /**
   * `if (...) {...} elseif (...) {...} else {...}` and `while (...) {...}`: conditions run, and a
   * block runs unless a condition decided without running anything ({@link constantCondition})
   * rules it out. A decoy in `if (0) { makecert -n "CN=..." }` is dead code, not a fact. False when
   * the statement is not one of these, for the ordinary walk.
   */
  private controlFlow(words: readonly Word[]): boolean {
    const head = words[0]?.parts[0];
    if (head?.kind !== 'bare' || !/^(?:if|while)$/i.test(head.text)) return false;
    const items: Item[] = [];
    for (const word of words) for (const part of word.parts) items.push(part);
    const keyword = (item: Item | undefined): string => (item?.kind === 'bare' ? item.text.toLowerCase() : '');
    const group = (item: Item | undefined, kind: '(' | '{'): Group | null => (item?.kind === 'group' && item.group.kind === kind ? item.group : null);
    const first = keyword(items[0]);
    if (first !== 'if' && first !== 'while') return false;
    let i = 0;
    let reachable = true;
    while (i < items.length) {
      const word = keyword(items[i]);
      const isElse = word === 'else';
      if (i === 0 ? false : !(word === 'elseif' || isElse)) break;
      const condition = isElse ? null : group(items[i + 1], '(');
      const block = group(items[isElse ? i + 1 : i + 2], '{');
      if ((!isElse && condition === null) || block === null) return i > 0;
      const conditionText = isElse ? '$true' : (items[i + 1] as { text: string }).text;
      const decided = constantCondition(conditionText);
      if (reachable && condition !== null) this.walk(condition.statements);
      if (reachable && decided !== false) this.walk(block.statements);
      if (decided === true) reachable = false;
      i += isElse ? 2 : 3;
      if (first === 'while' || isElse) break;
    }
    return true;
  }

  private nested(words: readonly Word[]): void {
    for (const word of words) {
      for (const part of word.parts) {
        if (part.kind !== 'group') continue;
        if (part.group.kind === '@{') {
          for (const entry of part.group.statements) this.nested(hashEntry(entry.words)?.value ?? entry.words);
        } else {
          this.walk(part.group.statements);
        }
      }
    }
  }

  private command(body: readonly Word[]): CommandFacts[] {
    const callOperator = isBare(body[0], '&') || isBare(body[0], '.');
    const nameWord = body[callOperator ? 1 : 0];
    const facts = commandFacts('powershell');
    let result: CommandFacts[] = [facts];
    const name = nameWord === undefined ? null : this.commandName(nameWord, callOperator);
    // What echo and Write-* print is data: their arguments name no file and run nothing.
    if (name !== null && DATA_COMMANDS.has(baseName(name).toLowerCase())) return result;
    if (name !== null) {
      const args = body.slice(callOperator ? 2 : 1);
      const spec = CMDLET_BY_NAME.get(baseName(name).toLowerCase());
      if (spec !== undefined) {
        result = spec.analyse(this.bind(spec, args), facts, this);
      } else {
        const end = (args[args.length - 1] ?? nameWord!).end;
        const native = this.hooks.native(name, args, { text: this.source, end });
        if (native !== null) return native;
      }
    }
    this.scan(body, name === null ? undefined : nameWord, facts);
    return result;
  }

  /** The command a statement runs, or null when it is an expression (`$x.Add(...)`, `[Type]::new()`, `"text"`). */
  private commandName(word: Word, afterCallOperator: boolean): string | null {
    if (word.parts.some((p) => p.kind === 'group')) return null;
    const variable = variableName(word);
    if (variable !== null) {
      const value = this.variables.get(variable);
      return afterCallOperator && value?.kind === 'string' ? value.value : null;
    }
    if (word.parts[0]?.kind === 'quoted') {
      // A statement that starts with a string is an expression, except `& "C:\...\signtool.exe"`;
      // a quoted program path without `&` is an error in PowerShell but is how such lines are
      // often pasted.
      const program = afterCallOperator || ['exe', 'com'].includes(extensionOf(word.text));
      return program && isStringLiteral(word) ? word.text : null;
    }
    return /^[\d[@$-]/.test(word.text) ? null : word.text;
  }

  private bind(spec: CmdletSpec, args: readonly Word[]): Call {
    const named = new Map<string, readonly Word[]>();
    const positional: (readonly Word[])[] = [];
    const switches = new Set([...(spec.switches ?? []), ...COMMON_SWITCHES].map((s) => s.toLowerCase()));
    for (let i = 0; i < args.length; i++) {
      const word = args[i]!;
      const splat = splatName(word);
      const table = splat === null ? undefined : this.variables.get(splat);
      if (table?.kind === 'hashtable') {
        for (const entry of table.entries.values()) named.set(resolveParameter(spec, entry.key) ?? entry.key.toLowerCase(), entry.value);
        continue;
      }
      const parameter = parameterOf(word);
      if (parameter === null) {
        const length = argumentLength(args, i);
        positional.push(args.slice(i, i + length));
        i += length - 1;
        continue;
      }
      const resolved = resolveParameter(spec, parameter.name);
      const key = resolved ?? parameter.name.toLowerCase();
      const next = args[i + 1];
      if (parameter.value !== null) {
        named.set(key, [parameter.value]);
      } else if ((resolved !== null && switches.has(resolved)) || next === undefined || (resolved === null && parameterOf(next) !== null)) {
        named.set(key, []);
      } else {
        const length = argumentLength(args, i + 1);
        named.set(key, args.slice(i + 1, i + 1 + length));
        i += length;
      }
    }
    const open = (spec.positional ?? []).map((p) => p.toLowerCase()).filter((p) => !named.has(p));
    positional.forEach((value, index) => {
      const target = open[index];
      if (target !== undefined) named.set(target, value);
    });
    const resolve = (element: Element): string => this.resolve(element);
    return {
      named,
      literal: (name) => {
        const value = named.get(name);
        const only = value?.length === 1 ? value[0]! : undefined;
        return only === undefined ? null : isStringLiteral(only) ? only.text : this.stringOf(only);
      },
      text: (name) => {
        const first = named.get(name)?.[0];
        return first === undefined ? null : (this.stringOf(first) ?? first.text);
      },
      elements: (name) => arrayElements(named.get(name) ?? []).map(resolve),
      firstElement: (name) => {
        const first = arrayElements(named.get(name) ?? [], 1)[0];
        return first === undefined ? null : resolve(first);
      },
      on: (name) => {
        const value = named.get(name);
        return value !== undefined && !(value.length === 1 && /^\$false$|^0$/i.test(value[0]!.text));
      },
    };
  }

  /** An array element's text, or the string its variable holds. */
  private resolve(element: Element): string {
    const name = element.bare ? variableInText(element.text) : null;
    const value = name === null ? undefined : this.variables.get(name);
    return value?.kind === 'string' ? value.value : element.text;
  }

  /** The string a variable word holds when the script assigned it a literal, else null. */
  private stringOf(word: Word): string | null {
    const name = variableName(word);
    const value = name === null ? undefined : this.variables.get(name);
    return value?.kind === 'string' ? value.value : null;
  }

  /**
   * What any statement can reveal whatever its command: a certificate-drive path (store and
   * thumbprint), a thumbprint, the code-signing OID, certificate files by extension, and the .NET
   * calls scripts use instead of cmdlets.
   */
  private scan(body: readonly Word[], nameWord: Word | undefined, facts: CommandFacts): void {
    for (const word of body) {
      const text = word.text;
      if (facts.store === null) facts.store = findCertDrivePath(text)?.store ?? null;
      facts.thumbprint ??= findThumbprint(text);
      if (!facts.codeSigningEku && mentionsCodeSigningOid(text)) facts.codeSigningEku = true;
      if (word !== nameWord) {
        for (const element of arrayElements([word])) {
          const value = this.resolve(element);
          if (hasCertFileExtension(value) && looksLikePath(value)) facts.files.push(value);
        }
      }
      this.dotNet(word, facts);
    }
  }

  /** `[X509Store]::new("Root", ...)`, `X509Certificate2("a.cer")`, `$store.Add($cert)`, `$cert.Export('Pfx')`. */
  private dotNet(word: Word, facts: CommandFacts): void {
    let callee = '';
    for (const part of word.parts) {
      if (part.kind !== 'group') {
        callee = part.text.slice(-128);
        continue;
      }
      if (part.group.kind === '(') this.dotNetCall(callee, part.group, part.text, facts);
      callee = '';
    }
  }

  private dotNetCall(callee: string, group: Group, text: string, facts: CommandFacts): void {
    const first = arrayElements(group.statements[0]?.words ?? [], 1)[0];
    if (/X509Store(\]::new)?$/i.test(callee)) {
      const store = first === undefined ? null : storeNameArgument(first);
      facts.store ??= store;
      this.openedStore(store);
    } else if (/X509Certificate2?(\]::(new|CreateFromCertFile|CreateFromSignedFile))?$/i.test(callee)) {
      const file = first === undefined ? null : certificateFileArgument(first);
      if (file !== null) facts.files.push(file);
    } else if (/CertificateRequest(\]::new)?$/i.test(callee)) {
      facts.subject ??= first === undefined ? null : subjectArgument(first);
      this.created({ kind: 'request' });
    } else if (/(?:FromFriendlyName|Oid\]::new|^Oid)$/i.test(callee)) {
      // `[Oid]::FromFriendlyName('Code Signing', ...)`: the EKU by its friendly name.
      if (first !== undefined && mentionsCodeSigning(this.resolve(first))) facts.codeSigningEku = true;
    } else if (/\.CreateSelfSigned$/i.test(callee)) {
      facts.action = 'create-cert';
    } else if (/\.Export$/i.test(callee) && /pfx|pkcs12/i.test(text.slice(0, 512))) {
      facts.action = 'export-pfx';
    } else {
      const method = /^\$(\w+)\.(\w+)$/.exec(callee);
      const target = method === null ? undefined : this.variables.get(method[1]!.toLowerCase());
      const name = method?.[2]!.toLowerCase();
      if (target?.kind === 'store' && name === 'add') {
        facts.action = 'import-store';
        facts.store = target.store ?? facts.store;
      } else if (target?.kind === 'request' && name === 'create') {
        // `$request.Create($issuer, ...)`: a certificate issued by one's own CA.
        facts.action = 'create-cert';
      } else if (target?.kind === 'com' && target.progId === 'x509enrollment.cx500distinguishedname' && name === 'encode') {
        facts.subject ??= first === undefined ? null : subjectArgument(first);
      }
    }
  }

  private remember(target: string, body: readonly Word[]): void {
    const only = body.length === 1 ? body[0]! : null;
    const table = only?.parts.length === 1 ? only.parts[0] : undefined;
    if (table?.kind === 'group' && table.group.kind === '@{') {
      const entries = new Map<string, { key: string; value: readonly Word[] }>();
      for (const statement of table.group.statements) {
        const entry = hashEntry(statement.words);
        if (entry !== null) entries.set(entry.key.toLowerCase(), entry);
      }
      this.variables.set(target, { kind: 'hashtable', entries });
    } else if (only !== null && isStringLiteral(only)) {
      this.variables.set(target, { kind: 'string', value: only.text });
    } else if (this.opened !== undefined) {
      this.variables.set(target, { kind: 'store', store: this.opened.store });
    } else if (this.made !== undefined) {
      this.variables.set(target, this.made);
    } else {
      this.variables.delete(target);
    }
  }
}

/** Facts of every command in a PowerShell script (its text and its tokens), in execution order. */
export function analysePowerShell(script: string, statements: readonly Statement[], hooks: ScriptHooks): CommandFacts[] {
  const walker = new ScriptWalker(script, hooks);
  walker.walk(statements);
  return walker.out;
}

import { splitArgv, tokenizeCmd, tokenizePowerShell, type Statement, type Word } from '../../../shared/cmdline/tokenize';

const texts = (words: readonly Word[]): string[] => words.map((w) => w.text);
const statementTexts = (statements: readonly Statement[]): string[][] => statements.map((s) => texts(s.words));

describe('splitArgv (Windows argv rules)', () => {
  it('keeps backslashes in Windows paths and strips double quotes', () => {
    const words = splitArgv(
      '"C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x64\\signtool.exe" sign /f "C:\\Users\\a b\\c.pfx" /p pw /t http://ts "C:\\out\\app.exe"',
    );
    expect(texts(words)).toEqual([
      'C:\\Program Files (x86)\\Windows Kits\\10\\bin\\x64\\signtool.exe',
      'sign',
      '/f',
      'C:\\Users\\a b\\c.pfx',
      '/p',
      'pw',
      '/t',
      'http://ts',
      'C:\\out\\app.exe',
    ]);
    expect(words[0]!.quoted).toBe(true);
    expect(words[1]!.quoted).toBe(false);
  });

  it('keeps doubled backslashes as written', () => {
    expect(texts(splitArgv('"build\\\\TypeWorld.exe" x'))).toEqual(['build\\\\TypeWorld.exe', 'x']);
  });

  it('applies the backslash-before-quote rule the C runtime uses', () => {
    expect(texts(splitArgv('-Command "Write-Host \\"a b\\""'))).toEqual(['-Command', 'Write-Host "a b"']);
  });

  it('honours single quotes that open a word (sh style) but not apostrophes inside a word', () => {
    expect(texts(splitArgv("openssl req -subj '/CN=a b' -out x.pem"))).toEqual(['openssl', 'req', '-subj', '/CN=a b', '-out', 'x.pem']);
    expect(texts(splitArgv("signtool sign /n O'Brien a.exe"))).toEqual(['signtool', 'sign', '/n', "O'Brien", 'a.exe']);
    expect(texts(splitArgv("x 'unterminated y"))).toEqual(['x', "'unterminated", 'y']);
  });

  it('treats typographic quotes as quotes (documentation copy-paste)', () => {
    expect(texts(splitArgv('makecert –n “CN=your name” out.cer'))).toEqual(['makecert', '–n', 'CN=your name', 'out.cer']);
  });

  it('records raw text and source offsets', () => {
    const [a, b] = splitArgv('  ab "c d"');
    expect(a).toMatchObject({ raw: 'ab', start: 2, end: 4 });
    expect(b).toMatchObject({ raw: '"c d"', text: 'c d', start: 5, end: 10 });
  });
});

describe('tokenizeCmd (cmd.exe layer, then argv)', () => {
  it('removes caret escapes outside quotes and keeps them inside', () => {
    expect(statementTexts(tokenizeCmd('c^e^r^t^u^t^i^l -url^cache "a^b"'))).toEqual([['certutil', '-urlcache', 'a^b']]);
  });

  it('an escaped separator is a literal character', () => {
    expect(statementTexts(tokenizeCmd('echo a^&b'))).toEqual([['echo', 'a&b']]);
  });

  it('splits statements on &, &&, ||, |, newlines and "; " outside quotes', () => {
    const statements = tokenizeCmd('makecert -r a.cer && pvk2pfx -pvk a.pvk & echo "x & y" | more || b\nc; d');
    expect(statementTexts(statements)).toEqual([
      ['makecert', '-r', 'a.cer'],
      ['pvk2pfx', '-pvk', 'a.pvk'],
      ['echo', 'x & y'],
      ['more'],
      ['b'],
      ['c'],
      ['d'],
    ]);
    expect(statements.map((s) => s.separator)).toEqual(['&&', '&', '|', '||', '\n', ';', null]);
  });

  it('joins caret line continuations', () => {
    expect(statementTexts(tokenizeCmd('signtool sign ^\r\n  /a x.exe'))).toEqual([['signtool', 'sign', '/a', 'x.exe']]);
  });

  it('does not split on a quote escaped for the C runtime', () => {
    expect(statementTexts(tokenizeCmd('powershell -c "Write-Host \\"a & b\\""'))).toEqual([['powershell', '-c', 'Write-Host "a & b"']]);
  });

  it('returns no statements for blank input', () => {
    expect(tokenizeCmd('   \n  ')).toEqual([]);
  });
});

describe('tokenizePowerShell', () => {
  it('splits statements on ; | and newlines, and keeps quoted separators', () => {
    const statements = tokenizePowerShell("$a = 'x;y' ; Get-ChildItem | Export-PfxCertificate -FilePath a.pfx\nWrite-Host done");
    expect(statementTexts(statements)).toEqual([
      ['$a', '=', 'x;y'],
      ['Get-ChildItem'],
      ['Export-PfxCertificate', '-FilePath', 'a.pfx'],
      ['Write-Host', 'done'],
    ]);
  });

  it('groups (...), @(...), $(...), {...} and @{...} into one word with nested statements', () => {
    const [st] = tokenizePowerShell('Set-AuthenticodeSignature c:\\a.ps1 @(Get-ChildItem cert:\\LocalMachine\\My -codesign)[0]');
    const arg = st!.words[2]!;
    expect(arg.text).toBe('@(Get-ChildItem cert:\\LocalMachine\\My -codesign)[0]');
    const group = arg.parts.find((p) => p.kind === 'group');
    expect(group?.kind === 'group' && group.group.kind).toBe('@(');
    expect(group?.kind === 'group' && statementTexts(group.group.statements)).toEqual([['Get-ChildItem', 'cert:\\LocalMachine\\My', '-codesign']]);
  });

  it('parses a splatting hashtable into entry statements', () => {
    const [assign] = tokenizePowerShell("$p = @{ Subject = 'CN=Evil'; Type = 'CodeSigningCert' }; New-SelfSignedCertificate @p");
    const table = assign!.words[2]!.parts[0]!;
    expect(table.kind).toBe('group');
    if (table.kind !== 'group') return;
    expect(table.group.kind).toBe('@{');
    expect(statementTexts(table.group.statements)).toEqual([
      ['Subject', '=', 'CN=Evil'],
      ['Type', '=', 'CodeSigningCert'],
    ]);
  });

  it('handles backtick escapes and backtick line continuation', () => {
    expect(statementTexts(tokenizePowerShell('makecert -n "CN=a `"b`"" `\r\n  -r out.cer'))).toEqual([
      ['makecert', '-n', 'CN=a "b"', '-r', 'out.cer'],
    ]);
    expect(statementTexts(tokenizePowerShell('Write-Host a` b'))).toEqual([['Write-Host', 'a b']]);
  });

  it("doubles quotes inside strings ('' and \"\")", () => {
    expect(statementTexts(tokenizePowerShell('x \'it\'\'s\' "say ""hi"""'))).toEqual([['x', "it's", 'say "hi"']]);
  });

  it('skips comments but keeps Atomic Red Team #{placeholders}', () => {
    expect(statementTexts(tokenizePowerShell('Export-PfxCertificate -FilePath #{pfx_path} # note\n<# block\n comment #> done'))).toEqual([
      ['Export-PfxCertificate', '-FilePath', '#{pfx_path}'],
      ['done'],
    ]);
  });

  it('reads here-strings', () => {
    expect(statementTexts(tokenizePowerShell('$s = @"\nline 1\n"quoted" line\n"@\nnext'))).toEqual([
      ['$s', '=', 'line 1\n"quoted" line'],
      ['next'],
    ]);
  });

  it('treats unbalanced closers as text and closes unfinished groups at the end', () => {
    expect(statementTexts(tokenizePowerShell('a ) b } c'))).toEqual([['a', ')', 'b', '}', 'c']]);
    const [st] = tokenizePowerShell('x (a (b');
    expect(st!.words.map((w) => w.text)).toEqual(['x', '(a (b']);
  });

  it('caps nesting depth and treats deeper brackets as text', () => {
    const deep = `${'('.repeat(100)}x${')'.repeat(100)} tail`;
    const [st] = tokenizePowerShell(deep);
    expect(st!.words.map((w) => w.text)).toEqual([`${'('.repeat(100)}x${')'.repeat(100)}`, 'tail']);
  });

  it('keeps the call operator as its own word', () => {
    expect(statementTexts(tokenizePowerShell('& "C:\\Program Files\\signtool.exe" sign /a x.exe'))).toEqual([
      ['&', 'C:\\Program Files\\signtool.exe', 'sign', '/a', 'x.exe'],
    ]);
    expect(statementTexts(tokenizePowerShell('&{ makecert -r a.cer }'))[0]![0]).toBe('&');
  });

  it('is linear on pathological input', () => {
    const inputs = ['('.repeat(1_000_000), '"'.repeat(1_000_000), '`'.repeat(1_000_000), "'".repeat(999_999), '@{'.repeat(500_000), 'a,'.repeat(500_000)];
    for (const input of inputs) {
      const started = Date.now();
      tokenizePowerShell(input);
      tokenizeCmd(input);
      expect(Date.now() - started).toBeLessThan(5_000);
    }
  });
});

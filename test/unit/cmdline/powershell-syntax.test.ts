import { argumentLength, arrayElements, dropRedirections, hashEntry, parameterOf, splatName, variableAssignment, variableName } from '../../../shared/cmdline/powershell-syntax';
import { tokenizePowerShell, type Word } from '../../../shared/cmdline/tokenize';

const words = (script: string): readonly Word[] => tokenizePowerShell(script)[0]?.words ?? [];
const word = (script: string): Word => words(script)[0]!;

describe('parameterOf', () => {
  it('reads -Name and -Name:value', () => {
    expect(parameterOf(word('-Subject'))).toEqual({ name: 'Subject', value: null });
    expect(parameterOf(word('–Subject'))).toEqual({ name: 'Subject', value: null });
    expect(parameterOf(word('-Subject:"CN=x"'))?.value?.text).toBe('CN=x');
    expect(parameterOf(word('-Path:cert:\\CurrentUser\\My'))).toMatchObject({ name: 'Path', value: { text: 'cert:\\CurrentUser\\My' } });
  });

  it('does not read values as parameters', () => {
    expect(parameterOf(word('"-Subject"'))).toBeNull();
    expect(parameterOf(word('-5'))).toBeNull();
    expect(parameterOf(word('-'))).toBeNull();
    expect(parameterOf(word('CN=x'))).toBeNull();
  });
});

describe('arrays', () => {
  it('measures array arguments', () => {
    const args = words('a, b ,c d');
    expect(argumentLength(args, 0)).toBe(3);
    expect(argumentLength(args, 3)).toBe(1);
  });

  it('splits elements on unquoted commas only', () => {
    expect(arrayElements(words('"a,b", c,d')).map((e) => e.text)).toEqual(['a,b', 'c', 'd']);
    expect(arrayElements(words('@("a", \'b\')')).map((e) => [e.text, e.literal, e.bare])).toEqual([
      ['a', true, false],
      ['b', true, false],
    ]);
    expect(arrayElements(words('$x')).map((e) => [e.text, e.bare])).toEqual([['$x', true]]);
    expect(arrayElements(words('a,b,c'), 1).map((e) => e.text)).toEqual(['a']);
    expect(arrayElements(words('""')).map((e) => e.text)).toEqual(['']);
  });
});

describe('assignments and hashtables', () => {
  it('reads variable assignments in their forms', () => {
    expect(variableAssignment(words("$cert = 'x'"))).toMatchObject({ target: 'cert', value: [{ text: 'x' }] });
    expect(variableAssignment(words("$Cert='x'"))).toMatchObject({ target: 'cert', value: [{ text: 'x' }] });
    expect(variableAssignment(words('[string[]]$script:list += a'))).toMatchObject({ target: 'list' });
    expect(variableAssignment(words('$x.Prop = 1'))).toBeNull();
    expect(variableAssignment(words('$x -eq 1'))).toBeNull();
    expect(variableAssignment(words('Write-Host a=b'))).toBeNull();
  });

  it('reads hashtable entries', () => {
    expect(hashEntry(words("Subject = 'CN=a=b'"))).toMatchObject({ key: 'Subject', value: [{ text: 'CN=a=b' }] });
    expect(hashEntry(words("'Type'='CodeSigningCert'"))).toMatchObject({ key: 'Type', value: [{ text: 'CodeSigningCert' }] });
    expect(hashEntry(words('no entry'))).toBeNull();
  });

  it('names variables and splats', () => {
    expect(variableName(word('$Cert'))).toBe('cert');
    expect(variableName(word('$global:cert'))).toBe('cert');
    expect(variableName(word('"$cert"'))).toBeNull();
    expect(splatName(word('@Params'))).toBe('params');
    expect(splatName(word('@(1)'))).toBeNull();
  });
});

describe('dropRedirections', () => {
  it('drops redirections and their targets but keeps placeholders', () => {
    expect(dropRedirections(words('a >nul 2>&1 > out.txt *>$null < in.txt b <FilePath>.pfx')).map((w) => w.text)).toEqual(['a', 'b', '<FilePath>.pfx']);
    expect(dropRedirections(words('a ">" 2')).map((w) => w.text)).toEqual(['a', '>', '2']);
  });
});

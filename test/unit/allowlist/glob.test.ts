/** Glob matcher: semantics, agreement with a reference regex, and no catastrophic backtracking. */
import fc from 'fast-check';
import { compileGlob, globMatch, isGlobPattern } from '../../../shared/allowlist/glob';

/** Reference semantics: the obvious regex translation, fine for short inputs. */
function referenceMatch(pattern: string, text: string): boolean {
  let source = '';
  for (const ch of pattern.toLowerCase()) {
    if (ch === '*') source += '[\\s\\S]*';
    else if (ch === '?') source += '[\\s\\S]';
    else source += ch.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 'u').test(text.toLowerCase());
}

describe('globMatch', () => {
  test.each([
    ['CN=Contoso', 'cn=contoso', true],
    ['CN=Contoso', 'CN=Contoso Ltd', false],
    ['CN=Contoso*', 'cn=contoso code signing', true],
    ['*Runner.Worker.exe', 'C:\\actions-runner\\bin\\Runner.Worker.exe', true],
    ['*Runner.Worker.exe', 'Runner.Worker.exe.bak', false],
    ['a?c', 'abc', true],
    ['a?c', 'ac', false],
    ['a?c', 'abbc', false],
    ['*', '', true],
    ['**', 'anything', true],
    ['a*b*c', 'aXXbYYc', true],
    ['a*b*c', 'aXXcYYb', false],
    ['*.pfx', 'C:\\Temp\\x.PFX', true],
    ['', '', true],
    ['', 'x', false],
    ['?', '\u{1F600}', true], // one code point, two UTF-16 units
    ['ÄBC*', 'äbc-x', true],
  ])('%j against %j is %s', (pattern, text, expected) => {
    expect(globMatch(pattern, text)).toBe(expected);
  });

  test('exposes literal prefix and suffix for indexing', () => {
    const glob = compileGlob('CN=Contoso*Signing?CA');
    expect(glob.hasWildcard).toBe(true);
    expect(glob.literalPrefix).toBe('cn=contoso');
    expect(glob.literalSuffix).toBe('ca');
    expect(compileGlob('*x*').literalPrefix).toBe('');
    expect(compileGlob('Exact').literalPrefix).toBe('exact');
  });

  test('isGlobPattern', () => {
    expect(isGlobPattern('a*')).toBe(true);
    expect(isGlobPattern('a?')).toBe(true);
    expect(isGlobPattern('abc')).toBe(false);
  });

  test('patterns longer than one 32-bit word carry across words', () => {
    const long = 'a'.repeat(40) + '*' + 'b'.repeat(40);
    expect(globMatch(long, 'a'.repeat(40) + 'zzz' + 'b'.repeat(40))).toBe(true);
    expect(globMatch(long, 'a'.repeat(40) + 'b'.repeat(39))).toBe(false);
    const questions = '?'.repeat(70) + 'x';
    expect(globMatch(questions, 'y'.repeat(70) + 'X')).toBe(true);
    expect(globMatch(questions, 'y'.repeat(69) + 'X')).toBe(false);
  });

  test('agrees with a reference regex on random short patterns and texts', () => {
    const patternChar = fc.constantFrom('a', 'b', 'A', '.', '*', '?', '\\');
    const textChar = fc.constantFrom('a', 'b', 'B', '.', '\\', '*');
    fc.assert(
      fc.property(
        fc.array(patternChar, { maxLength: 12 }).map((cs) => cs.join('')),
        fc.array(textChar, { maxLength: 16 }).map((cs) => cs.join('')),
        (pattern, text) => globMatch(pattern, text) === referenceMatch(pattern, text),
      ),
      { numRuns: 3000 },
    );
  });

  test('agrees with the reference on long patterns (multi-word bitsets)', () => {
    const segment = fc.array(fc.constantFrom('a', 'b', '?'), { minLength: 8, maxLength: 25 }).map((cs) => cs.join(''));
    const pattern = fc
      .tuple(fc.array(segment, { minLength: 2, maxLength: 4 }), fc.boolean(), fc.boolean())
      .map(([segments, lead, trail]) => `${lead ? '*' : ''}${segments.join('*')}${trail ? '*' : ''}`);
    const filler = fc.array(fc.constantFrom('a', 'b'), { maxLength: 6 }).map((cs) => cs.join(''));
    // Texts instantiated from the pattern (so matches are common), then maybe mutated.
    const caseArb = pattern.chain((p) =>
      fc
        .tuple(fc.array(fc.constantFrom('a', 'b'), { minLength: p.length, maxLength: p.length }), fc.array(filler, { minLength: p.length, maxLength: p.length }), fc.option(fc.nat()))
        .map(([chars, fills, mutateAt]) => {
          let text = '';
          [...p].forEach((ch, i) => {
            text += ch === '?' ? chars[i] : ch === '*' ? fills[i] : ch;
          });
          if (mutateAt !== null && text.length > 0) {
            const at = mutateAt % text.length;
            text = text.slice(0, at) + (text[at] === 'a' ? 'b' : 'a') + text.slice(at + 1);
          }
          return [p, text] as const;
        }),
    );
    fc.assert(
      fc.property(caseArb, ([p, text]) => globMatch(p, text) === referenceMatch(p, text)),
      { numRuns: 500 },
    );
  });

  test('a backtracking-hostile pattern on a long text completes', () => {
    const hostile = compileGlob('*a*a*a*a*a*a*a*b');
    const text = 'a'.repeat(10000);
    // No timing assertion: completing at all is the point (a backtracking regex would not).
    expect(hostile.test(text)).toBe(false);
    expect(hostile.test(text + 'b')).toBe(true);
    expect(compileGlob('*' + 'a*'.repeat(200) + 'b').test('a'.repeat(10000))).toBe(false);
  });
});

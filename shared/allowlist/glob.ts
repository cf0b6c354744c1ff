/**
 * Case-insensitive glob matching for allowlist conditions: `*` matches any run of characters
 * (including none), `?` exactly one character, everything else itself. There is no escape
 * syntax: a literal `*` or `?` can only be matched by `?` (Windows paths cannot hold either).
 *
 * Patterns come from people and texts from attacker-controlled command lines, so matching must
 * never backtrack exponentially (a regex like /^.*a.*a.*a.*b$/ does on 'aaaa…'). We simulate the
 * pattern's NFA bit-parallel ("shift-and" with a self-loop for `*`): the set of pattern positions
 * reachable after each text character is a bitset, updated with a few word operations.
 *
 * Complexity: compile O(m) for a pattern of m code points; the NFA runs in O(n · ⌈(m+1)/32⌉) for
 * a text of n code points, i.e. linear in the text for every pattern, one integer operation per
 * character for patterns up to 31 tokens (the longest allowed condition, 512 characters, costs
 * 17 words per character). Before it, cheap necessary checks reject most texts: literal prefix
 * and suffix, and each inner literal run by native substring search (bounded by O(n · m) in the
 * worst case, typically sublinear). Nothing is exponential and nothing backtracks.
 */

export interface CompiledGlob {
  /** The pattern as written. */
  readonly pattern: string;
  /** True when the pattern has `*` or `?`. */
  readonly hasWildcard: boolean;
  /** Lower-cased literal text before the first wildcard ('' when it starts with one). */
  readonly literalPrefix: string;
  /** Lower-cased literal text after the last wildcard ('' when it ends with one). */
  readonly literalSuffix: string;
  /**
   * Every maximal run of literal characters, lower-cased, in pattern order. Each must occur in
   * a matching text; the matcher indexes the longest and the tester uses them to reject early.
   */
  readonly literalSegments: readonly string[];
  test(text: string): boolean;
  /** As test(), for a text the caller already lower-cased (saves a copy per comparison). */
  testLowered(loweredText: string): boolean;
}

export function isGlobPattern(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

type Token = { kind: 'star' } | { kind: 'any' } | { kind: 'lit'; ch: string };

function tokenize(loweredPattern: string): Token[] {
  const tokens: Token[] = [];
  for (const ch of loweredPattern) {
    if (ch === '*') {
      // Consecutive stars are one star; collapsing them keeps the epsilon closure one step deep.
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (ch === '?') {
      tokens.push({ kind: 'any' });
    } else {
      tokens.push({ kind: 'lit', ch });
    }
  }
  return tokens;
}

/** Bitset operations over Uint32Array words; bit i is pattern position i. */
function setBit(words: Uint32Array, i: number): void {
  const w = i >>> 5;
  words[w] = (words[w] ?? 0) | (1 << (i & 31));
}

function compileNfa(tokens: Token[]): (loweredText: string) => boolean {
  const m = tokens.length;
  const width = ((m + 1 + 31) >>> 5) || 1;
  const starMask = new Uint32Array(width);
  const anyMask = new Uint32Array(width);
  const literalMasks = new Map<string, Uint32Array>();
  tokens.forEach((token, i) => {
    if (token.kind === 'star') setBit(starMask, i);
    else if (token.kind === 'any') setBit(anyMask, i);
    else {
      let mask = literalMasks.get(token.ch);
      if (!mask) {
        mask = new Uint32Array(width);
        literalMasks.set(token.ch, mask);
      }
      setBit(mask, i);
    }
  });
  const acceptWord = m >>> 5;
  const acceptBit = 1 << (m & 31);
  const zero = new Uint32Array(width);

  if (width === 1) {
    // The common case (≤ 31 tokens): the whole state set is one integer, no allocation.
    const star = starMask[0] ?? 0;
    const any = anyMask[0] ?? 0;
    const literal = new Map<string, number>();
    for (const [ch, mask] of literalMasks) literal.set(ch, mask[0] ?? 0);
    const close = (state: number): number => (state | ((state & star) << 1)) >>> 0;
    const start = close(1);
    return (text: string): boolean => {
      let state = start;
      for (const ch of text) {
        state = close((((state & ((literal.get(ch) ?? 0) | any)) << 1) | (state & star)) >>> 0);
        if (state === 0) return false;
      }
      return (state & acceptBit) !== 0;
    };
  }

  // Scratch buffers reused across calls: matching is synchronous and never re-entrant.
  let state = new Uint32Array(width);
  let next = new Uint32Array(width);
  return (text: string): boolean => {
    state.fill(0);
    state[0] = 1;
    closeOverStars(state, starMask, width);
    for (const ch of text) {
      const lit = literalMasks.get(ch) ?? zero;
      let carry = 0;
      let alive = 0;
      for (let w = 0; w < width; w++) {
        const s = state[w] ?? 0;
        const advance = s & ((lit[w] ?? 0) | (anyMask[w] ?? 0));
        // Consuming a character moves a matched position one to the right; a star stays put.
        const value = ((advance << 1) | carry | (s & (starMask[w] ?? 0))) >>> 0;
        carry = advance >>> 31;
        next[w] = value;
        alive |= value;
      }
      if (alive === 0) return false;
      closeOverStars(next, starMask, width);
      const swap = state;
      state = next;
      next = swap;
    }
    return ((state[acceptWord] ?? 0) & acceptBit) !== 0;
  };
}

/** A star may also match nothing: being at a star position means being just after it too. */
function closeOverStars(state: Uint32Array, starMask: Uint32Array, width: number): void {
  let carry = 0;
  for (let w = 0; w < width; w++) {
    const atStar = (state[w] ?? 0) & (starMask[w] ?? 0);
    const shifted = ((atStar << 1) | carry) >>> 0;
    carry = atStar >>> 31;
    state[w] = ((state[w] ?? 0) | shifted) >>> 0;
  }
}

export function compileGlob(pattern: string): CompiledGlob {
  const lowered = pattern.toLowerCase();
  const hasWildcard = isGlobPattern(lowered);
  if (!hasWildcard) {
    return {
      pattern,
      hasWildcard,
      literalPrefix: lowered,
      literalSuffix: lowered,
      literalSegments: [lowered],
      test: (text) => text.toLowerCase() === lowered,
      testLowered: (text) => text === lowered,
    };
  }
  const tokens = tokenize(lowered);
  const firstWild = tokens.findIndex((t) => t.kind !== 'lit');
  let lastWild = -1;
  tokens.forEach((t, i) => {
    if (t.kind !== 'lit') lastWild = i;
  });
  const literalText = (from: number, to: number): string =>
    tokens
      .slice(from, to)
      .map((t) => (t.kind === 'lit' ? t.ch : ''))
      .join('');
  const literalPrefix = literalText(0, firstWild);
  const literalSuffix = literalText(lastWild + 1, tokens.length);
  const literalSegments: string[] = [];
  let run = '';
  for (const t of tokens) {
    if (t.kind === 'lit') run += t.ch;
    else if (run) {
      literalSegments.push(run);
      run = '';
    }
  }
  if (run) literalSegments.push(run);
  // Inner segments for the early rejection; prefix and suffix are checked positionally.
  const inner = literalSegments.filter((seg, i) => !(i === 0 && literalPrefix) && !(i === literalSegments.length - 1 && literalSuffix));
  const nfa = compileNfa(tokens);
  const testLowered = (text: string): boolean =>
    // Cheap necessary conditions first (native string search); the NFA decides the rest.
    text.startsWith(literalPrefix) && text.endsWith(literalSuffix) && inner.every((seg) => text.includes(seg)) && nfa(text);
  return {
    pattern,
    hasWildcard,
    literalPrefix,
    literalSuffix,
    literalSegments,
    test: (text) => testLowered(text.toLowerCase()),
    testLowered,
  };
}

/** One-off convenience; compile once with compileGlob() when matching many texts. */
export function globMatch(pattern: string, text: string): boolean {
  return compileGlob(pattern).test(text);
}

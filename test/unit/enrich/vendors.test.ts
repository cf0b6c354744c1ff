/**
 * Vendor imitation under attacker-sized input: the subject is the attacker's text, so the work
 * spent on it must not grow with its length (issue #15 item 11: 30,000-character subjects cost
 * 135 ms a row). Work is measured as distance-matrix cells evaluated, a deterministic count, never
 * as time; `npm run bench` gives the timed figure (worst-case row ÷ typical row).
 */
import fc from 'fast-check';
import { boundedEditDistance, detectVendorImitation, editDistance, scanVendorImitation, WELL_KNOWN_VENDORS } from '../../../shared/enrich/vendors';

const TYPICAL = [
  'CN=Contoso Code Signing, O=Contoso Ltd, L=Redmond, S=Washington, C=US',
  'CN=Fabrikam Build Agent 07, OU=Release Engineering, O=Fabrikam Inc',
  'CN=localhost',
];

/** Words one or two edits away from vendor names, so no cheap filter rejects them. */
const NEAR_MISSES = ['Micr0softx', 'Adobex', 'Oraclex', 'Intelligent', 'Symantecx', 'TeamViewerx', 'Kasperskyy', 'Logitecx', 'Dropbx'];

/**
 * Distinct words that are not matches but stay close to a vendor name for as long as possible
 * (one edit beyond the tolerance, at the end), so the banded distance runs longest on each.
 */
export function adversarialWords(length: number): string {
  const stems = ['Microsozzz', 'Symanteqqq', 'TeamViewqqq', 'Kaspersqqq', 'Logitqqq', 'Realtqqq', 'Mozilqqq', 'Dropbqqq'];
  let text = 'CN=';
  for (let i = 0; text.length < length; i++) text += `${stems[i % stems.length]}${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + (Math.floor(i / 26) % 26))} `;
  return text.slice(0, length);
}

function crafted(length: number, seed = 0): string {
  let text = 'OU=';
  for (let i = seed; text.length < length; i++) text += `${NEAR_MISSES[i % NEAR_MISSES.length]}${i % 89} `;
  return text.slice(0, length);
}

describe('work is bounded whatever the subject', () => {
  const typicalCells = Math.max(...TYPICAL.map((s) => scanVendorImitation(s).cells));

  test('a typical subject is cheap', () => {
    expect(typicalCells).toBeGreaterThan(0);
    expect(typicalCells).toBeLessThan(2_000);
  });

  test.each([
    ['30,000 characters of near-miss words', crafted(30_000)],
    ['one 30,000-character word', `CN=${'m'.repeat(30_000)}`],
    ['30,000 characters of vendor-length junk', `CN=${Array.from({ length: 3_000 }, (_, i) => `q${String(i).padStart(7, 'z')}`).join(' ')}`],
    ['30,000 characters of distinct words one edit too far from vendor names', adversarialWords(30_000)],
    ['many name attributes', Array.from({ length: 2_000 }, (_, i) => `CN=${NEAR_MISSES[i % NEAR_MISSES.length]}${i}`).join(', ')],
  ])('%s: at most 10x a typical subject', (_name, subject) => {
    const { cells } = scanVendorImitation(subject);
    expect(cells).toBeLessThanOrEqual(10 * typicalCells);
  });

  test('a longer subject costs no more than one at the cap', () => {
    expect(scanVendorImitation(crafted(30_000)).cells).toBeLessThanOrEqual(scanVendorImitation(crafted(2_048)).cells);
  });
});

describe('what is examined in a long subject', () => {
  test('a vendor name inside the first characters is found however long the rest', () => {
    expect(detectVendorImitation(`CN=Micros0ft Windows, OU=${'x'.repeat(30_000)}`)).toMatchObject({ vendor: 'Microsoft' });
  });

  test('the common name and organisation are examined even behind padding', () => {
    expect(detectVendorImitation(`OU=${crafted(30_000)}, CN=Micros0ft Windows Publisher`)).toMatchObject({ vendor: 'Microsoft' });
    expect(detectVendorImitation(`/OU=${'pad '.repeat(5_000)}/O=Adobe Systems Incorporated`)).toMatchObject({ vendor: 'Adobe', kind: 'exact' });
  });

  test('verdicts do not change for ordinary subjects', () => {
    expect(detectVendorImitation('CN=Microsoft Windows')).toMatchObject({ vendor: 'Microsoft', kind: 'exact', distance: 0 });
    expect(detectVendorImitation('CN=Mircosoft Corporation')).toMatchObject({ vendor: 'Microsoft', kind: 'look-alike', distance: 1 });
    expect(detectVendorImitation('CN=Micro Soft')).toMatchObject({ vendor: 'Microsoft', matched: 'Micro Soft' });
    expect(detectVendorImitation('CN=GoogleInc')).toMatchObject({ vendor: 'Google' });
    expect(detectVendorImitation('CN=Intelligent Systems')).toBeNull();
    expect(detectVendorImitation('CN=Contoso Code Signing')).toBeNull();
  });
});

describe('boundedEditDistance', () => {
  test('agrees with the full distance up to the bound, and says "more" beyond it', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 14 }), fc.string({ maxLength: 14 }), fc.integer({ min: 0, max: 3 }), (a, b, max) => {
        const full = editDistance(a, b);
        const bounded = boundedEditDistance(a, b, max);
        if (full <= max) expect(bounded.distance).toBe(full);
        else expect(bounded.distance).toBe(max + 1);
      }),
      { numRuns: 2_000 },
    );
  });

  test('counts only the cells of the band, and none when the lengths alone rule a match out', () => {
    expect(boundedEditDistance('microsoft', 'x'.repeat(30_000), 2)).toEqual({ distance: 3, cells: 0 });
    expect(boundedEditDistance('microsoft', 'microsoft', 2).cells).toBeLessThanOrEqual(9 * 5);
    expect(WELL_KNOWN_VENDORS.length).toBeGreaterThan(10);
  });
});

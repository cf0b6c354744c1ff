/**
 * Vendor imitation: does a self-made certificate's subject use, or look like, the name of a
 * well-known software publisher ("Microsoft Windows", "Micros0ft Corporation", "Rnicrosoft")?
 * Nobody legitimately mints a self-signed certificate in a big vendor's name on an endpoint, so
 * this is a strong signal of masquerading. Comparison is on a canonical form (homoglyphs folded)
 * with a small edit distance that shrinks for short names, where one edit already makes a
 * different ordinary word ("intel"/"inter"). Pure.
 */

export interface VendorImitation {
  vendor: string;
  /** The word(s) of the subject that matched, as written. */
  matched: string;
  /** `exact`: the vendor's own name; `look-alike`: a near miss or homoglyph spelling. */
  kind: 'exact' | 'look-alike';
  /** Edit distance between the canonical forms. */
  distance: number;
}

export const WELL_KNOWN_VENDORS: readonly string[] = [
  'Microsoft',
  'Google',
  'Apple',
  'Adobe',
  'Oracle',
  'VMware',
  'Cisco',
  'Intel',
  'NVIDIA',
  'Mozilla',
  'Zoom',
  'Amazon',
  'Citrix',
  'Symantec',
  'Realtek',
  'JMicron',
  'Logitech',
  'Lenovo',
  'Dropbox',
  'TeamViewer',
  'AnyDesk',
  'Kaspersky',
];

/** Characters that read as a letter; mapped on both sides so "intel" and "1nte1" meet. */
const HOMOGLYPHS: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  l: 'i',
  '|': 'i',
  '!': 'i',
  '3': 'e',
  '4': 'a',
  '@': 'a',
  '5': 's',
  $: 's',
  '7': 't',
  '8': 'b',
  // Cyrillic and Greek letters that render like Latin ones.
  а: 'a',
  е: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  х: 'x',
  і: 'i',
  ѕ: 's',
  у: 'y',
  ο: 'o',
  α: 'a',
  ι: 'i',
};

/** Lower-cased, accents stripped, homoglyphs folded, `rn` -> `m` and `vv` -> `w`. */
export function canonicalise(text: string): string {
  const folded = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
  let out = '';
  for (const ch of folded) out += HOMOGLYPHS[ch] ?? ch;
  return out.replace(/rn/g, 'm').replace(/vv/g, 'w');
}

/** Optimal string alignment distance: insert, delete, substitute, swap adjacent (all cost 1). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Number.POSITIVE_INFINITY;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      const row = d[i];
      if (row) row[j] = best;
    }
  }
  return at(a.length, b.length);
}

/** Edits tolerated for a vendor name of this length. */
function tolerance(length: number): number {
  if (length <= 5) return 0;
  if (length <= 8) return 1;
  return 2;
}

interface Word {
  raw: string;
  canonical: string;
}

function words(subject: string): Word[] {
  // Split the raw text and canonicalise each word, so `$` or `@` inside a word fold to letters
  // while separators (spaces, commas, `=`) still split.
  return subject
    .split(/[\s,;=/\\()"'`.+_-]+/)
    .filter((w) => w !== '')
    .map((raw) => ({ raw, canonical: canonicalise(raw).replace(/[^a-z0-9]/g, '') }))
    .filter((w) => w.canonical !== '');
}

/** Attribute names of a distinguished name are not words of the name. */
const DN_KEYS = new Set(['cn', 'o', 'ou', 'i', 's', 'st', 'c', 'e', 'dc', 'street', 'emaiiaddress', 'sn', 'serialnumber']);

export function detectVendorImitation(subject: string): VendorImitation | null {
  const all = words(subject).filter((w) => !DN_KEYS.has(w.canonical));
  // Adjacent pairs catch split spellings ("Micro Soft").
  const candidates: Word[] = [...all];
  for (let i = 0; i + 1 < all.length; i++) {
    const a = all[i];
    const b = all[i + 1];
    if (a && b) candidates.push({ raw: `${a.raw} ${b.raw}`, canonical: a.canonical + b.canonical });
  }
  let best: VendorImitation | null = null;
  for (const vendor of WELL_KNOWN_VENDORS) {
    const target = canonicalise(vendor);
    const allowed = tolerance(target.length);
    for (const word of candidates) {
      let distance = editDistance(target, word.canonical);
      // Long names glued to a suffix ("MicrosoftUpdate", "GoogleInc"); short ones are not
      // checked this way, or "Intelligent" would read as Intel.
      if (distance > allowed && target.length >= 6 && word.canonical.length > target.length) {
        distance = editDistance(target, word.canonical.slice(0, target.length));
      }
      if (distance > allowed) continue;
      const exact = word.raw.toLowerCase() === vendor.toLowerCase();
      const found: VendorImitation = { vendor, matched: word.raw, kind: exact ? 'exact' : 'look-alike', distance };
      if (!best || found.distance < best.distance) best = found;
    }
  }
  return best;
}

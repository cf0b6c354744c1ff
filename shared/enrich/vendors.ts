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

/**
 * Optimal string alignment distance: insert, delete, substitute, swap adjacent (all cost 1).
 * Three rolling rows (the swap looks two rows back) instead of a full matrix.
 */
export function editDistance(a: string, b: string): number {
  const cols = b.length + 1;
  let twoBack = new Array<number>(cols).fill(0);
  let prev = Array.from({ length: cols }, (_, j) => j);
  let row = new Array<number>(cols).fill(0);
  for (let i = 1; i <= a.length; i++) {
    row[0] = i;
    const ai = a[i - 1];
    for (let j = 1; j < cols; j++) {
      const cost = ai === b[j - 1] ? 0 : 1;
      let best = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && ai === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (twoBack[j - 2] ?? 0) + 1);
      row[j] = best;
    }
    const spare = twoBack;
    twoBack = prev;
    prev = row;
    row = spare;
  }
  return prev[b.length] ?? 0;
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

/** Verdicts per subject: incidents of one signer ask about the same subject again and again. */
const verdicts = new Map<string, VendorImitation | null>();
const MAX_REMEMBERED_SUBJECTS = 10_000;

/** Vendor targets, canonicalised once. */
const VENDOR_TARGETS: readonly { vendor: string; target: string; lower: string }[] = WELL_KNOWN_VENDORS.map((vendor) => ({
  vendor,
  target: canonicalise(vendor),
  lower: vendor.toLowerCase(),
}));

export function detectVendorImitation(subject: string): VendorImitation | null {
  const known = verdicts.get(subject);
  if (known !== undefined) return known === null ? null : { ...known };
  const verdict = detect(subject);
  // Bounded: a flood of distinct subjects starts the memory over instead of growing it.
  if (verdicts.size >= MAX_REMEMBERED_SUBJECTS) verdicts.clear();
  verdicts.set(subject, verdict === null ? null : { ...verdict });
  return verdict;
}

function detect(subject: string): VendorImitation | null {
  const all = words(subject).filter((w) => !DN_KEYS.has(w.canonical));
  // Adjacent pairs catch split spellings ("Micro Soft").
  const candidates: Word[] = [...all];
  for (let i = 0; i + 1 < all.length; i++) {
    const a = all[i];
    const b = all[i + 1];
    if (a && b) candidates.push({ raw: `${a.raw} ${b.raw}`, canonical: a.canonical + b.canonical });
  }
  let best: VendorImitation | null = null;
  for (const { vendor, target, lower } of VENDOR_TARGETS) {
    const allowed = tolerance(target.length);
    for (const word of candidates) {
      let distance = editDistance(target, word.canonical);
      // Long names glued to a suffix ("MicrosoftUpdate", "GoogleInc"); short ones are not
      // checked this way, or "Intelligent" would read as Intel.
      if (distance > allowed && target.length >= 6 && word.canonical.length > target.length) {
        distance = editDistance(target, word.canonical.slice(0, target.length));
      }
      if (distance > allowed) continue;
      const exact = word.raw.toLowerCase() === lower;
      const found: VendorImitation = { vendor, matched: word.raw, kind: exact ? 'exact' : 'look-alike', distance };
      if (!best || found.distance < best.distance) best = found;
    }
  }
  return best;
}

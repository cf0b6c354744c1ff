/**
 * Vendor imitation: does a self-made certificate's subject use, or look like, the name of a
 * well-known software publisher ("Microsoft Windows", "Micros0ft Corporation", "Rnicrosoft")?
 * Nobody legitimately mints a self-signed certificate in a big vendor's name on an endpoint, so
 * this is a strong signal of masquerading. Comparison is on a canonical form (homoglyphs folded)
 * with a small edit distance that shrinks for short names, where one edit already makes a
 * different ordinary word ("intel"/"inter"). Pure.
 *
 * The subject is the attacker's text, so the work is bounded whatever its length (issue #15: a
 * full edit distance per word and vendor made 30,000-character subjects cost 135 ms a row): a
 * word is compared with a vendor only when their lengths allow a match, the distance is computed
 * in a band of width 2k+1 and stops as soon as k is exceeded, repeated words are compared once,
 * and only the head of the subject plus its name attributes (CN, O) are examined.
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

/** Scratch rows of boundedEditDistance, grown on demand: no allocation per comparison. */
let scratch = { twoBack: new Int32Array(64), prev: new Int32Array(64), row: new Int32Array(64) };

/**
 * The optimal string alignment distance between `a` and the first `bLength` characters of `b`
 * if it is at most `max`, else `max + 1`, and the number of matrix cells evaluated. A length
 * difference above `max` already rules a match out (no cells); otherwise only the diagonal band
 * |i - j| <= max is filled, and the scan stops at the first row whose every cell exceeds `max`.
 * Agrees with editDistance whenever that is at most `max`.
 */
export function boundedEditDistance(a: string, b: string, max: number, bLength: number = b.length): { distance: number; cells: number } {
  const before = cellsSpent;
  const distance = bandDistance(a, b, max, bLength);
  return { distance, cells: cellsSpent - before };
}

/** Cells evaluated by bandDistance since the module loaded (read as differences). */
let cellsSpent = 0;

function bandDistance(a: string, b: string, max: number, bLength: number): number {
  const over = max + 1;
  const lb = Math.min(bLength, b.length);
  if (Math.abs(a.length - lb) > max) return over;
  if (scratch.row.length < lb + 2) {
    const size = 2 * (lb + 2);
    scratch = { twoBack: new Int32Array(size), prev: new Int32Array(size), row: new Int32Array(size) };
  }
  let { twoBack, prev, row } = scratch;
  // Cells outside the band read as `over`, which is all the recurrence needs to know of them.
  for (let j = 0; j <= lb + 1; j++) prev[j] = j <= max ? j : over;
  for (let i = 1; i <= a.length; i++) {
    const from = Math.max(1, i - max);
    const to = Math.min(lb, i + max);
    row[from - 1] = from === 1 ? (i <= max ? i : over) : over;
    row[to + 1] = over;
    let rowMin = from === 1 ? (row[0] ?? over) : over;
    const ai = a.charCodeAt(i - 1);
    const aPrev = i > 1 ? a.charCodeAt(i - 2) : -1;
    cellsSpent += to - from + 1;
    for (let j = from; j <= to; j++) {
      const bj = b.charCodeAt(j - 1);
      const cost = ai === bj ? 0 : 1;
      let best = Math.min((prev[j] ?? over) + 1, (row[j - 1] ?? over) + 1, (prev[j - 1] ?? over) + cost);
      if (j > 1 && ai === b.charCodeAt(j - 2) && aPrev === bj) best = Math.min(best, (twoBack[j - 2] ?? over) + 1);
      if (best > over) best = over;
      row[j] = best;
      if (best < rowMin) rowMin = best;
    }
    if (rowMin > max) return over;
    const spare = twoBack;
    twoBack = prev;
    prev = row;
    row = spare;
  }
  return Math.min(prev[lb] ?? over, over);
}

/** The head of a subject that is always examined; X.509 names are far shorter in practice. */
export const MAX_SUBJECT_CHARS = 512;
/** Beyond the head, the values of name attributes (CN, O) are examined, up to this much text. */
const MAX_NAME_ATTRIBUTE_CHARS = 256;
/**
 * `CN=` / `O=` attribute values, in both spellings of a distinguished name (`CN=a, O=b` and
 * OpenSSL's `/CN=a/O=b`). Linear: one pass, no backtracking across the value.
 */
const NAME_ATTRIBUTE = /(?:^|[,;/+])\s*(?:CN|O)\s*=\s*("[^"]*"|[^,;/+]*)/gi;

/**
 * What is examined: the whole subject when it is short, otherwise its head and the values of its
 * name attributes, the part a signature prompt shows as the publisher, however much padding is
 * put before them.
 */
export function examinedText(subject: string): string {
  if (subject.length <= MAX_SUBJECT_CHARS) return subject;
  const parts = [subject.slice(0, MAX_SUBJECT_CHARS)];
  let budget = MAX_NAME_ATTRIBUTE_CHARS;
  for (const match of subject.slice(MAX_SUBJECT_CHARS).matchAll(NAME_ATTRIBUTE)) {
    const value = (match[1] ?? '').slice(0, budget);
    if (value.trim() === '') continue;
    parts.push(value);
    budget -= value.length;
    if (budget <= 0) break;
  }
  return parts.join(', ');
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
const VENDOR_TARGETS: readonly { vendor: string; target: string; lower: string; allowed: number }[] = WELL_KNOWN_VENDORS.map((vendor) => {
  const target = canonicalise(vendor);
  return { vendor, target, lower: vendor.toLowerCase(), allowed: tolerance(target.length) };
});

export function detectVendorImitation(subject: string): VendorImitation | null {
  const known = verdicts.get(subject);
  if (known !== undefined) return known === null ? null : { ...known };
  const verdict = scanVendorImitation(subject).imitation;
  // Bounded: a flood of distinct subjects starts the memory over instead of growing it.
  if (verdicts.size >= MAX_REMEMBERED_SUBJECTS) verdicts.clear();
  verdicts.set(subject, verdict === null ? null : { ...verdict });
  return verdict;
}

/** The verdict and the work it took (distance cells evaluated), uncached: the tests' measure. */
export function scanVendorImitation(subject: string): { imitation: VendorImitation | null; cells: number } {
  const all = words(examinedText(subject)).filter((w) => !DN_KEYS.has(w.canonical));
  // Adjacent pairs catch split spellings ("Micro Soft"). A canonical form is compared once,
  // so repeating a word costs nothing; the first spelling seen is the one reported.
  const candidates = new Map<string, string>();
  const add = (canonical: string, raw: string) => {
    if (!candidates.has(canonical)) candidates.set(canonical, raw);
  };
  all.forEach((word, i) => {
    add(word.canonical, word.raw);
    const next = all[i + 1];
    if (next) add(word.canonical + next.canonical, `${word.raw} ${next.raw}`);
  });
  const startCells = cellsSpent;
  let best: VendorImitation | null = null;
  for (const { vendor, target, lower, allowed } of VENDOR_TARGETS) {
    for (const [canonical, raw] of candidates) {
      let distance = bandDistance(target, canonical, allowed, canonical.length);
      // Long names glued to a suffix ("MicrosoftUpdate", "GoogleInc"); short ones are not
      // checked this way, or "Intelligent" would read as Intel.
      if (distance > allowed && target.length >= 6 && canonical.length > target.length) {
        distance = bandDistance(target, canonical, allowed, target.length);
      }
      if (distance > allowed) continue;
      const exact = raw.toLowerCase() === lower;
      const found: VendorImitation = { vendor, matched: raw, kind: exact ? 'exact' : 'look-alike', distance };
      if (!best || found.distance < best.distance) best = found;
      // Nothing beats distance 0 (a later match replaces the best only when strictly closer).
      if (best.distance === 0) return { imitation: best, cells: cellsSpent - startCells };
    }
  }
  return { imitation: best, cells: cellsSpent - startCells };
}

/**
 * The README is the front door and docs/ holds the depth: every relative link between them (and
 * from them into the code) must lead to a file that exists, or a reader lands on GitHub's 404.
 * Anchors are checked against the target's headings, as GitHub derives them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{L}\p{N} -]/gu, '')
    .replace(/ /g, '-');
}

function anchors(path: string): Set<string> {
  const text = readFileSync(path, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1] ?? '')));
}

function relativeLinks(page: string): Array<{ target: string; anchor: string | null }> {
  const text = readFileSync(join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
  const links: Array<{ target: string; anchor: string | null }> = [];
  for (const m of text.matchAll(/\]\(([^)\s]+)\)|<img src="([^"]+)"/g)) {
    const href = m[1] ?? m[2] ?? '';
    if (/^[a-z]+:/i.test(href) || href.startsWith('#')) continue;
    const [target = '', anchor] = href.split('#');
    links.push({ target, anchor: anchor ?? null });
  }
  return links;
}

test('anchors are derived as GitHub does', () => {
  expect(anchorOf('Many tenants')).toBe('many-tenants');
  expect(anchorOf('What it guarantees, and how that is tested')).toBe('what-it-guarantees-and-how-that-is-tested');
  expect(anchorOf('The `deliver` queue')).toBe('the-deliver-queue');
});

test('the links are found (the README has a link per docs page, the images, anchors)', () => {
  const links = relativeLinks('README.md');
  expect(links.length).toBeGreaterThan(pages.length);
  expect(links.some((l) => l.target.startsWith('docs/img/'))).toBe(true);
});

test.each(pages)('every relative link of %s leads to a file (and heading) that exists', (page) => {
  const broken: string[] = [];
  for (const { target, anchor } of relativeLinks(page)) {
    const path = resolve(dirname(join(ROOT, page)), target);
    if (!existsSync(path)) broken.push(`${target} (no such file)`);
    else if (anchor && path.endsWith('.md') && !anchors(path).has(anchor)) broken.push(`${target}#${anchor} (no such heading)`);
  }
  expect(broken).toEqual([]);
});

test('the README links every page of docs/', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const unlinked = pages.filter((p) => p.startsWith('docs/') && !readme.includes(`](${p})`));
  expect(unlinked).toEqual([]);
});

/**
 * Which files a deployment package holds: the project tree filtered by .funcignore with gitignore
 * semantics (the syntax `func azure functionapp publish` and azd both read). Supports what
 * .funcignore uses: comments, `!` negation, a trailing `/` (directories only), a leading or inner
 * `/` (anchored to the root), `*`, `?` and `**`. An ignored directory is not descended into, so,
 * as in git, nothing below it can be re-included.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface IgnoreRule {
  negate: boolean;
  dirOnly: boolean;
  anchored: boolean;
  regex: RegExp;
  source: string;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        // `**/` matches zero or more directories; a trailing `**` matches everything below.
        if (glob[i + 2] === '/') {
          out += '(?:.*/)?';
          i += 2;
        } else {
          out += '.*';
          i += 1;
        }
      } else {
        out += '[^/]*';
      }
    } else if (c === '?') {
      out += '[^/]';
    } else {
      out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return out;
}

export function parseIgnore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1);
    const dirOnly = line.endsWith('/');
    if (dirOnly) line = line.slice(0, -1);
    const anchored = line.includes('/');
    if (line.startsWith('/')) line = line.slice(1);
    rules.push({ negate, dirOnly, anchored, regex: new RegExp(`^${globToRegex(line)}$`), source: raw });
  }
  return rules;
}

/** Whether `relPath` (posix, relative to the root) is ignored; the last matching rule wins. */
export function isIgnored(rules: readonly IgnoreRule[], relPath: string, isDir: boolean): boolean {
  const base = relPath.slice(relPath.lastIndexOf('/') + 1);
  let ignored = false;
  for (const rule of rules) {
    if (rule.dirOnly && !isDir) continue;
    if (rule.regex.test(rule.anchored ? relPath : base)) ignored = !rule.negate;
  }
  return ignored;
}

/** Every file (posix path relative to `root`) the package would contain, sorted. */
export function packageFiles(root: string, ignoreText: string, options: { skipDirs?: readonly string[] } = {}): string[] {
  const rules = parseIgnore(ignoreText);
  const skip = new Set(options.skipDirs ?? []);
  const files: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const full = path.join(dir, entry.name);
      const isDir = entry.isDirectory();
      if (isIgnored(rules, relPath, isDir)) continue;
      if (isDir) {
        if (!skip.has(relPath)) walk(full, relPath);
      } else if (entry.isFile()) {
        files.push(relPath);
      }
    }
  };
  walk(root, '');
  return files.sort();
}

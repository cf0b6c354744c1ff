/**
 * Which program a command runs, from the name on the line or from the process image name and PE
 * original file name that telemetry reports (which survive a renamed binary).
 */
import type { Tool } from '../model/finding';
import { optionName } from './options';
import { baseName, extensionOf } from './scan';

/** The certificate tools, and the shells whose command lines carry other commands. */
export type Program = Exclude<Tool, 'other'> | 'cmd' | 'sh';

const PROGRAMS: ReadonlyMap<string, Program> = new Map<string, Program>([
  ['makecert', 'makecert'],
  ['pvk2pfx', 'pvk2pfx'],
  ['openssl', 'openssl'],
  ['certutil', 'certutil'],
  ['signtool', 'signtool'],
  ['powershell', 'powershell'],
  ['powershell_ise', 'powershell'],
  ['pwsh', 'powershell'],
  ['cmd', 'cmd'],
  ['bash', 'sh'],
  ['sh', 'sh'],
  ['zsh', 'sh'],
  ['dash', 'sh'],
]);

/** `C:\...\SignTool.exe` → signtool; `pwsh.dll` (pwsh's original file name) → powershell. */
export function programNamed(name: string | null | undefined): Program | null {
  if (typeof name !== 'string') return null;
  const base = baseName(name.trim()).toLowerCase();
  const stem = /\.(exe|com|dll)$/.test(base) ? base.slice(0, -4) : base;
  return PROGRAMS.get(stem) ?? null;
}

export interface ImageHint {
  fileName?: string | null;
  originalFileName?: string | null;
}

export interface Launch {
  /** The program, or null when it is not one the parser knows. */
  program: Program | null;
  /** Index of the first argument: 0 when the line does not name the executable. */
  argsFrom: number;
}

const sameImage = (a: string, b: string): boolean => {
  const strip = (name: string): string => baseName(name.trim()).toLowerCase().replace(/\.exe$/, '');
  return strip(a) === strip(b);
};

/** A word that names an executable rather than an argument: `x.exe`, `C:\tools\x`. */
export function looksLikeExecutable(text: string): boolean {
  if (optionName(text, true) !== null) return false;
  const extension = extensionOf(text);
  return extension === 'exe' || extension === 'com' || (extension === '' && (text.includes('\\') || text.includes('/')));
}

/**
 * The program a command runs. The image's original file name wins when the first word is the
 * image itself (a renamed makecert.exe still is makecert); a known name on the line comes next;
 * otherwise the telemetry image is the program and the line may start directly with its
 * arguments (telemetry sometimes omits the executable).
 */
export function resolveLaunch(first: string, hint: ImageHint | null): Launch {
  const named = programNamed(first);
  const image = programNamed(hint?.originalFileName) ?? programNamed(hint?.fileName);
  const fileName = hint?.fileName;
  if (typeof fileName === 'string' && fileName.trim() !== '' && sameImage(first, fileName)) return { program: image ?? named, argsFrom: 1 };
  if (named !== null) return { program: named, argsFrom: 1 };
  if (image !== null) return { program: image, argsFrom: looksLikeExecutable(first) ? 1 : 0 };
  return { program: null, argsFrom: 1 };
}

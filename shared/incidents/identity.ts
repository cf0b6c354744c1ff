/**
 * Signer and device identity of a finding, normalised once so grouping (exact keys) and chain
 * linking (looser comparison across tools) agree on what "the same certificate" and "the same
 * device" mean. Pure.
 */
import type { Finding } from '../model/finding';

const RUNS_OF_SPACE = /\s{2,}|[^\S ]/;

/** Collapses whitespace and lower-cases: the form used inside grouping keys. */
export function normaliseText(value: string): string {
  const lower = value.trim().toLowerCase();
  // Most values have no run of whitespace: skip the rewrite (this runs per finding, per file).
  return RUNS_OF_SPACE.test(lower) ? lower.replace(/\s+/g, ' ') : lower;
}

function isQuote(c: string | undefined): boolean {
  return c === '"' || c === "'";
}

/** The last path segment, as written (both separators, since lines mix Windows and POSIX). */
export function baseName(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && (path[start] === ' ' || isQuote(path[start]))) start++;
  while (end > start && (path[end - 1] === ' ' || isQuote(path[end - 1]))) end--;
  const cut = Math.max(path.lastIndexOf('\\', end - 1), path.lastIndexOf('/', end - 1));
  return path.slice(Math.max(start, cut + 1), end).trim();
}

/** DeviceId when Defender gave one (stable across renames), else the name lower-cased. */
export function deviceKey(device: Finding['device']): string {
  const id = device.id?.trim();
  if (id) return `id:${id.toLowerCase()}`;
  return `name:${normaliseText(device.name)}`;
}

export function thumbprintKey(thumbprint: string): string {
  return thumbprint.replace(/[\s:]/g, '').toLowerCase();
}

/**
 * The common name of a subject, lower-cased, for comparisons across tools: makecert writes
 * `CN=Contoso, O=...`, openssl `/CN=Contoso/O=...`, New-SelfSignedCertificate may omit `CN=`, and
 * `signtool /n` takes a substring of the subject name.
 */
const commonNames = new Map<string, string>();
const MAX_REMEMBERED_NAMES = 4096;

export function subjectCommonName(subject: string): string {
  const known = commonNames.get(subject);
  if (known !== undefined) return known;
  const name = readCommonName(subject);
  // Subjects repeat across the steps of a story and across stories: remember a bounded set.
  if (commonNames.size >= MAX_REMEMBERED_NAMES) commonNames.clear();
  commonNames.set(subject, name);
  return name;
}

function readCommonName(subject: string): string {
  const cleaned = subject.trim().replace(/^["'“”]+|["'“”]+$/g, '');
  const cn = /(?:^|[,/;+]\s*)CN\s*=\s*("[^"]*"|[^,/;+]*)/i.exec(cleaned);
  const value = cn?.[1] !== undefined ? cn[1] : cleaned;
  return normaliseText(value.replace(/^"|"$/g, ''));
}

/** Lower-cased base names of every certificate or key file named on the line. */
export function certificateFileNames(finding: Finding): string[] {
  return finding.certificate.files
    .map((f) => normaliseText(baseName(f)))
    .filter((f) => f !== '');
}

/** The actor of a finding: `domain\name`, lower-cased; `?` when Defender named no account. */
export function actorKey(account: Finding['account']): string {
  const name = account.name?.trim().toLowerCase();
  if (!name) return '?';
  const domain = account.domain?.trim().toLowerCase();
  return domain ? `${domain}\\${name}` : name;
}

/** A script file named on a parent's command line (`sign.bat`, `build.ps1`, `release.sh`). */
const SCRIPT_PATTERN = /([^\\/"'\s]+\.(?:bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|hta|sh|py))(?=["'\s]|$)/gi;

const scriptsByLine = new Map<string, string[]>();
const MAX_REMEMBERED_LINES = 4096;

/** Lower-cased base names of the scripts on a command line (at most a few). */
export function scriptNames(commandLine: string | null): string[] {
  if (!commandLine) return [];
  // Steps of one parent share its command line: read each line once (bounded memory).
  const known = scriptsByLine.get(commandLine);
  if (known) return known;
  const names = readScriptNames(commandLine);
  if (scriptsByLine.size >= MAX_REMEMBERED_LINES) scriptsByLine.clear();
  scriptsByLine.set(commandLine, names);
  return names;
}

function readScriptNames(commandLine: string): string[] {
  const out = new Set<string>();
  for (const match of commandLine.slice(0, 2048).matchAll(SCRIPT_PATTERN)) {
    if (match[1]) out.add(match[1].toLowerCase());
    if (out.size >= 4) break;
  }
  return [...out];
}

/**
 * What a step shares with the other steps of its story: the certificate and key files and the
 * files it signs (`file:`), the thumbprint (`thumbprint:`), the subject's common name
 * (`subject:`), the parent process instance (`parent:` pid + image; the device and actor are
 * already the same) and the script that started it (`script:`). Values come from the telemetry,
 * so an attacker can choose them: they only ever join steps of one actor on one device.
 */
export function materialKeys(finding: Finding): string[] {
  const keys = new Set<string>();
  const addFile = (file: string): void => {
    const name = normaliseText(baseName(file));
    if (name !== '') keys.add(`file:${name}`);
  };
  for (const file of finding.certificate.files) addFile(file);
  for (const file of finding.signedFiles) addFile(file);
  const { thumbprint, subject } = finding.certificate;
  if (thumbprint?.trim()) keys.add(`thumbprint:${thumbprintKey(thumbprint)}`);
  if (subject?.trim()) {
    const cn = subjectCommonName(subject);
    if (cn !== '') keys.add(`subject:${cn}`);
  }
  const { processId, fileName, commandLine } = finding.parent;
  if (processId !== null && fileName) keys.add(`parent:${processId}|${baseName(fileName).toLowerCase()}`);
  for (const script of scriptNames(commandLine)) keys.add(`script:${script}`);
  return [...keys];
}

/**
 * Signer and device identity of a finding, normalised once so grouping (exact keys) and chain
 * linking (looser comparison across tools) agree on what "the same certificate" and "the same
 * device" mean. Pure.
 */
import type { Finding } from '../model/finding';

/** Collapses whitespace and lower-cases: the form used inside grouping keys. */
export function normaliseText(value: string): string {
  return value.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** The last path segment, as written (both separators, since lines mix Windows and POSIX). */
export function baseName(path: string): string {
  const trimmed = path.trim().replace(/^["']+|["']+$/g, '');
  const parts = trimmed.split(/[\\/]/);
  return parts[parts.length - 1] ?? trimmed;
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
 * Grouping identity: subject, else thumbprint, else the first certificate file name; null when the
 * line names none of them (the caller then groups by tool).
 */
export function signerKey(finding: Finding): string | null {
  const { subject, thumbprint, files } = finding.certificate;
  if (subject?.trim()) return `subject:${normaliseText(subject)}`;
  if (thumbprint?.trim()) return `thumbprint:${thumbprintKey(thumbprint)}`;
  const file = files.find((f) => f.trim() !== '');
  if (file) return `file:${normaliseText(baseName(file))}`;
  return null;
}

/**
 * The common name of a subject, lower-cased, for comparisons across tools: makecert writes
 * `CN=Contoso, O=...`, openssl `/CN=Contoso/O=...`, New-SelfSignedCertificate may omit `CN=`, and
 * `signtool /n` takes a substring of the subject name.
 */
export function subjectCommonName(subject: string): string {
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

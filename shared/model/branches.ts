/**
 * Reading a detection branch written by someone else: our own names in any letter case, and the
 * lowercase ids this project used before it took the published names (an allowlist file, a saved
 * `explain` input, an old export). One place, so the allowlist, the normaliser and the CLI agree.
 */
import { BRANCHES, type Branch, type Tool } from './finding';

/**
 * Earlier ids and the branches they now stand for. `makecert-pvk2pfx` was one branch for both
 * SDK tools; the published query splits it, so that alias stands for two branches.
 */
export const LEGACY_BRANCH_IDS: Readonly<Record<string, readonly Branch[]>> = {
  'makecert-pvk2pfx': ['MakeCert-NativeSDK', 'Pvk2Pfx-KeyConversion'],
  powershell: ['PowerShell-CertCmdlet'],
  openssl: ['OpenSSL-CertCreation'],
  certutil: ['CertUtil-StoreImport'],
  signtool: ['SignTool-ExecutableSigning'],
  'cert-file': ['File-CertKeyWrite'],
  'trust-store': ['Registry-TrustStoreWrite'],
  'signed-binary': ['Binary-SelfSignedExecution'],
};

const BY_LOWER = new Map<string, Branch>(BRANCHES.map((b) => [b.toLowerCase(), b]));

/** The branch a tool's row belongs to when the row does not say. */
export const TOOL_BRANCH: Readonly<Record<Tool, Branch>> = {
  makecert: 'MakeCert-NativeSDK',
  pvk2pfx: 'Pvk2Pfx-KeyConversion',
  powershell: 'PowerShell-CertCmdlet',
  openssl: 'OpenSSL-CertCreation',
  certutil: 'CertUtil-StoreImport',
  signtool: 'SignTool-ExecutableSigning',
  other: 'Other',
};

/** Every branch a written name stands for, case-insensitively; empty when it names none. */
export function branchesNamedBy(text: string): readonly Branch[] {
  const lower = text.trim().toLowerCase();
  const own = BY_LOWER.get(lower);
  if (own) return [own];
  return LEGACY_BRANCH_IDS[lower] ?? [];
}

/**
 * The one branch a row's DetectionBranch names, or null. A legacy id that stands for two
 * branches is settled by the row's tool (pvk2pfx → Pvk2Pfx-KeyConversion).
 */
export function resolveBranch(text: string, tool: Tool): Branch | null {
  const named = branchesNamedBy(text);
  if (named.length <= 1) return named[0] ?? null;
  return named.find((b) => b === TOOL_BRANCH[tool]) ?? named[0] ?? null;
}

/** The lowercase legacy id of a branch (what older allowlist conditions were written against). */
export function legacyBranchId(branch: Branch): string | null {
  for (const [id, branches] of Object.entries(LEGACY_BRANCH_IDS)) if (branches.includes(branch)) return id;
  return null;
}

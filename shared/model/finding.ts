/**
 * The Finding: one hunting result row, validated and enriched with the certificate facts read
 * from its command line. This is the versioned contract the CLI (`explain`), the webhook payload
 * and every later stage (allowlist, incidents, delivery) build on.
 */

/** 1.1: parent.parentFileName and inputIssues (issues 12.4 and 15.7). */
export const FINDING_SCHEMA_VERSION = '1.1';

export const TOOLS = ['makecert', 'pvk2pfx', 'powershell', 'openssl', 'certutil', 'signtool', 'other'] as const;
export type Tool = (typeof TOOLS)[number];

export const CERT_ACTIONS = [
  'create-cert',
  'convert-key',
  'export-pfx',
  'import-store',
  'sign',
  'verify',
  'other',
] as const;
export type CertAction = (typeof CERT_ACTIONS)[number];

/**
 * The detection branch of the query that produced the row. The six process branches of rule
 * t1587-002 carry the published detection's names, word for word (its users' workbooks, analytics
 * and exported results are keyed on them); the companion rules name theirs in the same style;
 * `Other` is the catch-all for a row with no branch.
 */
export const BRANCHES = [
  'MakeCert-NativeSDK',
  'Pvk2Pfx-KeyConversion',
  'PowerShell-CertCmdlet',
  'OpenSSL-CertCreation',
  'CertUtil-StoreImport',
  'SignTool-ExecutableSigning',
  'File-CertKeyWrite',
  'Registry-TrustStoreWrite',
  'Binary-SelfSignedExecution',
  'Other',
] as const;
export type Branch = (typeof BRANCHES)[number];

/**
 * Something odd about a column's text that the normaliser kept rather than drop the row (text from
 * telemetry is the attacker's): control characters shown as visible symbols, a value cut to the
 * column's limit, or a value that does not fit (the parser's fact is used instead).
 */
export const INPUT_ISSUES = ['control-characters', 'too-long', 'invalid-value'] as const;
export interface InputIssue {
  column: string;
  issue: (typeof INPUT_ISSUES)[number];
  /** What was done, for the triager (never the full odd value). */
  detail: string;
}

export const SEVERITIES = ['informational', 'low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What the command line says about the certificate. Values are as written on the line. */
export interface CertificateFacts {
  tool: Tool;
  action: CertAction;
  certificate: {
    subject: string | null;
    thumbprint: string | null;
    /** Certificate and key files named on the line (.cer, .pvk, .pfx, .pem, .key, ...). */
    files: string[];
    store: string | null;
    codeSigningEku: boolean;
  };
  /** What a signing command signs; the first of `signedFiles`, or null. */
  signedFile: string | null;
  signedFiles: string[];
  /**
   * The decoded script when the line carried `-EncodedCommand`: the query's DecodedCommand column
   * (what its PowerShell terms matched in) when the row has one, else the parser's decoding.
   */
  decodedCommand: string | null;
}

export interface Finding extends CertificateFacts {
  schemaVersion: typeof FINDING_SCHEMA_VERSION;
  /** Stable id: DeviceId + ReportId + Timestamp, else a hash of the row. */
  id: string;
  ruleId: string;
  /** Event time (ISO 8601). */
  timestamp: string;
  commandLine: string;
  branch: Branch;
  device: { id: string | null; name: string };
  account: { name: string | null; domain: string | null };
  process: {
    fileName: string | null;
    originalFileName: string | null;
    folderPath: string | null;
    sha256: string | null;
    processId: number | null;
  };
  /**
   * The process that started the tool. `parentFileName` is the parent's own parent when the query
   * projects it (InitiatingProcessParentFileName: what IsSuspiciousParent looks at through a shell).
   */
  parent: { fileName: string | null; commandLine: string | null; processId: number | null; parentFileName: string | null };
  reportId: number | null;
  /** The seed query's flags. */
  flags: { suspiciousParent: boolean; tempLocation: boolean };
  severity: Severity;
  /** Columns whose text was marked, cut or left out instead of rejecting the row; empty when none. */
  inputIssues: InputIssue[];
  /** Id of the allowlist entry that suppressed this finding, or null. */
  suppressedBy: string | null;
  /** The result row as Defender returned it. */
  raw: Record<string, unknown>;
}

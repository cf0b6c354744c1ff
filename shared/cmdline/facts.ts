/**
 * Facts about one command (one statement of a line) and how the facts of a line's commands are
 * combined into the line's {@link CertificateFacts}.
 */
import type { CertAction, CertificateFacts, Tool } from '../model/finding';

export interface CommandFacts {
  tool: Tool;
  action: CertAction;
  subject: string | null;
  thumbprint: string | null;
  store: string | null;
  files: string[];
  signedFiles: string[];
  codeSigningEku: boolean;
}

export function commandFacts(tool: Tool, action: CertAction = 'other'): CommandFacts {
  return { tool, action, subject: null, thumbprint: null, store: null, files: [], signedFiles: [], codeSigningEku: false };
}

/**
 * How far along the attack a command is: make a certificate, package its key, plant trust in a
 * store, sign a payload. A line that does several things is labelled with its furthest stage
 * (`New-SelfSignedCertificate ...; Export-PfxCertificate ...` is an export), matching the corpus,
 * where a pipeline that looks a certificate up and exports it is `export-pfx` and a signature
 * made with a certificate found by `Get-ChildItem` is `sign`.
 */
const STAGE: Readonly<Record<CertAction, number>> = {
  other: 0,
  verify: 1,
  'create-cert': 2,
  'convert-key': 3,
  'export-pfx': 4,
  'import-store': 5,
  sign: 6,
};

/** Among equal stages the named certificate tool says more than the shell that ran it. */
const specificity = (tool: Tool): number => (tool === 'other' ? 0 : tool === 'powershell' ? 1 : 2);


/**
 * Combines a line's commands. The decisive command (furthest stage, then most specific tool, then
 * first) gives the tool and action and is preferred for subject, store and thumbprint; the other
 * commands fill what it leaves empty, in order. Files and signed files are united; the EKU flag is
 * set when any command refers to code signing.
 */
export function mergeFacts(commands: readonly CommandFacts[]): Omit<CertificateFacts, 'decodedCommand'> {
  let decisive: CommandFacts | null = null;
  for (const command of commands) {
    if (
      decisive === null ||
      STAGE[command.action] > STAGE[decisive.action] ||
      (STAGE[command.action] === STAGE[decisive.action] && specificity(command.tool) > specificity(decisive.tool))
    ) {
      decisive = command;
    }
  }
  const ordered = decisive === null ? [] : [decisive, ...commands.filter((c) => c !== decisive)];
  const first = (pick: (c: CommandFacts) => string | null): string | null => {
    for (const command of ordered) {
      const value = pick(command);
      if (value !== null) return value;
    }
    return null;
  };
  // Sets keep first-seen order and stay linear on lines naming thousands of files.
  const files = new Set<string>();
  const signedFiles = new Set<string>();
  for (const command of commands) {
    for (const file of command.files) files.add(file);
    for (const file of command.signedFiles) signedFiles.add(file);
  }
  const signed = [...signedFiles];
  return {
    tool: decisive?.tool ?? 'other',
    action: decisive?.action ?? 'other',
    certificate: {
      subject: first((c) => c.subject),
      thumbprint: first((c) => c.thumbprint),
      files: [...files],
      store: first((c) => c.store),
      codeSigningEku: commands.some((c) => c.codeSigningEku),
    },
    signedFile: signed[0] ?? null,
    signedFiles: signed,
  };
}

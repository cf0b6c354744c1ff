/**
 * Facts about a finding that scoring and false-positive hints read: user-writable locations, CI
 * agents as parents, developer-proxy certificate subjects, trust-store imports. Kept apart from the
 * scoring arithmetic so each fact is testable on its own and reused by the hints. Pure.
 */
import type { Finding } from '../model/finding';
import { baseName, subjectCommonName } from '../incidents/identity';
import { trustStoreOf } from '../incidents/chains';

/**
 * Temporary and user-writable locations: tooling run or written there is not part of an installed
 * SDK, so it is more likely dropped by an attacker. Matched on a `\`-normalised, lower-cased path.
 */
const USER_WRITABLE_PATTERNS: readonly RegExp[] = [
  /\\(?:windows\\)?te?mp\\/,
  /\\appdata\\(?:local|roaming|locallow)\\/,
  /\\users\\public\\/,
  /\\downloads\\/,
  /\\desktop\\/,
  /\\programdata\\/,
  /\\\$recycle\.bin\\/,
  /\\perflogs\\/,
  /%(?:temp|tmp|appdata|localappdata|public)%/,
  /\$env:(?:temp|tmp|appdata|localappdata|public)/,
  /^\\tmp\\|^\\var\\tmp\\|^\\dev\\shm\\/,
];

export function isUserWritablePath(path: string): boolean {
  const normalised = path.trim().replace(/^["']+|["']+$/g, '').replace(/\//g, '\\').toLowerCase();
  return USER_WRITABLE_PATTERNS.some((pattern) => pattern.test(normalised));
}

/** Every path a finding names: the process image, certificate and key files, signed files. */
export function pathsOf(finding: Finding): string[] {
  const paths = [...finding.certificate.files, ...finding.signedFiles];
  if (finding.process.folderPath) paths.unshift(finding.process.folderPath);
  return paths.filter((p) => p.trim() !== '');
}

/** The first user-writable path of the finding, or null. */
export function userWritablePath(finding: Finding): string | null {
  return pathsOf(finding).find(isUserWritablePath) ?? null;
}

/** Build agents that legitimately create test certificates and sign build output. */
const CI_AGENT_PARENTS = new Set([
  'runner.worker.exe', // GitHub Actions
  'agent.worker.exe', // Azure Pipelines
  'gitlab-runner.exe',
  'buildkite-agent.exe',
  'tcbuildagent.exe', // TeamCity
]);

/** java.exe is only a CI agent when it is the Jenkins agent (or runs a job in its workspace). */
const JENKINS_MARKERS = /jenkins|\bagent\.jar\b|\bremoting\.jar\b|\bslave\.jar\b/i;

/** The CI system the finding's parent belongs to, or null. */
export function ciAgentOf(finding: Finding): string | null {
  const parent = finding.parent.fileName ? baseName(finding.parent.fileName).toLowerCase() : null;
  if (!parent) return null;
  if (CI_AGENT_PARENTS.has(parent)) return finding.parent.fileName;
  if (parent === 'java.exe' || parent === 'javaw.exe') {
    const context = [finding.parent.commandLine, finding.process.folderPath, finding.commandLine].filter(
      (v): v is string => v !== null,
    );
    if (context.some((v) => JENKINS_MARKERS.test(v))) return `${finding.parent.fileName} (Jenkins)`;
  }
  return null;
}

/**
 * Root certificates that developer HTTPS proxies and local dev servers mint on the developer's own
 * machine (Fiddler, mitmproxy, Charles, Burp, ASP.NET Core and IIS Express dev certificates).
 */
const DEV_PROXY_SUBJECTS: readonly RegExp[] = [
  /^do_not_trust_fiddlerroot/,
  /^do_not_trust$/,
  /^mitmproxy$/,
  /^charles proxy/,
  /^portswigger ca$/,
  /^asp\.net core https development certificate$/,
  /^iis express development certificate$/,
  /^localhost$/,
];

export function isDevProxySubject(subject: string): boolean {
  const cn = subjectCommonName(subject);
  return DEV_PROXY_SUBJECTS.some((pattern) => pattern.test(cn));
}

/** `root` for Root and AuthRoot imports, `publisher` for TrustedPublisher, else null. */
export function trustImportOf(finding: Finding): 'root' | 'publisher' | null {
  if (finding.action !== 'import-store') return null;
  const store = trustStoreOf(finding.certificate.store);
  if (store === 'root' || store === 'authroot') return 'root';
  if (store === 'trustedpublisher') return 'publisher';
  return null;
}

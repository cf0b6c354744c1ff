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

/** One pass over a path instead of one per pattern. */
const USER_WRITABLE = new RegExp(USER_WRITABLE_PATTERNS.map((p) => p.source).join('|'));

/**
 * Verdicts per path as written: the same tool folders and files recur in every step of a story
 * and across stories. Bounded; cleared when full.
 */
const writableVerdicts = new Map<string, boolean>();
const MAX_REMEMBERED_PATHS = 8192;

export function isUserWritablePath(path: string): boolean {
  const known = writableVerdicts.get(path);
  if (known !== undefined) return known;
  const normalised = path.trim().replace(/^["']+|["']+$/g, '').replace(/\//g, '\\').toLowerCase();
  const verdict = USER_WRITABLE.test(normalised);
  if (writableVerdicts.size >= MAX_REMEMBERED_PATHS) writableVerdicts.clear();
  writableVerdicts.set(path, verdict);
  return verdict;
}

/** Every path a finding names: the process image, certificate and key files, signed files. */
export function pathsOf(finding: Finding): string[] {
  const paths: string[] = [];
  const add = (p: string | null): void => {
    if (p && p.trim() !== '') paths.push(p);
  };
  add(finding.process.folderPath);
  for (const f of finding.certificate.files) add(f);
  for (const f of finding.signedFiles) add(f);
  return paths;
}

/** The first user-writable path of the finding, or null. */
export function userWritablePath(finding: Finding): string | null {
  const { folderPath } = finding.process;
  if (folderPath && folderPath.trim() !== '' && isUserWritablePath(folderPath)) return folderPath;
  for (const f of finding.certificate.files) if (f.trim() !== '' && isUserWritablePath(f)) return f;
  for (const f of finding.signedFiles) if (f.trim() !== '' && isUserWritablePath(f)) return f;
  return null;
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

/** Lower-cased base names of parent images, per image as written (few distinct values). */
const parentNames = new Map<string, string>();

function parentBaseName(fileName: string): string {
  let name = parentNames.get(fileName);
  if (name === undefined) {
    name = baseName(fileName).toLowerCase();
    if (parentNames.size >= MAX_REMEMBERED_PATHS) parentNames.clear();
    parentNames.set(fileName, name);
  }
  return name;
}

/** The CI system the finding's parent belongs to, or null. */
export function ciAgentOf(finding: Finding): string | null {
  const parent = finding.parent.fileName ? parentBaseName(finding.parent.fileName) : null;
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

/**
 * Synthetic Defender telemetry for the benchmarks: a runHuntingQuery answer of N realistic rows
 * with exactly the projected columns (and order) of the demo sample, command lines drawn from the
 * labelled corpus (test/fixtures/cert-cmdlines.jsonl), spread over many devices, accounts,
 * subjects, thumbprints and timestamps inside one hunt window. Deterministic for a seed.
 *
 * Realism choices: activity is skewed (build agents sign all day, most workstations rarely
 * touch certificates); each device repeats a small profile of command lines, with its own team
 * subject and thumbprint rewritten into the lines; build agents get full paths under an `out`
 * folder; a few rows have a suspicious parent or a temp location, as in the sample.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AllowlistConditions, AllowlistEntry, AllowlistScope } from '../shared/allowlist/entry';
import type { HuntingSchemaColumn } from '../shared/hunting/types';
import { projectRoot } from './common';

export type Row = Record<string, unknown>;

export interface SyntheticResponse {
  '@odata.context': string;
  schema: HuntingSchemaColumn[];
  results: Row[];
}

interface CorpusLine {
  tool: string;
  commandLine: string;
  action: string;
}

interface Sample {
  schema: HuntingSchemaColumn[];
  results: Row[];
}

/** Small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, list: readonly T[]): T {
  const value = list[Math.floor(random() * list.length)];
  if (value === undefined) throw new Error('pick from an empty list');
  return value;
}

function hex(text: string, length: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

let corpusCache: CorpusLine[] | undefined;
let sampleCache: Sample | undefined;

export function loadCorpus(): CorpusLine[] {
  corpusCache ??= readFileSync(join(projectRoot(), 'test', 'fixtures', 'cert-cmdlines.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as CorpusLine);
  return corpusCache;
}

export function loadSample(): Sample {
  sampleCache ??= JSON.parse(readFileSync(join(projectRoot(), 'shared', 'demo', 'sample-hunting-results.json'), 'utf8')) as Sample;
  return sampleCache;
}

/** Image columns per tool, taken from the demo sample (the first row of each tool's binary). */
interface ImageColumns {
  FileName: string;
  FolderPath: string;
  SHA256: string;
  ProcessVersionInfoOriginalFileName: string;
  DetectionBranch: string;
}

const TOOL_IMAGE: Record<string, { file: string; branch: string }> = {
  certutil: { file: 'certutil.exe', branch: 'CertUtil-StoreImport' },
  makecert: { file: 'makecert.exe', branch: 'MakeCert-NativeSDK' },
  pvk2pfx: { file: 'pvk2pfx.exe', branch: 'MakeCert-NativeSDK' },
  openssl: { file: 'openssl.exe', branch: 'OpenSSL-CertCreation' },
  powershell: { file: 'powershell.exe', branch: 'PowerShell-CertCmdlet' },
  signtool: { file: 'signtool.exe', branch: 'SignTool-ExecutableSigning' },
};

function imageColumns(sample: Sample): Map<string, ImageColumns> {
  const out = new Map<string, ImageColumns>();
  for (const [tool, { file, branch }] of Object.entries(TOOL_IMAGE)) {
    const row = sample.results.find((r) => r.FileName === file && r.ProcessVersionInfoOriginalFileName === file);
    out.set(tool, {
      FileName: file,
      FolderPath: typeof row?.FolderPath === 'string' ? row.FolderPath : `C:\\Windows\\System32\\${file}`,
      SHA256: typeof row?.SHA256 === 'string' ? row.SHA256 : hex(file, 64),
      ProcessVersionInfoOriginalFileName: file,
      DetectionBranch: branch,
    });
  }
  return out;
}

interface ParentColumns {
  name: string;
  commandLine: string;
  folder: string;
  suspicious: boolean;
}

const PARENT_DEFAULTS: Record<string, Omit<ParentColumns, 'name'>> = {
  'explorer.exe': { commandLine: 'explorer.exe', folder: 'C:\\Windows\\explorer.exe', suspicious: false },
  'cmd.exe': { commandLine: 'cmd.exe', folder: 'C:\\Windows\\System32\\cmd.exe', suspicious: false },
  'Agent.Worker.exe': { commandLine: '"Agent.Worker.exe" spawnclient 3748 3752', folder: 'C:\\agent\\bin\\Agent.Worker.exe', suspicious: false },
  'devenv.exe': { commandLine: '"devenv.exe"', folder: 'C:\\Program Files\\Microsoft Visual Studio\\2022\\Professional\\Common7\\IDE\\devenv.exe', suspicious: false },
  'powershell.exe': { commandLine: 'powershell.exe', folder: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', suspicious: false },
  'mshta.exe': { commandLine: 'mshta.exe vbscript:Execute("CreateObject(""WScript.Shell"").Run ""cmd /c"":close")', folder: 'C:\\Windows\\System32\\mshta.exe', suspicious: true },
  'wscript.exe': { commandLine: 'wscript.exe C:\\Users\\Public\\update.vbs', folder: 'C:\\Windows\\System32\\wscript.exe', suspicious: true },
  'winword.exe': { commandLine: '"WINWORD.EXE" /n "C:\\Users\\Public\\invoice.docm"', folder: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', suspicious: true },
};

function parentColumns(sample: Sample): Map<string, ParentColumns> {
  const out = new Map<string, ParentColumns>();
  for (const [name, defaults] of Object.entries(PARENT_DEFAULTS)) {
    const row = sample.results.find((r) => r.InitiatingProcessFileName === name);
    out.set(name, {
      name,
      commandLine: typeof row?.InitiatingProcessCommandLine === 'string' ? row.InitiatingProcessCommandLine : defaults.commandLine,
      folder: typeof row?.InitiatingProcessFolderPath === 'string' ? row.InitiatingProcessFolderPath : defaults.folder,
      suspicious: typeof row?.IsSuspiciousParent === 'boolean' ? row.IsSuspiciousParent : defaults.suspicious,
    });
  }
  return out;
}

export type DeviceKind = 'build' | 'dev' | 'server' | 'workstation';

export interface DeviceProfile {
  id: string;
  name: string;
  kind: DeviceKind;
  weight: number;
  accounts: string[];
  subject: string;
  thumbprint: string;
  project: string;
  parents: string[];
  /** Indexes into the corpus. */
  lines: number[];
}

export interface SyntheticPools {
  devices: DeviceProfile[];
  /** Subjects (without "CN=") of build agents' teams and of everyone else. */
  buildSubjects: string[];
  otherSubjects: string[];
  buildThumbprints: string[];
  otherThumbprints: string[];
  projects: string[];
  buildAccounts: string[];
}

const DEPARTMENTS = ['acct', 'hr', 'eng', 'mkt', 'it', 'fin', 'ops', 'sales', 'legal', 'rnd'];
const TEAMS = ['Payments', 'Portal', 'Mobile', 'Identity', 'Data', 'Edge', 'Billing', 'Search', 'Infra', 'Desktop', 'Agent', 'Tools'];
const FIRST = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'j', 'k', 'l', 'm', 'n', 'p', 'r', 's', 't', 'w'];
const LAST = ['jones', 'brown', 'chen', 'smith', 'kumar', 'garcia', 'nguyen', 'muller', 'rossi', 'kim', 'silva', 'cohen', 'novak', 'patel', 'larsen', 'dubois', 'ito', 'moreau'];

/** Device profiles and the identity pools they draw from. */
export function buildPools(deviceCount: number, seed: number): SyntheticPools {
  const random = prng(seed);
  const corpus = loadCorpus();
  const byTool = (tools: string[]) => corpus.flatMap((line, i) => (tools.includes(line.tool) ? [i] : []));
  const buildLines = byTool(['signtool', 'pvk2pfx', 'openssl', 'makecert']);
  const devLines = byTool(['makecert', 'powershell', 'openssl', 'signtool', 'pvk2pfx', 'certutil']);
  const anyLines = corpus.map((_, i) => i);

  const projects = TEAMS.flatMap((team) => [`${team.toLowerCase()}-svc`, `${team.toLowerCase()}-app`, `${team.toLowerCase()}-lib`]);
  const buildSubjects = TEAMS.map((team) => `Contoso-${team}-Release`);
  const otherSubjects = Array.from({ length: 300 }, (_, i) => `${pick(random, TEAMS)}-Dev-${String(i).padStart(3, '0')}`);
  const buildThumbprints = TEAMS.map((team) => hex(`build-thumb-${team}`, 40).toUpperCase());
  const otherThumbprints = Array.from({ length: 300 }, (_, i) => hex(`thumb-${i}`, 40).toUpperCase());
  const people = Array.from({ length: 600 }, (_, i) => `${pick(random, FIRST)}${pick(random, LAST)}${i % 7 === 0 ? i : ''}`);
  const buildAccounts = Array.from({ length: 8 }, (_, i) => `svc_build${String(i).padStart(2, '0')}`);

  const devices: DeviceProfile[] = [];
  const counts = {
    build: Math.max(1, Math.round(deviceCount * 0.03)),
    dev: Math.max(1, Math.round(deviceCount * 0.12)),
    server: Math.max(1, Math.round(deviceCount * 0.05)),
  };
  for (let i = 0; i < deviceCount; i++) {
    let kind: DeviceKind;
    let name: string;
    if (i < counts.build) {
      kind = 'build';
      name = `build-agent-${String(i).padStart(3, '0')}.contoso.local`;
    } else if (i < counts.build + counts.dev) {
      kind = 'dev';
      name = `dev-lap-${String(i).padStart(4, '0')}.contoso.local`;
    } else if (i < counts.build + counts.dev + counts.server) {
      kind = 'server';
      name = `srv-app-${String(i).padStart(4, '0')}.contoso.local`;
    } else {
      kind = 'workstation';
      name = `ws-${pick(random, DEPARTMENTS)}-${String(i).padStart(4, '0')}.contoso.local`;
    }
    const team = Math.floor(random() * TEAMS.length);
    const lineCount = kind === 'build' ? 3 : kind === 'dev' ? 5 : 1 + Math.floor(random() * 3);
    const pool = kind === 'build' ? buildLines : kind === 'dev' ? devLines : anyLines;
    const lines = Array.from({ length: lineCount }, () => pick(random, pool));
    const primary = kind === 'build' ? pick(random, buildAccounts) : pick(random, people);
    devices.push({
      id: hex(`device-${name}`, 40),
      name,
      kind,
      weight: kind === 'build' ? 20 : kind === 'dev' ? 3 : 1,
      accounts: kind === 'build' ? [primary] : [primary, primary, primary, pick(random, people)],
      subject: kind === 'build' ? (buildSubjects[team] as string) : pick(random, otherSubjects),
      thumbprint: kind === 'build' ? (buildThumbprints[team] as string) : pick(random, otherThumbprints),
      project: pick(random, projects),
      parents:
        kind === 'build'
          ? ['Agent.Worker.exe', 'Agent.Worker.exe', 'cmd.exe']
          : kind === 'dev'
            ? ['devenv.exe', 'powershell.exe', 'cmd.exe', 'explorer.exe']
            : ['explorer.exe', 'cmd.exe', 'powershell.exe'],
      lines,
    });
  }
  return { devices, buildSubjects, otherSubjects, buildThumbprints, otherThumbprints, projects, buildAccounts };
}

const CN = /CN=[^,"'“”/]+/g;
const THUMBPRINT = /\b[0-9A-Fa-f]{40}\b/g;
const BARE_CERT_FILE = /(^|\s)([A-Za-z0-9_.-]+\.(?:pfx|pvk|cer|spc|key|crt|pem))(?=\s|$)/g;

/** The device's variant of a corpus line: its subject, thumbprint and (on build agents) paths. */
function personalise(line: string, device: DeviceProfile, buildNumber: number): string {
  let out = line.replace(CN, `CN=${device.subject}`).replace(THUMBPRINT, device.thumbprint);
  if (device.kind === 'build') {
    out = out.replace(BARE_CERT_FILE, (_, lead: string, file: string) => `${lead}C:\\agent\\_work\\${buildNumber}\\s\\${device.project}\\out\\${file}`);
  }
  return out;
}

export interface GenerateOptions {
  rows: number;
  devices: number;
  /** End of the hunt window (exclusive); rows fall in [end - windowMs, end). */
  windowEnd: Date;
  windowMs: number;
  seed?: number;
  /** Per-row probability of an odd parent (mshta, wscript, winword). */
  suspiciousParentRate?: number;
}

export interface Generated {
  response: SyntheticResponse;
  pools: SyntheticPools;
}

/** The rows, sorted by Timestamp like the rule's query orders them. */
export function generateResponse(options: GenerateOptions): Generated {
  const seed = options.seed ?? 1587;
  const random = prng(seed ^ 0x5eed);
  const sample = loadSample();
  const corpus = loadCorpus();
  const images = imageColumns(sample);
  const parents = parentColumns(sample);
  const pools = buildPools(options.devices, seed);
  const suspiciousRate = options.suspiciousParentRate ?? 0.02;
  const odd = ['mshta.exe', 'wscript.exe', 'winword.exe'];

  // Weighted device choice by cumulative weights.
  const cumulative: number[] = [];
  let total = 0;
  for (const d of pools.devices) cumulative.push((total += d.weight));
  const chooseDevice = (): DeviceProfile => {
    const target = random() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cumulative[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return pools.devices[lo] as DeviceProfile;
  };

  const start = options.windowEnd.getTime() - options.windowMs;
  const times = Array.from({ length: options.rows }, () => start + Math.floor(random() * (options.windowMs - 1000)));
  times.sort((a, b) => a - b);

  const results: Row[] = [];
  let reportId = 10_000;
  for (const timeMs of times) {
    const device = chooseDevice();
    const line = corpus[pick(random, device.lines)] as CorpusLine;
    const image = images.get(line.tool) ?? images.get('powershell');
    if (!image) throw new Error(`no image columns for tool ${line.tool}`);
    const parentName = random() < suspiciousRate ? pick(random, odd) : pick(random, device.parents);
    const parent = parents.get(parentName) as ParentColumns;
    const commandLine = personalise(line.commandLine, device, 1000 + Math.floor(random() * 9000));
    const account = pick(random, device.accounts);
    const processId = 1000 + Math.floor(random() * 60_000);
    results.push({
      Timestamp: new Date(timeMs).toISOString(),
      IngestionTime: new Date(timeMs + 30_000 + Math.floor(random() * 540_000)).toISOString(),
      DeviceId: device.id,
      DeviceName: device.name,
      ReportId: reportId++,
      AccountName: account,
      AccountDomain: 'contoso',
      FileName: image.FileName,
      FolderPath: image.FolderPath,
      SHA256: image.SHA256,
      ProcessId: processId,
      ProcessCommandLine: commandLine,
      ProcessVersionInfoOriginalFileName: image.ProcessVersionInfoOriginalFileName,
      InitiatingProcessFileName: parent.name,
      InitiatingProcessCommandLine: parent.commandLine,
      InitiatingProcessId: processId - 1 - Math.floor(random() * 500),
      InitiatingProcessFolderPath: parent.folder,
      DetectionBranch: image.DetectionBranch,
      IsSuspiciousParent: parent.suspicious,
      IsTempLocation: /\\(?:Temp|tmp)\\/i.test(commandLine) || /\\Temp\\/i.test(image.FolderPath),
    });
  }
  return {
    response: {
      '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#microsoft.graph.security.huntingQueryResults',
      schema: sample.schema,
      results,
    },
    pools,
  };
}

// ---------------------------------------------------------------------------------------------
// Allowlists

let entrySeq = 0;

export function allowlistEntry(conditions: AllowlistConditions, now: Date, extra: Partial<AllowlistEntry> = {}): AllowlistEntry {
  const at = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const scope: AllowlistScope = extra.scope ?? 'global';
  return {
    id: extra.id ?? `bench-${String(entrySeq++).padStart(6, '0')}`,
    conditions,
    scope,
    reason: 'Known build signing certificate (benchmark fixture)',
    owner: 'platform-team@contoso.com',
    createdBy: 'bench',
    createdAt: at,
    updatedBy: 'bench',
    updatedAt: at,
    expiresAt: new Date(now.getTime() + 60 * 86_400_000).toISOString(),
    permanent: false,
    enabled: true,
    hitCount: 0,
    lastHitAt: null,
    deleted: false,
    etag: null,
    ...extra,
  };
}

/**
 * A realistic allowlist of about 100 entries: what a SOC accumulates after a few months. About
 * a quarter describe the build farm's known signers (they do match), the rest name vendors,
 * people's test certificates and projects that are not in this window (they do not).
 */
export function realisticAllowlist(pools: SyntheticPools, now: Date, tenantId: string, seed = 7): AllowlistEntry[] {
  const random = prng(seed);
  const entries: AllowlistEntry[] = [];
  const add = (conditions: AllowlistConditions, extra: Partial<AllowlistEntry> = {}) => entries.push(allowlistEntry(conditions, now, extra));
  // The build farm: signer subjects on build agents, thumbprints, the agent's parent on signing.
  for (const subject of pools.buildSubjects.slice(0, 8)) add({ signerSubject: `CN=${subject}`, deviceName: 'build-*' });
  for (const thumbprint of pools.buildThumbprints.slice(0, 4)) add({ thumbprint });
  add({ parentProcess: 'Agent.Worker.exe', branch: 'SignTool-ExecutableSigning' });
  add({ certificateFile: '*\\out\\*.pfx', deviceName: 'build-agent-*' });
  for (const account of pools.buildAccounts.slice(0, 4)) add({ account: `contoso\\${account}`, tool: 'pvk2pfx' });
  for (const project of pools.projects.slice(0, 10)) add({ certificateFile: `*\\${project}\\out\\*.pvk` });
  // Vendors and tools that are not in this window.
  for (let i = 0; i < 20; i++) add({ signerSubject: `CN=Vendor ${i} Code Signing, O=Vendor ${i} Ltd` });
  for (let i = 0; i < 20; i++) add({ thumbprint: createHash('sha1').update(`vendor-${i}`).digest('hex').toUpperCase() });
  for (const prefix of ['lab-', 'kiosk-', 'test-vm-', 'sandbox-', 'pipeline-']) add({ deviceName: `${prefix}*`, tool: 'makecert' });
  add({ parentProcess: 'Fiddler.exe', signerSubject: 'CN=DO_NOT_TRUST_FiddlerRoot*' });
  add({ parentProcess: 'java.exe', branch: 'OpenSSL-CertCreation' });
  add({ parentProcess: 'msbuild.exe', tool: 'signtool' });
  for (let i = 0; i < 6; i++) add({ deviceName: `dev-lap-${String(9000 + i)}.contoso.local`, tool: 'makecert' });
  for (let i = 0; i < 5; i++) add({ signerSubject: `CN=Contoso-Tenant-${i}` }, { scope: { tenantId } });
  // Some that no longer count: disabled, deleted, expired.
  add({ signerSubject: `CN=${pools.otherSubjects[0] ?? 'x'}` }, { enabled: false });
  add({ signerSubject: `CN=${pools.otherSubjects[1] ?? 'y'}` }, { deleted: true });
  add({ thumbprint: pools.otherThumbprints[0] ?? 'AB' }, { expiresAt: new Date(now.getTime() - 86_400_000).toISOString() });
  while (entries.length < 100) {
    add({ certificateFile: `C:\\signing\\${pick(random, TEAMS).toLowerCase()}-${entries.length}\\*.pfx` });
  }
  return entries;
}

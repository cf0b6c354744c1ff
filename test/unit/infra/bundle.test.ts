/**
 * The deployable artefact: scripts/bundle.mjs builds one CommonJS bundle per function entry, each
 * bundle loads outside the Functions host and registers its functions, and the package that
 * .funcignore selects is exactly host.json, package.json, the bundles and the rules, with the
 * rules found from the bundle's own folder (shared/rules/loadRules walks up from __dirname).
 *
 * Bundling runs once into a temporary folder (esbuild takes a few seconds); every bundle is
 * loaded in a child process so that the test's own module registry and jest sandbox stay clean.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { SETTINGS_REFERENCE } from '../../../shared/config/reference';
import { packageFiles } from './packageFiles';

const root = path.resolve(__dirname, '../../..');
const ENTRIES = ['allowlist', 'deliver', 'hunt'];

let work: string;
let outdir: string;

interface Registration {
  name: string;
  bindings: Record<string, Record<string, unknown>>;
}

function node(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(process.execPath, args, {
    cwd: options.cwd ?? root,
    env: { PATH: process.env.PATH, ...options.env },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

/**
 * A child-process script: stands in for the worker-provided `@azure/functions-core` (recording
 * every registerFunction), requires one bundle, optionally invokes one registered handler with a
 * request that carries no App Service authentication header, and prints JSON.
 */
const LOADER = `
const Module = require('node:module');
const registered = [];
const core = {
  setProgrammingModel() {},
  registerFunction(metadata, handler) { registered.push({ metadata, handler }); return { dispose() {} }; },
  registerHook() { return { dispose() {} }; },
  log() {},
};
const load = Module._load;
Module._load = function (request, ...rest) {
  return request === '@azure/functions-core' ? core : load.call(this, request, ...rest);
};
const [bundlePath, invoke] = process.argv.slice(2);
require(bundlePath);
(async () => {
  let response = null;
  if (invoke) {
    const entry = registered.find((r) => r.metadata.name === invoke);
    const quiet = () => {};
    const context = { invocationId: 'test', functionName: invoke, log: quiet, trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };
    const request = { method: 'GET', url: 'https://app.example/api/allowlist', headers: new Headers(), query: new URLSearchParams(), params: {} };
    const result = await entry.handler(request, context);
    response = { status: result.status };
  }
  process.stdout.write(JSON.stringify({ registered: registered.map((r) => ({ name: r.metadata.name, bindings: r.metadata.bindings })), response }));
})().catch((error) => { console.error(error && error.stack || error); process.exit(1); });
`;

function loadWithWorker(bundle: string, invoke?: string, env: NodeJS.ProcessEnv = {}): { registered: Registration[]; response: { status: number } | null } {
  const loader = path.join(work, 'loader.js');
  const result = node([loader, bundle, ...(invoke ? [invoke] : [])], { env });
  if (result.status !== 0) throw new Error(`loading ${bundle} failed:\n${result.stderr}`);
  return JSON.parse(result.stdout) as { registered: Registration[]; response: { status: number } | null };
}

function triggerOf(registration: Registration): Record<string, unknown> {
  const trigger = Object.values(registration.bindings).find((b) => /Trigger$/.test(String(b.type)));
  if (!trigger) throw new Error(`${registration.name} has no trigger binding`);
  return trigger;
}

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'codesign-bundle-'));
  outdir = path.join(work, 'bundle');
  fs.writeFileSync(path.join(work, 'loader.js'), LOADER);
  const result = node([path.join(root, 'scripts', 'bundle.mjs'), '--outdir', outdir, '--metafile']);
  if (result.status !== 0) throw new Error(`npm run bundle failed:\n${result.stderr}${result.stdout}`);
}, 180_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('one CommonJS bundle per function entry, matching package.json main', () => {
  const js = fs.readdirSync(outdir).filter((f) => f.endsWith('.js')).sort();
  expect(js).toEqual(ENTRIES.map((e) => `${e}.js`));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; main: string };
  expect(pkg.name).toBe('codesign-hunt');
  expect(pkg.main).toBe('dist/bundle/*.js');
  for (const file of js) {
    const text = fs.readFileSync(path.join(outdir, file), 'utf8');
    expect(text).not.toMatch(/^\s*(import|export)\s/m); // CommonJS, not ES module syntax
    expect(text).toContain(`//# sourceMappingURL=${file}.map`);
    expect(fs.existsSync(path.join(outdir, `${file}.map`))).toBe(true);
  }
});

test('everything is bundled except the worker-provided @azure/functions-core; the CLI-only Kusto service is left out', () => {
  const meta = JSON.parse(fs.readFileSync(path.join(outdir, 'meta.json'), 'utf8')) as {
    outputs: Record<string, { imports: { path: string; external?: boolean }[]; inputs: Record<string, unknown> }>;
  };
  const builtins = new Set(builtinModules);
  for (const [output, info] of Object.entries(meta.outputs)) {
    if (!output.endsWith('.js')) continue;
    const externals = [...new Set(info.imports.filter((i) => i.external).map((i) => i.path))].filter((p) => !builtins.has(p.replace(/^node:/, '')));
    expect({ output: path.basename(output), externals }).toEqual({ output: path.basename(output), externals: ['@azure/functions-core'] });
    const inputs = Object.keys(info.inputs);
    expect(inputs.some((i) => i.includes('node_modules/@azure/functions/'))).toBe(true);
    expect(inputs.filter((i) => i.includes('@kusto/') || i.includes('shared/kusto/') || i.includes('shared/cli/'))).toEqual([]);
  }
});

test('each bundle loads in @azure/functions test mode (no worker) without throwing', () => {
  for (const entry of ENTRIES) {
    const result = node(['-e', `require(${JSON.stringify(path.join(outdir, `${entry}.js`))})`]);
    expect({ entry, status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({ entry, status: 0, stderr: '' });
    expect(result.stderr).toContain('test mode');
  }
});

test('each bundle registers its functions with the worker, with settings the Bicep provides', () => {
  const bicepSettings = new Set(SETTINGS_REFERENCE.filter((s) => s.azure === 'bicep' || s.azure === 'secret').map((s) => s.name));

  const hunt = loadWithWorker(path.join(outdir, 'hunt.js')).registered;
  expect(hunt.map((r) => r.name)).toEqual(['hunt']);
  expect(triggerOf(hunt[0]!)).toMatchObject({ type: 'timerTrigger', schedule: '%HUNT_SCHEDULE%', runOnStartup: false, useMonitor: true });

  const deliver = loadWithWorker(path.join(outdir, 'deliver.js')).registered;
  expect(deliver.map((r) => r.name)).toEqual(['deliver']);
  expect(triggerOf(deliver[0]!)).toMatchObject({ type: 'queueTrigger', queueName: '%NOTIFICATION_QUEUE%', connection: 'Storage' });

  const allowlist = loadWithWorker(path.join(outdir, 'allowlist.js')).registered;
  expect(allowlist.map((r) => [r.name, triggerOf(r).route, triggerOf(r).authLevel])).toEqual([
    ['allowlistCollection', 'allowlist', 'anonymous'],
    ['allowlistItem', 'allowlist/{id}', 'anonymous'],
    ['allowlistHistory', 'allowlist/{id}/history', 'anonymous'],
    ['allowlistSuppressed', 'allowlist/{id}/suppressed', 'anonymous'],
    ['allowlistPreview', 'allowlist-preview', 'anonymous'],
  ]);

  // %NAME% binding expressions and identity-based connections resolve from app settings the
  // Bicep sets; a missing one disables the function in Azure (the timer never fires).
  for (const registration of [...hunt, ...deliver, ...allowlist]) {
    for (const binding of Object.values(registration.bindings)) {
      for (const value of Object.values(binding)) {
        for (const [, name] of String(value).matchAll(/%([A-Za-z0-9_]+)%/g)) expect(bicepSettings).toContain(name);
      }
      if (typeof binding.connection === 'string') expect(bicepSettings).toContain(`${binding.connection}__queueServiceUri`);
    }
  }
});

test('the bundled allowlist API answers a request without App Service authentication with 401', () => {
  const result = loadWithWorker(path.join(outdir, 'allowlist.js'), 'allowlistCollection', { Storage: 'UseDevelopmentStorage=true' });
  expect(result.response).toEqual({ status: 401 });
});

describe('the deployment package selected by .funcignore', () => {
  let stage: string;
  let files: string[];

  beforeAll(() => {
    const ignore = fs.readFileSync(path.join(root, '.funcignore'), 'utf8');
    // The working tree as it is (tsc output, node_modules, local files) plus the fresh bundles in
    // place of any dist/bundle the working tree may hold.
    files = packageFiles(root, ignore, { skipDirs: ['dist/bundle'] });
    const bundled = fs.readdirSync(outdir).map((f) => `dist/bundle/${f}`);
    const stagedBundle = fs.mkdtempSync(path.join(work, 'tree-'));
    fs.mkdirSync(path.join(stagedBundle, 'dist', 'bundle'), { recursive: true });
    for (const f of bundled) fs.copyFileSync(path.join(outdir, path.basename(f)), path.join(stagedBundle, f));
    files = [...files, ...packageFiles(stagedBundle, ignore)].sort();

    stage = path.join(work, 'package');
    for (const rel of files) {
      const from = rel.startsWith('dist/bundle/') ? path.join(outdir, path.basename(rel)) : path.join(root, rel);
      fs.mkdirSync(path.dirname(path.join(stage, rel)), { recursive: true });
      fs.copyFileSync(from, path.join(stage, rel));
    }
  });

  test('holds only host.json, package.json, the bundles and the rules (no fixtures)', () => {
    // Every file of every rule folder (rule.yaml, query.kql), without the fixtures folders.
    const ruleFiles = fs
      .readdirSync(path.join(root, 'rules'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .flatMap((d) => fs.readdirSync(path.join(root, 'rules', d.name), { withFileTypes: true }).filter((f) => f.isFile()).map((f) => `rules/${d.name}/${f.name}`));
    expect(ruleFiles.some((f) => f.endsWith('/rule.yaml'))).toBe(true);
    const expected = [...ENTRIES.map((e) => `dist/bundle/${e}.js`), 'host.json', 'package.json', ...ruleFiles].sort();
    const unexpected = files.filter((f) => !expected.includes(f));
    expect({ unexpected, missing: expected.filter((f) => !files.includes(f)) }).toEqual({ unexpected: [], missing: [] });
  });

  test('keeps tests, fixtures, local settings, infra, TypeScript sources, maps and node_modules out', () => {
    for (const pattern of [/^test\//, /fixtures/, /local\.settings/, /^infra\//, /\.ts$/, /\.map$/, /^node_modules\//, /^\.azure\//, /^shared\//]) {
      expect(files.filter((f) => pattern.test(f))).toEqual([]);
    }
  });

  test('the bundled hunt finds the rules from its own folder in the package', () => {
    // An unknown rule id makes the runtime list the rules it loaded, before any storage or Graph call.
    const result = node(
      ['-e', `require('./dist/bundle/hunt.js').defaultHuntDeps.runtime({ info() {}, warn() {}, error() {} }).then(() => process.exit(3), (e) => { console.log(e.message); })`],
      { cwd: stage, env: { Storage: 'UseDevelopmentStorage=true', HUNT_RULES: 'no-such-rule' } },
    );
    expect(result.status).toBe(0);
    const ruleIds = fs.readdirSync(path.join(stage, 'rules')).sort();
    // Either the rules loaded (and are listed), or one of them is invalid and the loader names a
    // file inside the package's rules/ folder: both show the bundle found the package's rules.
    const listed = `HUNT_RULES names rule 'no-such-rule', which is not in rules/ (known: ${ruleIds.join(', ')})`;
    const invalidInPackage = path.join(stage, 'rules') + path.sep;
    expect(result.stdout.includes(listed) || result.stdout.includes(invalidInPackage)).toBe(true);
  });
});

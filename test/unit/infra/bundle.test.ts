/**
 * The deployable artefacts: scripts/bundle.mjs builds one CommonJS bundle per function entry, each
 * bundle loads outside the Functions host and registers its functions, and the two staged
 * deployment packages (azure.yaml services `hunting` and `api`, whose `dist` azd zips as it is)
 * hold exactly host.json, a reduced package.json, their bundles and (hunting) the rules without
 * fixtures, with the rules found from the bundle's own folder (shared/rules/loadRules walks up
 * from __dirname).
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
import { QUERY_FILE, RULE_FILE } from '../../../shared/rules/loadRules';

const root = path.resolve(__dirname, '../../..');
const ENTRIES = ['allowlist', 'deliver', 'hunt', 'huntTenant'];

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

  const huntTenant = loadWithWorker(path.join(outdir, 'huntTenant.js')).registered;
  expect(huntTenant.map((r) => r.name)).toEqual(['huntTenant']);
  expect(triggerOf(huntTenant[0]!)).toMatchObject({ type: 'queueTrigger', queueName: '%HUNT_JOBS_QUEUE%', connection: 'Storage' });

  const deliver = loadWithWorker(path.join(outdir, 'deliver.js')).registered;
  expect(deliver.map((r) => r.name)).toEqual(['deliver']);
  expect(triggerOf(deliver[0]!)).toMatchObject({ type: 'queueTrigger', queueName: '%NOTIFICATION_QUEUE%', connection: 'Storage' });

  const allowlist = loadWithWorker(path.join(outdir, 'allowlist.js')).registered;
  expect(allowlist.map((r) => [r.name, triggerOf(r).route, triggerOf(r).authLevel])).toEqual([
    ['allowlistCollection', 'api/allowlist', 'anonymous'],
    ['allowlistItem', 'api/allowlist/{id}', 'anonymous'],
    ['allowlistHistory', 'api/allowlist/{id}/history', 'anonymous'],
    ['allowlistSuppressed', 'api/allowlist/{id}/suppressed', 'anonymous'],
    ['allowlistPreview', 'api/allowlist-preview', 'anonymous'],
    ['allowlistPage', 'allowlist', 'anonymous'],
    ['allowlistPageAsset', 'allowlist/assets/{name}', 'anonymous'],
    ['allowlistPageEntry', 'allowlist/{id}', 'anonymous'],
  ]);
  // The page is at /allowlist and the API at /api/allowlist: the host adds no prefix.
  expect((JSON.parse(fs.readFileSync(path.join(root, 'host.json'), 'utf8')) as { extensions: { http: { routePrefix: string } } }).extensions.http.routePrefix).toBe('');

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

describe('the staged deployment packages (azure.yaml service dist folders)', () => {
  let stageRoot: string;

  beforeAll(() => {
    stageRoot = path.join(work, 'package');
    for (const name of ['hunting', 'api']) {
      const result = node([path.join(root, 'scripts', 'bundle.mjs'), '--package', name, '--stage-root', stageRoot]);
      if (result.status !== 0) throw new Error(`staging ${name} failed:\n${result.stderr}${result.stdout}`);
    }
  }, 180_000);

  const filesOf = (dir: string, rel = ''): string[] =>
    fs
      .readdirSync(path.join(dir, rel), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? filesOf(dir, `${rel}${e.name}/`) : [`${rel}${e.name}`]))
      .sort();

  test('azure.yaml points each function service at its staged folder, remote build off', () => {
    const azureYaml = fs.readFileSync(path.join(root, 'azure.yaml'), 'utf8');
    for (const name of ['hunting', 'api']) {
      const block = new RegExp(`^  ${name}:\\n((?: {4}.*\\n?)+)`, 'm').exec(azureYaml)?.[1] ?? '';
      expect({ name, dist: /^ {4}dist: (.+)$/m.exec(block)?.[1] }).toEqual({ name, dist: `dist/package/${name}` });
      expect(block).toMatch(/^ {4}remoteBuild: false$/m);
      expect(block).toMatch(/^ {4}host: function$/m);
      expect(block).toContain(`run: npm run bundle -- --package ${name}`);
    }
  });

  test("azd's remoteBuild check passes: no .funcignore in the project folder or the staged folders", () => {
    // azd 1.23.12+ (pkg/project/service_target_functionapp.go) reads <project>/.funcignore and
    // refuses remoteBuild: false when it excludes node_modules; the zip step reads <dist>/.funcignore.
    expect(fs.existsSync(path.join(root, '.funcignore'))).toBe(false);
    for (const name of ['hunting', 'api']) expect(fs.existsSync(path.join(stageRoot, name, '.funcignore'))).toBe(false);
  });

  test('hunting holds only host.json, package.json, the hunt, huntTenant and deliver bundles and the rules (no fixtures)', () => {
    const ruleFiles = fs
      .readdirSync(path.join(root, 'rules'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
      .flatMap((d) => [`rules/${d.name}/${RULE_FILE}`, `rules/${d.name}/${QUERY_FILE}`]);
    expect(ruleFiles.length).toBeGreaterThan(0);
    const expected = ['dist/bundle/deliver.js', 'dist/bundle/hunt.js', 'dist/bundle/huntTenant.js', 'host.json', 'package.json', ...ruleFiles].sort();
    expect(filesOf(path.join(stageRoot, 'hunting'))).toEqual(expected);
  });

  test('api holds only host.json, package.json and the allowlist bundle', () => {
    expect(filesOf(path.join(stageRoot, 'api'))).toEqual(['dist/bundle/allowlist.js', 'host.json', 'package.json']);
  });

  test('nothing else slips in: no tests, fixtures, local settings, sources, maps or node_modules', () => {
    const all = ['hunting', 'api'].flatMap((name) => filesOf(path.join(stageRoot, name)));
    for (const pattern of [/^test\//, /fixtures/, /local\.settings/, /^infra\//, /\.ts$/, /\.map$/, /node_modules/, /^\.azure\//, /^shared\//]) {
      expect(all.filter((f) => pattern.test(f))).toEqual([]);
    }
    for (const name of ['hunting', 'api']) {
      for (const bundle of filesOf(path.join(stageRoot, name)).filter((f) => f.endsWith('.js'))) {
        expect(fs.readFileSync(path.join(stageRoot, name, bundle), 'utf8')).not.toContain('sourceMappingURL');
      }
    }
  });

  test('the staged package.json names the project root, points main at the bundles and lists no dependencies', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
    for (const name of ['hunting', 'api']) {
      const staged = JSON.parse(fs.readFileSync(path.join(stageRoot, name, 'package.json'), 'utf8')) as Record<string, unknown>;
      expect(staged).toMatchObject({ name: 'codesign-hunt', version: pkg.version, main: 'dist/bundle/*.js', engines: pkg.engines });
      expect(Object.keys(staged).filter((k) => /dependencies|scripts|bin/i.test(k))).toEqual([]);
    }
    expect(fs.readFileSync(path.join(stageRoot, 'hunting', 'host.json'), 'utf8')).toBe(fs.readFileSync(path.join(root, 'host.json'), 'utf8'));
  });

  test('each staged package registers only its own functions', () => {
    const names = (dir: string) => fs.readdirSync(path.join(stageRoot, dir, 'dist', 'bundle')).flatMap((f) => loadWithWorker(path.join(stageRoot, dir, 'dist', 'bundle', f)).registered.map((r) => r.name));
    expect(names('hunting').sort()).toEqual(['deliver', 'hunt', 'huntTenant']);
    expect(names('api').sort()).toEqual(['allowlistCollection', 'allowlistHistory', 'allowlistItem', 'allowlistPage', 'allowlistPageAsset', 'allowlistPageEntry', 'allowlistPreview', 'allowlistSuppressed']);
  });

  test('the staged hunt finds the rules from its own folder in the package', () => {
    const stage = path.join(stageRoot, 'hunting');
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

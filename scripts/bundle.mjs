#!/usr/bin/env node
/**
 * Bundles each Azure Functions entry (functions/hunt.ts, huntTenant.ts, deliver.ts, allowlist.ts) into one
 * self-contained CommonJS file under dist/bundle/, which package.json `main` ("dist/bundle/*.js")
 * points the Functions Node.js worker at. Everything is bundled, @azure/functions included, so the
 * deployed package needs no node_modules at all (docs/deployment.md, Packaging).
 *
 * It also stages the two deployment packages, each in its own folder that azure.yaml's service
 * `dist` points at (azd zips that folder as it is; `func azure functionapp publish --no-build` run
 * inside it publishes the same): an allow-list of files, nothing else.
 *   dist/package/hunting/  host.json, package.json, dist/bundle/{hunt,huntTenant,deliver}.js, rules/<id>/{rule.yaml,query.kql}
 *   dist/package/api/      host.json, package.json, dist/bundle/allowlist.js
 * The staged package.json keeps only what the host reads (name, version, main, engines): no
 * dependency list, so nothing could ever be installed remotely. No source maps are staged.
 *
 * The only module left external is `@azure/functions-core`: it is not an npm package but a module
 * the Node.js worker provides at runtime; @azure/functions requires it lazily and falls back to
 * "test mode" when it is absent (that is how test/unit/infra/bundle.test.ts loads the bundles).
 *
 * Each bundle carries its own copy of @azure/functions. That is safe: every copy registers its own
 * functions with the worker and sets an identical programming model (same package version); no
 * handler here returns library class instances (only plain HttpResponseInit objects).
 *
 * Some dependencies resolve to their ES module builds (esbuild applies the `import` condition to
 * import statements) and read `import.meta.url`, which is empty in CommonJS output; the
 * @azure/storage-common CRC64 module calls createRequire(import.meta.url) at load time and would
 * throw. `import.meta.url` is therefore defined as the bundle file's own URL (IMPORT_META_URL).
 *
 * Not minified, so stack traces in Application Insights stay readable without source maps; the
 * external .map files (linked by a sourceMappingURL comment) are for local debugging and are not
 * staged: the deployment packages are bundled without them.
 *
 * Usage: node scripts/bundle.mjs [--outdir <dir>] [--metafile] [--package hunting|api] [--stage-root <dir>]
 *   --outdir      where to write the bundles (default dist/bundle); tests use a temporary folder
 *   --metafile    also write <outdir>/meta.json (esbuild's metafile) for size analysis
 *   --package     only stage this package (azure.yaml's prepackage hook of each service)
 *   --stage-root  where the packages are staged (default dist/package)
 */
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The function entries: one bundle each. functions/index.ts is not one (it imports them all). */
export const ENTRIES = ['hunt', 'huntTenant', 'deliver', 'allowlist'];

/** The deployment packages: which function entries each holds, and whether it needs rules/. */
export const PACKAGES = {
  hunting: { entries: ['hunt', 'huntTenant', 'deliver'], rules: true },
  api: { entries: ['allowlist'], rules: false },
};

/** The files of a rule folder the loader reads (shared/rules/loadRules.ts RULE_FILE, QUERY_FILE). */
export const RULE_FILES = ['rule.yaml', 'query.kql'];

/** The package.json fields the Functions host and the rules loader read. */
const PACKAGE_JSON_FIELDS = ['name', 'version', 'description', 'private', 'license', 'engines', 'main'];

/** Provided by the Azure Functions Node.js worker at runtime; never bundled. */
export const EXTERNAL = ['@azure/functions-core'];

/** Replaces `import.meta.url` in CommonJS output with the URL of the bundle file itself. */
const IMPORT_META_URL = '__codesignHuntImportMetaUrl';
const BANNER = `const ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;`;

function parseArgs(argv) {
  const options = { outdir: path.join(root, 'dist', 'bundle'), metafile: false, packages: Object.keys(PACKAGES), stageRoot: path.join(root, 'dist', 'package') };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--outdir') {
      const value = argv[++i];
      if (!value) throw new Error('--outdir needs a directory');
      options.outdir = path.resolve(value);
    } else if (arg === '--metafile') {
      options.metafile = true;
    } else if (arg === '--package') {
      const value = argv[++i];
      if (!value || !(value in PACKAGES)) throw new Error(`--package needs one of ${Object.keys(PACKAGES).join(', ')}`);
      options.packages = [value];
      options.only = true;
    } else if (arg === '--stage-root') {
      const value = argv[++i];
      if (!value) throw new Error('--stage-root needs a directory');
      options.stageRoot = path.resolve(value);
    } else {
      throw new Error(`unknown argument ${arg} (use --outdir <dir>, --metafile, --package <name>, --stage-root <dir>)`);
    }
  }
  return options;
}

/**
 * Builds the bundles into `outdir` (emptied first, so no stale entry is picked up by the `main`
 * glob) and returns each output's size and esbuild's metafile.
 */
export async function bundle({ outdir, metafile = false, entries = ENTRIES, sourcemap = 'linked' } = {}) {
  const target = outdir ?? path.join(root, 'dist', 'bundle');
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(entries.map((name) => [name, path.join(root, 'functions', `${name}.ts`)])),
    outdir: target,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: EXTERNAL,
    define: { 'import.meta.url': IMPORT_META_URL },
    banner: { js: BANNER },
    sourcemap, // 'linked': external .map files, referenced by a sourceMappingURL comment
    // Readable output: no minification of identifiers, whitespace or syntax.
    minify: false,
    keepNames: true,
    // Prefer the CommonJS builds of dual packages (the Azure SDK), matching `format: 'cjs'`.
    mainFields: ['main', 'module'],
    conditions: ['require', 'node', 'default'],
    tsconfig: path.join(root, 'tsconfig.json'),
    legalComments: 'none',
    logLevel: 'warning',
    metafile: true,
  });
  if (metafile) await writeFile(path.join(target, 'meta.json'), JSON.stringify(result.metafile));
  const sizes = {};
  for (const name of (await readdir(target)).filter((f) => f.endsWith('.js')).sort()) {
    sizes[name] = (await stat(path.join(target, name))).size;
  }
  return { outdir: target, sizes, metafile: result.metafile, warnings: result.warnings };
}

/**
 * Stages one deployment package in `<stageRoot>/<name>` (emptied first) from an allow-list:
 * host.json, a package.json reduced to what the host reads, the package's bundles without source
 * maps, and (hunting) rule.yaml and query.kql of every rule folder, never the fixtures. Returns
 * the folder and its files (posix paths, sorted).
 */
export async function stagePackage(name, { stageRoot } = {}) {
  const spec = PACKAGES[name];
  if (!spec) throw new Error(`unknown package ${name} (one of ${Object.keys(PACKAGES).join(', ')})`);
  const target = path.join(stageRoot ?? path.join(root, 'dist', 'package'), name);
  await rm(target, { recursive: true, force: true });
  await bundle({ outdir: path.join(target, 'dist', 'bundle'), entries: spec.entries, sourcemap: false });
  await copyFile(path.join(root, 'host.json'), path.join(target, 'host.json'));
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));
  const staged = Object.fromEntries(PACKAGE_JSON_FIELDS.filter((k) => k in manifest).map((k) => [k, manifest[k]]));
  await writeFile(path.join(target, 'package.json'), `${JSON.stringify(staged, null, 2)}\n`);
  if (spec.rules) {
    const rulesDir = path.join(root, 'rules');
    for (const entry of await readdir(rulesDir, { withFileTypes: true })) {
      if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
      await mkdir(path.join(target, 'rules', entry.name), { recursive: true });
      for (const file of RULE_FILES) await copyFile(path.join(rulesDir, entry.name, file), path.join(target, 'rules', entry.name, file));
    }
  }
  return { dir: target, files: await listFiles(target) };
}

async function listFiles(dir, rel = '') {
  const out = [];
  for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const relPath = rel ? `${rel}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await listFiles(dir, relPath)));
    else out.push(relPath);
  }
  return out.sort();
}

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  try {
    const options = parseArgs(process.argv.slice(2));
    if (!options.only) {
      const { outdir, sizes } = await bundle(options);
      for (const [name, bytes] of Object.entries(sizes)) {
        console.log(`${path.relative(root, path.join(outdir, name))}  ${(bytes / 1024).toFixed(0)} KiB`);
      }
    }
    for (const name of options.packages) {
      const { dir, files } = await stagePackage(name, { stageRoot: options.stageRoot });
      console.log(`${path.relative(root, dir)}/  ${files.length} files (deployment package '${name}')`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

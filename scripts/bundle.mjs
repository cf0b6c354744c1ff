#!/usr/bin/env node
/**
 * Bundles each Azure Functions entry (functions/hunt.ts, deliver.ts, allowlist.ts) into one
 * self-contained CommonJS file under dist/bundle/, which package.json `main` ("dist/bundle/*.js")
 * points the Functions Node.js worker at. Everything is bundled, @azure/functions included, so the
 * deployed package needs no node_modules at all (see .funcignore and docs/DEPLOY.md).
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
 * deployed (.funcignore: *.map).
 *
 * Usage: node scripts/bundle.mjs [--outdir <dir>] [--metafile]
 *   --outdir    where to write (default dist/bundle); the test bundles into a temporary folder
 *   --metafile  also write <outdir>/meta.json (esbuild's metafile) for size analysis
 */
import { build } from 'esbuild';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The function entries: one bundle each. functions/index.ts is not one (it imports all three). */
export const ENTRIES = ['hunt', 'deliver', 'allowlist'];

/** Provided by the Azure Functions Node.js worker at runtime; never bundled. */
export const EXTERNAL = ['@azure/functions-core'];

/** Replaces `import.meta.url` in CommonJS output with the URL of the bundle file itself. */
const IMPORT_META_URL = '__codesignHuntImportMetaUrl';
const BANNER = `const ${IMPORT_META_URL} = require('node:url').pathToFileURL(__filename).href;`;

function parseArgs(argv) {
  const options = { outdir: path.join(root, 'dist', 'bundle'), metafile: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--outdir') {
      const value = argv[++i];
      if (!value) throw new Error('--outdir needs a directory');
      options.outdir = path.resolve(value);
    } else if (arg === '--metafile') {
      options.metafile = true;
    } else {
      throw new Error(`unknown argument ${arg} (use --outdir <dir>, --metafile)`);
    }
  }
  return options;
}

/**
 * Builds the bundles into `outdir` (emptied first, so no stale entry is picked up by the `main`
 * glob) and returns each output's size and esbuild's metafile.
 */
export async function bundle({ outdir, metafile = false } = {}) {
  const target = outdir ?? path.join(root, 'dist', 'bundle');
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: Object.fromEntries(ENTRIES.map((name) => [name, path.join(root, 'functions', `${name}.ts`)])),
    outdir: target,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: EXTERNAL,
    define: { 'import.meta.url': IMPORT_META_URL },
    banner: { js: BANNER },
    sourcemap: 'linked', // external .map files, referenced by a sourceMappingURL comment
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

const invokedDirectly = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  try {
    const options = parseArgs(process.argv.slice(2));
    const { outdir, sizes } = await bundle(options);
    for (const [name, bytes] of Object.entries(sizes)) {
      console.log(`${path.relative(root, path.join(outdir, name))}  ${(bytes / 1024).toFixed(0)} KiB`);
    }
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  }
}

/**
 * Builds the chaos child (TypeScript) into one self-contained JavaScript file a plain `node` can
 * fork: dependencies bundled in, which starts a child in about half the time of resolving them
 * from node_modules (as scripts/bundle.mjs does for the function app, `import.meta.url` is defined
 * for the storage SDK's ES module builds).
 */
import { buildSync } from 'esbuild';
import { join } from 'node:path';
import { findProjectRoot } from '../../shared/rules/loadRules';

export function buildChaosChild(): string {
  const root = findProjectRoot();
  // Inside the project: rules/ and the demo sample are found from there.
  const outfile = join(root, 'dist', 'chaos', `child-${process.pid}.js`);
  buildSync({
    entryPoints: [join(root, 'test', 'chaos', 'child.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    define: { 'import.meta.url': '__chaosImportMetaUrl' },
    banner: { js: "const __chaosImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    // The worker-provided module of @azure/functions (not used by the child, required lazily).
    external: ['@azure/functions-core'],
    logLevel: 'silent',
  });
  return outfile;
}

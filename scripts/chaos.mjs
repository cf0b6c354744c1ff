#!/usr/bin/env node
/**
 * `npm run chaos`: the full fault-injection run, the same test as the reduced one in `npm test`
 * (test/chaos/chaos.test.ts) with more cycles: `npm run chaos -- --cycles 200 --seed 7`
 * (defaults: 120 cycles, seed 15). Jest provides the in-memory Azurite; the figures are printed.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value < 1) {
    console.error(`--${name} must be a positive integer`);
    process.exit(2);
  }
  return value;
};
const cycles = option('cycles', 120);
const seed = option('seed', 15);
const jest = createRequire(import.meta.url).resolve('jest/bin/jest');
const result = spawnSync(process.execPath, [jest, '--runInBand', 'test/chaos/chaos.test.ts'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, CHAOS_CYCLES: String(cycles), CHAOS_SEED: String(seed), CHAOS_KILL_RATE: '0.6' },
});
process.exit(result.status ?? 1);

/**
 * The fault-injection test: cycles in child processes SIGKILLed between stages, against a faulty
 * Graph and a faulty receiver. See harness.ts for what is checked. In `npm test` it runs 20 cycles,
 * most of them killed; `npm run chaos` runs it with CHAOS_CYCLES (120) at CHAOS_KILL_RATE (0.6).
 */
import { azuriteConnectionString } from '../support/azurite';
import { buildChaosChild } from './build';
import { failures, formatReport, runChaos } from './harness';

const cycles = Number(process.env.CHAOS_CYCLES ?? 20);
const seed = Number(process.env.CHAOS_SEED ?? 1515);
const killRate = Number(process.env.CHAOS_KILL_RATE ?? 0.9);

test(`${cycles} cycles with crashes between stages and faulty Graph and receiver: no gap, no lost row, nothing announced twice, one body per id, revisions in order`, async () => {
  const report = await runChaos({ childScript: buildChaosChild(), connectionString: azuriteConnectionString(), cycles, seed, killRate });
  process.stdout.write(`${formatReport(report)}\n`);
  expect(report.kills).toBeGreaterThanOrEqual(Math.min(10, cycles / 2));
  expect(Object.keys(report.killsByStage).length).toBeGreaterThanOrEqual(10);
  expect(report.graphFaults).toBeGreaterThan(0);
  expect(report.receiverFaults).toBeGreaterThan(0);
  expect(report.rows).toBeGreaterThan(20);
  // Zero gaps, lost rows, double creations, body changes, out-of-order revisions; all settled.
  expect(failures(report)).toEqual([]);
}, 120_000 + cycles * 15_000);

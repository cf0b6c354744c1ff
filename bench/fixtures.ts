/**
 * What every pipeline measurement shares: the rule (as the runtime maps it), the tenant, the
 * channels (one Teams channel that gets a digest above the threshold, one signed webhook that
 * gets every incident), and the fixed "now" the synthetic window ends at.
 */
import { ruleContextOf } from '../shared/app/huntRuntime';
import type { RuleContext } from '../shared/enrich/rule-context';
import type { BuildContext } from '../shared/incidents/build';
import { DEFAULT_DIGEST_THRESHOLD, parseChannels, type Channel } from '../shared/notify/channels';
import { defaultRulesDir, loadRule } from '../shared/rules/loadRules';
import { join } from 'node:path';
import type { RuleDefinition } from '../shared/rules/rule';

export const BENCH_RULE_ID = 't1587-002';
export const BENCH_NOW = new Date('2026-11-26T12:00:00.000Z');
export const BENCH_TENANT = 'contoso-bench';
/** The hunt window the synthetic rows fall in: one backfill chunk (6 h), the largest single query. */
export const WINDOW_MS = 6 * 3600_000;
export const WINDOW_END = new Date(BENCH_NOW.getTime() - 10 * 60_000);
export const CHAIN_WINDOW_MS = 120 * 60_000;
export const DIGEST_THRESHOLD = DEFAULT_DIGEST_THRESHOLD;

export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

export const CHANNELS_JSON = JSON.stringify([
  { id: 'soc-teams', type: 'teams', url: 'https://contoso.webhook.office.com/workflows/bench?sig=abcdefghijklmnop', minSeverity: 'low', kinds: ['incident', 'health'] },
  { id: 'siem', type: 'webhook', url: 'https://siem.contoso.com/hooks/codesign', minSeverity: 'informational', secret: WEBHOOK_SECRET, kinds: ['incident', 'health', 'allowlist-change'] },
]);

export function benchChannels(): Channel[] {
  return parseChannels(CHANNELS_JSON);
}

let rule: RuleDefinition | undefined;

export function benchRule(): RuleDefinition {
  // Only this rule's folder: the benchmarks measure it alone, whatever else rules/ holds.
  rule ??= loadRule(join(defaultRulesDir(), BENCH_RULE_ID));
  return rule;
}

export function benchRuleContext(): RuleContext {
  return ruleContextOf(benchRule());
}

export function benchBuildContext(now: Date = BENCH_NOW): BuildContext {
  return {
    tenantId: BENCH_TENANT,
    rule: benchRuleContext(),
    now,
    chainWindowMs: CHAIN_WINDOW_MS,
    allowlistBaseUrl: 'https://codesign-hunt.contoso.com',
  };
}

/**
 * The timer's look at paused channels: a channel whose pause is over and that no notification has
 * probed (nothing new arrived for it) is probed with what waited for it, the first message of its
 * release (for Teams, the digest). Success releases the rest; failure pauses it for the next step
 * of the schedule. Run from the hunt timer (every few minutes), the CLI and the demo.
 */
import { deliverMessage, type DeliveryDeps, type DeliveryOutcome } from './deliver';
import { heldOf, planRelease } from './pause';

export interface ProbeSummary {
  probed: Array<{ channelId: string; outcome: DeliveryOutcome['status'] }>;
}

export async function probeDueChannels(deps: DeliveryDeps): Promise<ProbeSummary> {
  const summary: ProbeSummary = { probed: [] };
  const now = deps.clock.now();
  for (const channel of deps.channels) {
    const status = await deps.ledger.getChannelStatus(channel.id);
    if (!status?.pausedUntil || Date.parse(status.pausedUntil) > now.getTime()) continue;
    if (status.probeHolder && status.probeUntil && Date.parse(status.probeUntil) > now.getTime()) continue;
    const held = await heldOf(deps.ledger, channel.id);
    const trial = planRelease(
      held.map((h) => h.message),
      channel,
    ).messages[0];
    // Nothing waits: the next notification for the channel will be its probe.
    if (!trial) continue;
    const outcome = await deliverMessage(trial, deps);
    summary.probed.push({ channelId: channel.id, outcome: outcome.status });
  }
  return summary;
}

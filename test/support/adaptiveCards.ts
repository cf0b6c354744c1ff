/**
 * Validates a card with the official Adaptive Cards renderer (the `adaptivecards` package, loaded
 * from its CommonJS bundle, which needs no DOM to parse). Problems are: parse events (unknown
 * element/action types, invalid values), validateProperties() failures, and anything the
 * renderer dropped when serialising the card back (a property it did not understand), except the
 * Teams-only `msteams` extension.
 */
import type * as AdaptiveCardsModule from 'adaptivecards';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const AC = require('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCardsModule;

function stripTeamsExtensions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stripTeamsExtensions);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (k !== 'msteams') out[k] = stripTeamsExtensions(v);
    return out;
  }
  return value;
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}

export function adaptiveCardProblems(content: unknown): string[] {
  const problems: string[] = [];
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext(AC.Versions.v1_5);
  card.parse(content, context);
  for (let i = 0; i < context.eventCount; i++) {
    const e = context.getEventAt(i);
    problems.push(`parse: ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  for (const e of card.validateProperties().validationEvents) {
    problems.push(`validate: ${AC.ValidationEvent[e.event]}: ${e.message}`);
  }
  const roundTrip = card.toJSON();
  if (canonical(roundTrip) !== canonical(stripTeamsExtensions(content))) {
    problems.push('round-trip: the renderer dropped or changed properties');
  }
  return problems;
}

/** Every element and action type used in a card (to assert the allowed set). */
export function cardTypes(content: unknown): Set<string> {
  const types = new Set<string>();
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.type === 'string') types.add(o.type);
      Object.values(o).forEach(walk);
    }
  };
  walk(content);
  return types;
}

/** All strings at `text` of elements of a given type. */
export function textsOf(content: unknown, type: string): string[] {
  const out: string[] = [];
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.type === type && typeof o.text === 'string') out.push(o.text);
      Object.values(o).forEach(walk);
    }
  };
  walk(content);
  return out;
}

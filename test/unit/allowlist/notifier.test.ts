/** The default (log) change notifier. */
import { createLogChangeNotifier } from '../../../shared/allowlist/notifier';
import { makeEntry } from './helpers';

test('the log notifier writes one marked, structured warning per change', async () => {
  const lines: unknown[][] = [];
  const notifier = createLogChangeNotifier({ warn: (...args) => lines.push(args) });
  const after = makeEntry({ id: 'e1' });
  await notifier.announce({ action: 'create', entryId: 'e1', before: null, after, actor: 'alice', reason: 'why', at: '2025-03-01T00:00:00.000Z' });
  expect(lines).toHaveLength(1);
  const text = String(lines[0]![0]);
  expect(text.startsWith('[ALLOWLIST_CHANGE] create e1 by alice: ')).toBe(true);
  const record = JSON.parse(text.slice(text.indexOf(': ') + 2)) as Record<string, unknown>;
  expect(record).toMatchObject({ marker: 'ALLOWLIST_CHANGE', action: 'create', entryId: 'e1', actor: 'alice', reason: 'why', before: null });
});

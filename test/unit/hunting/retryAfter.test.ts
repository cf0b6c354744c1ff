/** Retry-After and "run queries again in" parsing: the wait the scheduler honours after a 429. */
import fc from 'fast-check';
import { parseHttpDate, parseRetryAfter, parseRunAgainIn } from '../../../shared/hunting/retryAfter';

const NOW = new Date('2025-03-04T10:00:00Z');

describe('parseRetryAfter', () => {
  test.each([
    ['0', 0],
    ['1', 1000],
    ['120', 120_000],
    [' 30 ', 30_000],
    ['1.5', 1500],
  ])('delta-seconds %j → %d ms', (header, ms) => {
    expect(parseRetryAfter(header, NOW)).toBe(ms);
  });

  test('IMF-fixdate in the future is relative to the injected now', () => {
    expect(parseRetryAfter('Tue, 04 Mar 2025 10:01:23 GMT', NOW)).toBe(83_000);
  });

  test('RFC 850 and asctime dates are accepted too', () => {
    expect(parseRetryAfter('Tuesday, 04-Mar-25 10:00:10 GMT', NOW)).toBe(10_000);
    expect(parseRetryAfter('Tue Mar  4 10:00:05 2025', NOW)).toBe(5_000);
  });

  test('a date in the past means no wait', () => {
    expect(parseRetryAfter('Tue, 04 Mar 2025 09:59:00 GMT', NOW)).toBe(0);
  });

  test.each([undefined, null, '', '   ', '-5', 'soon', 'Tue, 31 Feb 2025 10:00:00 GMT', 'Tue, 04 Mar 2025 25:00:00 GMT', '1e3'])(
    'nothing usable in %j',
    (header) => {
      expect(parseRetryAfter(header, NOW)).toBeUndefined();
    },
  );

  test('property: any non-negative integer of seconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), NOW)).toBe(seconds * 1000);
      }),
    );
  });

  test('property: Date#toUTCString round-trips to the difference from now', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1995, 0, 1) / 1000, max: Date.UTC(2090, 0, 1) / 1000 }),
        fc.integer({ min: Date.UTC(1995, 0, 1) / 1000, max: Date.UTC(2090, 0, 1) / 1000 }),
        (atSeconds, nowSeconds) => {
          const at = new Date(atSeconds * 1000);
          const now = new Date(nowSeconds * 1000);
          expect(parseHttpDate(at.toUTCString(), now)).toBe(at.getTime());
          expect(parseRetryAfter(at.toUTCString(), now)).toBe(Math.max(0, at.getTime() - now.getTime()));
        },
      ),
    );
  });
});

describe('parseRunAgainIn', () => {
  // The documented CPU-quota text is "You have exceeded processing resources allocated to this
  // tenant. You can run queries again in <duration>." (Microsoft Learn, advanced-hunting-errors).
  const documented = (duration: string): string =>
    `You have exceeded processing resources allocated to this tenant. You can run queries again in ${duration}.`;

  test.each([
    ['00:01:23', 83_000],
    ['00:15:00', 900_000],
    ['1.02:03:04', 93_784_000],
    ['00:00:59.5', 59_500],
    ['00:00:01.1234567', 1_123],
    ['83 seconds', 83_000],
    ['1 second', 1_000],
    ['5 minutes', 300_000],
    ['1 minute and 23 seconds', 83_000],
    ['2 hours, 5 minutes', 7_500_000],
    ['90s', 90_000],
  ])('%s', (duration, ms) => {
    expect(parseRunAgainIn(documented(duration))).toBe(ms);
  });

  test('finds the text inside a JSON error body', () => {
    const body = JSON.stringify({
      error: {
        code: 'TooManyRequests',
        message: 'The query exceeded the allowed limit for your tenant. You can run queries again in 00:01:23.',
      },
    });
    expect(parseRunAgainIn(body)).toBe(83_000);
  });

  test('"try again in" wording is understood', () => {
    expect(parseRunAgainIn('Rate limit exceeded. Try again in 30 seconds.')).toBe(30_000);
  });

  test.each([
    undefined,
    null,
    '',
    'Too many requests.',
    'An unexpected error occurred during query execution. Please try again in a few minutes.',
    'You can run queries again in 00:61:00.',
    'You can run queries again in 3 attempts.',
  ])('nothing usable in %j', (text) => {
    expect(parseRunAgainIn(text)).toBeUndefined();
  });

  test('property: any hh:mm:ss round-trips', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), (h, m, s) => {
        const pad = (n: number): string => String(n).padStart(2, '0');
        expect(parseRunAgainIn(documented(`${pad(h)}:${pad(m)}:${pad(s)}`))).toBe(((h * 60 + m) * 60 + s) * 1000);
      }),
    );
  });
});

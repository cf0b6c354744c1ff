import { classifyAddress, classifyStatus, createHttpSender, type FetchLike, type LookupAll } from '../../../shared/notify/send';
import { TestClock } from '../../support/notifyFixtures';

const clock = new TestClock();
const URL_WITH_SECRET = 'https://hooks.example.com/in?sig=VerySecretSignature42';

function fetchSpy(respond: () => Promise<Response> = async () => new Response('', { status: 202 })) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, init });
    return respond();
  };
  return { fetch, calls };
}

const resolvesTo = (...addresses: string[]): LookupAll => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

describe('address classification', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'private'],
    ['100.127.255.254', 'private'],
    ['fc00::1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.1.1', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    ['fd00:0ec2:0000::0254', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['0.0.0.0', 'reserved'],
    ['224.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['::', 'reserved'],
    ['ff02::1', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['8.8.8.8', 'public'],
    ['52.1.2.3', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['not-an-ip', 'invalid'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });
});

describe('sender destination checks', () => {
  test('public https destination: posts once, without following redirects, with a timeout signal', async () => {
    const { fetch, calls } = fetchSpy();
    const send = createHttpSender({ clock, fetch, lookup: resolvesTo('52.1.2.3') });
    expect(await send({ url: URL_WITH_SECRET, body: '{}', headers: { 'content-type': 'application/json' } })).toEqual({ kind: 'success', status: 202 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.init).toMatchObject({ method: 'POST', redirect: 'manual', body: '{}' });
    expect(calls[0]!.init.signal).toBeInstanceOf(AbortSignal);
  });

  test.each([
    ['127.0.0.1', 'blocked-address-loopback'],
    ['10.0.0.5', 'blocked-address-private'],
    ['100.64.1.1', 'blocked-address-private'],
    ['169.254.169.254', 'blocked-address-metadata'],
    ['fd00:ec2::254', 'blocked-address-metadata'],
    ['fe80::1', 'blocked-address-link-local'],
    ['::ffff:192.168.0.1', 'blocked-address-private'],
  ])('a host resolving to %s is refused before any request', async (address, code) => {
    const { fetch, calls } = fetchSpy();
    const send = createHttpSender({ clock, fetch, lookup: resolvesTo(address) });
    expect(await send({ url: URL_WITH_SECRET, body: '{}', headers: {} })).toEqual({ kind: 'permanent', status: null, code });
    expect(calls).toHaveLength(0);
  });

  test('every resolved address is checked: one private address among public ones refuses', async () => {
    const { fetch, calls } = fetchSpy();
    const send = createHttpSender({ clock, fetch, lookup: resolvesTo('52.1.2.3', '2606:4700::1', '10.9.9.9') });
    expect(await send({ url: URL_WITH_SECRET, body: '', headers: {} })).toMatchObject({ kind: 'permanent', code: 'blocked-address-private' });
    expect(calls).toHaveLength(0);
  });

  test('IP literals are checked without DNS', async () => {
    const lookup = jest.fn(resolvesTo('52.1.2.3'));
    const { fetch, calls } = fetchSpy();
    const send = createHttpSender({ clock, fetch, lookup });
    for (const url of ['https://169.254.169.254/latest', 'https://[::1]/x', 'https://[fd00:ec2::254]/x', 'https://0.0.0.0/']) {
      expect((await send({ url, body: '', headers: {} })).kind).toBe('permanent');
    }
    expect(lookup).not.toHaveBeenCalled();
    expect(calls).toHaveLength(0);
  });

  test('https only; credentials in urls refused; loopback+http only with allowLoopbackForTests', async () => {
    const { fetch, calls } = fetchSpy();
    const send = createHttpSender({ clock, fetch, lookup: resolvesTo('52.1.2.3') });
    expect(await send({ url: 'http://hooks.example.com/x', body: '', headers: {} })).toMatchObject({ code: 'insecure-url' });
    expect(await send({ url: 'ftp://hooks.example.com/x', body: '', headers: {} })).toMatchObject({ code: 'insecure-url' });
    expect(await send({ url: 'https://u:p@hooks.example.com/x', body: '', headers: {} })).toMatchObject({ code: 'credentials-in-url' });
    expect(await send({ url: 'not a url', body: '', headers: {} })).toMatchObject({ code: 'invalid-url' });
    expect(calls).toHaveLength(0);

    const testSend = createHttpSender({ clock, fetch, lookup: resolvesTo('127.0.0.1'), allowLoopbackForTests: true });
    expect(await testSend({ url: 'http://localhost:1234/x', body: '', headers: {} })).toMatchObject({ kind: 'success' });
    // The test switch admits loopback only: private and metadata stay blocked.
    const testSendPrivate = createHttpSender({ clock, fetch, lookup: resolvesTo('192.168.1.1'), allowLoopbackForTests: true });
    expect(await testSendPrivate({ url: 'http://router.local/x', body: '', headers: {} })).toMatchObject({ code: 'blocked-address-private' });
    expect(await testSend({ url: 'http://169.254.169.254/x', body: '', headers: {} })).toMatchObject({ code: 'blocked-address-metadata' });
  });

  test('DNS failure is retryable and known not delivered', async () => {
    const { fetch } = fetchSpy();
    const lookup: LookupAll = async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND hooks.example.com'), { code: 'ENOTFOUND' });
    };
    const outcome = await createHttpSender({ clock, fetch, lookup })({ url: URL_WITH_SECRET, body: '', headers: {} });
    expect(outcome).toEqual({ kind: 'retryable', status: null, code: 'dns-ENOTFOUND', retryAfterSeconds: null, maybeDelivered: false });
    expect(JSON.stringify(outcome)).not.toContain('hooks.example.com');
  });
});

describe('responses and failures', () => {
  const lookup = resolvesTo('52.1.2.3');
  const post = (fetch: FetchLike, options: { timeoutMs?: number; maxResponseBytes?: number } = {}) =>
    createHttpSender({ clock, fetch, lookup, ...options })({ url: URL_WITH_SECRET, body: '{}', headers: {} });

  test.each([
    [200, { kind: 'success', status: 200 }],
    [202, { kind: 'success', status: 202 }],
    [400, { kind: 'permanent', status: 400, code: 'http-400' }],
    [401, { kind: 'permanent', status: 401, code: 'http-401' }],
    [404, { kind: 'permanent', status: 404, code: 'http-404' }],
    [413, { kind: 'permanent', status: 413, code: 'http-413' }],
    [410, { kind: 'gone', status: 410, code: 'http-410' }],
    [408, { kind: 'retryable', status: 408, code: 'http-408', retryAfterSeconds: null, maybeDelivered: false }],
    [500, { kind: 'retryable', status: 500, code: 'http-500', retryAfterSeconds: null, maybeDelivered: false }],
    [503, { kind: 'retryable', status: 503, code: 'http-503', retryAfterSeconds: null, maybeDelivered: false }],
    [301, { kind: 'permanent', status: 301, code: 'redirect-refused' }],
    [307, { kind: 'permanent', status: 307, code: 'redirect-refused' }],
  ])('status %i', async (status, expected) => {
    expect(await post(async () => new Response(null, { status, headers: status >= 300 && status < 400 ? { location: 'http://169.254.169.254/' } : {} }))).toEqual(expected);
  });

  test('429 with Retry-After (seconds or date)', async () => {
    expect(await post(async () => new Response('', { status: 429, headers: { 'retry-after': '30' } }))).toMatchObject({ kind: 'retryable', retryAfterSeconds: 30 });
    const date = new Date(clock.now().getTime() + 90_000).toUTCString();
    expect(classifyStatus(429, date, clock.now())).toMatchObject({ retryAfterSeconds: 90 });
  });

  test('an opaque redirect (fetch redirect: manual in browsers) is a failure', async () => {
    const opaque = { type: 'opaqueredirect', status: 0, headers: new Headers(), body: null } as unknown as Response;
    expect(await post(async () => opaque)).toEqual({ kind: 'permanent', status: null, code: 'redirect-refused' });
  });

  test('timeout: the attempt is aborted and counts as maybe delivered', async () => {
    const hang: FetchLike = (_url, init) =>
      new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))));
    expect(await post(hang, { timeoutMs: 20 })).toEqual({ kind: 'retryable', status: null, code: 'timeout', retryAfterSeconds: null, maybeDelivered: true });
  });

  test('network errors: refused connections were not delivered, resets may have been', async () => {
    const failing = (code: string): FetchLike => async () => {
      throw new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} hooks.example.com`), { code }) });
    };
    expect(await post(failing('ECONNREFUSED'))).toMatchObject({ kind: 'retryable', code: 'network-ECONNREFUSED', maybeDelivered: false });
    expect(await post(failing('ECONNRESET'))).toMatchObject({ kind: 'retryable', code: 'network-ECONNRESET', maybeDelivered: true });
    expect(await post(async () => Promise.reject(new Error('weird')))).toMatchObject({ kind: 'retryable', code: 'network-UNKNOWN', maybeDelivered: true });
  });

  test('reads at most maxResponseBytes of the answer', async () => {
    let pulled = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled += 1024;
        controller.enqueue(new Uint8Array(1024));
      },
    }, { highWaterMark: 0 });
    expect(await post(async () => new Response(endless, { status: 202 }), { maxResponseBytes: 8 * 1024 })).toEqual({ kind: 'success', status: 202 });
    expect(pulled).toBeLessThanOrEqual(9 * 1024);
    // A declared length over the cap is not read at all.
    let read = false;
    const big = new ReadableStream<Uint8Array>({
      pull(controller) {
        read = true;
        controller.enqueue(new Uint8Array(10));
        controller.close();
      },
    }, { highWaterMark: 0 });
    expect(await post(async () => new Response(big, { status: 500, headers: { 'content-length': '99999999' } }), { maxResponseBytes: 1024 })).toMatchObject({ code: 'http-500' });
    expect(read).toBe(false);
  });

  test('no outcome mentions the url or its secret', async () => {
    const outcomes = [
      await post(async () => new Response('', { status: 400 })),
      await post(async () => {
        throw new TypeError(`fetch failed ${URL_WITH_SECRET}`, { cause: { code: 'ECONNRESET', message: URL_WITH_SECRET } });
      }),
      await post(async () => new Response('', { status: 302, headers: { location: URL_WITH_SECRET } })),
    ];
    for (const o of outcomes) {
      expect(JSON.stringify(o)).not.toContain('VerySecretSignature42');
      expect(JSON.stringify(o)).not.toContain('hooks.example.com');
    }
  });
});

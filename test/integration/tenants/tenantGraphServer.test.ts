/**
 * The local Graph for many tenants, through the production Graph client: each tenant's token gets
 * that tenant's rows only; each tenant is throttled on its own; a fault hits one tenant alone.
 */
import { GraphHuntingClient } from '../../../shared/hunting/graphClient';
import { HuntingAuthError, HuntingQuotaError } from '../../../shared/hunting/errors';
import { LocalTenantCredential, startTenantGraphServer, type LocalTenant, type TenantGraphServer } from '../../../shared/hunting/tenantGraphServer';

const A = '00000000-0000-4000-8000-00000000000a';
const B = '00000000-0000-4000-8000-00000000000b';
const rowsOf = (device: string) => ({ schema: [{ name: 'DeviceName', type: 'String' }], results: [{ DeviceName: device }] });

let server: TenantGraphServer;
let now = 0;
const tenants = new Map<string, LocalTenant>();

beforeEach(async () => {
  now = 0;
  tenants.clear();
  tenants.set(A, { data: rowsOf('a-device') });
  tenants.set(B, { data: rowsOf('b-device') });
  server = await startTenantGraphServer({ tenants, now: () => now });
});
afterEach(() => server.close());

const client = (tid: string) => new GraphHuntingClient({ baseUrl: server.baseUrl, authentication: 'entra', credential: new LocalTenantCredential(tid), timeoutMs: 5_000 });

test("each tenant's token reads that tenant's rows", async () => {
  expect((await client(A).runHuntingQuery({ query: 'DeviceProcessEvents' })).results).toEqual([{ DeviceName: 'a-device' }]);
  expect((await client(B).runHuntingQuery({ query: 'DeviceProcessEvents' })).results).toEqual([{ DeviceName: 'b-device' }]);
  await expect(client('00000000-0000-4000-8000-0000000000ff').runHuntingQuery({ query: 'x' })).rejects.toThrow(HuntingAuthError);
});

test('the 46th call of a tenant within a minute is refused with 429; the other tenant is not', async () => {
  for (let i = 0; i < 45; i++) await client(A).runHuntingQuery({ query: 'x' });
  await expect(client(A).runHuntingQuery({ query: 'x' })).rejects.toThrow(HuntingQuotaError);
  await client(B).runHuntingQuery({ query: 'x' });
  expect(server.rateRefusals.get(A)).toBe(1);
  expect(server.rateRefusals.get(B)).toBeUndefined();
  expect(server.peakPerMinute(A)).toBe(46);
  now = 60_000;
  await client(A).runHuntingQuery({ query: 'x' });
});

test('a fault answers for one tenant only', async () => {
  tenants.set(A, { data: rowsOf('a'), fault: () => ({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'Lifetime validation failed, the token is expired.' } } }) });
  await expect(client(A).runHuntingQuery({ query: 'x' })).rejects.toThrow(HuntingAuthError);
  expect((await client(B).runHuntingQuery({ query: 'x' })).results).toHaveLength(1);
});

/** Per-tenant credentials of the provider app: one credential and one token per tenant, reused until near expiry. */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { adminConsentUrl, CachedTokenCredential, TenantCredentials, TOKEN_REFRESH_MARGIN_MS } from '../../../shared/tenants/credentials';
import type { TokenCredentialOptions } from '../../../shared/hunting/credentials';
import { HuntingConfigurationError } from '../../../shared/hunting/errors';
import { makeTenant } from '../../support/tenants';

const APP = '9d2b8f0e-0000-4000-8000-00000000c0de';

const tenant = makeTenant;

class CountingCredential implements TokenCredential {
  calls = 0;
  constructor(private readonly now: () => number) {}
  async getToken(): Promise<AccessToken> {
    this.calls += 1;
    return { token: `t${this.calls}`, expiresOnTimestamp: this.now() + 3_600_000 };
  }
}

test('a token is reused until shortly before it expires; concurrent callers share one request', async () => {
  let now = 0;
  const inner = new CountingCredential(() => now);
  const cached = new CachedTokenCredential(inner, () => now);
  const [a, b] = await Promise.all([cached.getToken('s'), cached.getToken('s')]);
  expect(a?.token).toBe('t1');
  expect(b?.token).toBe('t1');
  now = 3_600_000 - TOKEN_REFRESH_MARGIN_MS - 1;
  expect((await cached.getToken('s'))?.token).toBe('t1');
  now += 2;
  expect((await cached.getToken('s'))?.token).toBe('t2');
  expect(inner.calls).toBe(2);
});

test('a refused token is not cached: the next call asks Entra again', async () => {
  let fail = true;
  const inner: TokenCredential = {
    async getToken() {
      if (fail) throw new Error('AADSTS700016: not consented');
      return { token: 'ok', expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
  const cached = new CachedTokenCredential(inner);
  await expect(cached.getToken('s')).rejects.toThrow(/700016/);
  fail = false;
  expect((await cached.getToken('s'))?.token).toBe('ok');
});

test('one credential per tenant, built for that tenant, with the certificate or the secret the tenant names', () => {
  const made: TokenCredentialOptions[] = [];
  const credentials = new TenantCredentials({
    app: { clientId: APP, certificatePem: '-----BEGIN CERTIFICATE-----', certificatePath: null },
    secretSetting: (name) => (name === 'TENANT_FABRIKAM_SECRET' ? 's3cret' : undefined),
    create: (options) => {
      made.push(options);
      return new CountingCredential(Date.now);
    },
  });
  const contoso = tenant('contoso');
  expect(credentials.credentialFor(contoso)).toBe(credentials.credentialFor(contoso));
  credentials.credentialFor(tenant('fabrikam', { credential: { kind: 'secret', setting: 'TENANT_FABRIKAM_SECRET' } }));
  credentials.credentialFor(tenant('gov', { graphBaseUrl: 'https://graph.microsoft.us' }));
  expect(made).toEqual([
    { kind: 'client-certificate-pem', tenantId: 'contoso.onmicrosoft.com', clientId: APP, certificate: '-----BEGIN CERTIFICATE-----', authorityHost: 'https://login.microsoftonline.com' },
    { kind: 'client-secret', tenantId: 'fabrikam.onmicrosoft.com', clientId: APP, clientSecret: 's3cret', authorityHost: 'https://login.microsoftonline.com' },
    { kind: 'client-certificate-pem', tenantId: 'gov.onmicrosoft.com', clientId: APP, certificate: '-----BEGIN CERTIFICATE-----', authorityHost: 'https://login.microsoftonline.us' },
  ]);
  // A changed tenant id builds a new credential (and drops the old one).
  credentials.credentialFor({ ...contoso, entraTenantId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' });
  expect(made).toHaveLength(4);
});

test('what is missing is said by name, never the secret', () => {
  const credentials = new TenantCredentials({ app: { clientId: APP, certificatePem: null, certificatePath: null }, secretSetting: () => undefined });
  expect(() => credentials.credentialFor(tenant('contoso'))).toThrow(/PROVIDER_APP_CERTIFICATE/);
  expect(() => credentials.credentialFor(tenant('x', { credential: { kind: 'secret', setting: 'TENANT_X_SECRET' } }))).toThrow(/TENANT_X_SECRET is not set/);
  const noApp = new TenantCredentials({ app: { clientId: null, certificatePem: 'pem', certificatePath: null }, secretSetting: () => undefined });
  expect(() => noApp.credentialFor(tenant('contoso'))).toThrow(HuntingConfigurationError);
  expect(() => noApp.credentialFor(tenant('contoso'))).toThrow(/PROVIDER_APP_CLIENT_ID/);
});

test("the admin consent URL is the tenant's cloud authority, its tenant and the provider app", () => {
  expect(adminConsentUrl({ graphBaseUrl: 'https://graph.microsoft.com', entraTenantId: 'contoso.onmicrosoft.com', clientId: APP })).toBe(
    `https://login.microsoftonline.com/contoso.onmicrosoft.com/adminconsent?client_id=${APP}`,
  );
  expect(adminConsentUrl({ graphBaseUrl: 'https://graph.microsoft.us', entraTenantId: 'gov', clientId: APP, redirectUri: 'https://soc.example.com/consented' })).toBe(
    `https://login.microsoftonline.us/gov/adminconsent?client_id=${APP}&redirect_uri=https%3A%2F%2Fsoc.example.com%2Fconsented`,
  );
});

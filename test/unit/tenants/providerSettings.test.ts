/** The provider app's settings: an unresolved Key Vault reference is named when a tenant needs it, never a configuration error. */
import { ConfigError, describeSettings, loadSettings } from '../../../shared/config/settings';
import { TenantCredentials } from '../../../shared/tenants/credentials';
import { makeTenant } from '../../support/tenants';

const BASE = { Storage: 'UseDevelopmentStorage=true', PROVIDER_APP_CLIENT_ID: '9d2b8f0e-0000-4000-8000-00000000c0de' };
const PEM = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n';

function credentialsFor(env: Record<string, string>): TenantCredentials {
  const settings = loadSettings(env);
  return new TenantCredentials({
    app: { clientId: settings.tenants.appClientId, certificatePem: settings.tenants.appCertificatePem, certificatePath: null, certificateProblem: settings.tenants.appCertificateProblem },
    secretSetting: (name) => env[name],
    create: () => ({ getToken: async () => null }),
  });
}

test('a certificate reference that did not resolve (no certificate in the vault yet) is not a configuration error', () => {
  const env = { ...BASE, PROVIDER_APP_CERTIFICATE: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/provider-app)' };
  const settings = loadSettings(env);
  expect(settings.tenants).toMatchObject({ appCertificatePem: null, appCertificateProblem: expect.stringMatching(/did not resolve/) });
  expect(() => credentialsFor(env).credentialFor(makeTenant('contoso'))).toThrow(/PROVIDER_APP_CERTIFICATE is a Key Vault reference that did not resolve/);
});

test('the PEM is used when it holds a key and a certificate; anything else is refused without being quoted', () => {
  const settings = loadSettings({ ...BASE, PROVIDER_APP_CERTIFICATE: PEM });
  expect(settings.tenants.appCertificatePem).toBe(PEM.trim());
  expect(JSON.stringify(describeSettings(settings))).not.toContain('MIIE');
  let error: unknown;
  try {
    loadSettings({ ...BASE, PROVIDER_APP_CERTIFICATE: 'not-a-pem-s3cret' });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect(String(error)).toMatch(/PROVIDER_APP_CERTIFICATE must be PEM/);
  expect(String(error)).not.toContain('s3cret');
});

test('a per-tenant secret reference that did not resolve is named, not used as the secret', () => {
  const env = { ...BASE, TENANT_X_SECRET: '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/x)' };
  expect(() => credentialsFor(env).credentialFor(makeTenant('x', { credential: { kind: 'secret', setting: 'TENANT_X_SECRET' } }))).toThrow(/Key Vault reference in TENANT_X_SECRET did not resolve/);
});

/** createTokenCredential: the right @azure/identity class per kind, and refusals of empty settings. */
import {
  ClientCertificateCredential,
  ClientSecretCredential,
  DefaultAzureCredential,
  ManagedIdentityCredential,
} from '@azure/identity';
import { createTokenCredential } from '../../../shared/hunting/credentials';
import type { TokenCredentialOptions } from '../../../shared/hunting/credentials';
import { HuntingConfigurationError } from '../../../shared/hunting/errors';

const TENANT = '00000000-0000-0000-0000-000000000001';
const CLIENT = '00000000-0000-0000-0000-000000000002';

describe('createTokenCredential', () => {
  test('managed identity, system- and user-assigned', () => {
    expect(createTokenCredential({ kind: 'managed-identity' })).toBeInstanceOf(ManagedIdentityCredential);
    expect(createTokenCredential({ kind: 'managed-identity', clientId: CLIENT })).toBeInstanceOf(ManagedIdentityCredential);
  });

  test('client secret with a national cloud authority', () => {
    const credential = createTokenCredential({
      kind: 'client-secret',
      tenantId: TENANT,
      clientId: CLIENT,
      clientSecret: 'not-a-real-secret',
      authorityHost: 'https://login.microsoftonline.us',
    });
    expect(credential).toBeInstanceOf(ClientSecretCredential);
  });

  test('client certificate (the file is read when a token is first requested)', () => {
    const credential = createTokenCredential({
      kind: 'client-certificate',
      tenantId: TENANT,
      clientId: CLIENT,
      certificatePath: '/nonexistent/cert.pem',
    });
    expect(credential).toBeInstanceOf(ClientCertificateCredential);
  });

  test('default chain', () => {
    expect(createTokenCredential({ kind: 'default' })).toBeInstanceOf(DefaultAzureCredential);
  });

  test.each<[string, TokenCredentialOptions]>([
    ['tenantId', { kind: 'client-secret', tenantId: ' ', clientId: CLIENT, clientSecret: 's' }],
    ['clientSecret', { kind: 'client-secret', tenantId: TENANT, clientId: CLIENT, clientSecret: '' }],
    ['certificatePath', { kind: 'client-certificate', tenantId: TENANT, clientId: CLIENT, certificatePath: '' }],
    ['clientId', { kind: 'managed-identity', clientId: '' }],
  ])('refuses an empty %s', (field, options) => {
    expect(() => createTokenCredential(options)).toThrow(HuntingConfigurationError);
    expect(() => createTokenCredential(options)).toThrow(field);
  });

  test('an unknown kind from untyped configuration names only the kind, never the secret', () => {
    const options = JSON.parse('{"kind":"password","clientSecret":"hunter2"}') as TokenCredentialOptions;
    expect(() => createTokenCredential(options)).toThrow(/Unknown credential kind: "password"/);
    expect(() => createTokenCredential(options)).not.toThrow(/hunter2/);
  });
});

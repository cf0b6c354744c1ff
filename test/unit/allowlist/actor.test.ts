/**
 * Issue #15 item 10: the CLI writes the signed-in identity into the audit trail, read from the
 * credential's access token, and takes a free `--actor` only against local development storage.
 */
import type { AccessToken, TokenCredential } from '@azure/identity';
import { actorFromAccessToken, resolveCliActor } from '../../../shared/allowlist/actor';

function jwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}.signature`;
}

function credential(claims: Record<string, unknown>): TokenCredential & { scopes: string[] } {
  const scopes: string[] = [];
  return {
    scopes,
    async getToken(scope: string | string[]): Promise<AccessToken> {
      scopes.push(...(Array.isArray(scope) ? scope : [scope]));
      return { token: jwt(claims), expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };
}

test('a person: upn and object id', () => {
  expect(actorFromAccessToken(jwt({ upn: 'alice@contoso.com', oid: 'o-1', tid: 't' }))).toBe('alice@contoso.com (o-1)');
});
test('a service principal: appid and object id', () => {
  expect(actorFromAccessToken(jwt({ appid: 'app-7', oid: 'o-7' }))).toBe('app:app-7 (o-7)');
});
test('an unreadable token is refused', () => {
  expect(() => actorFromAccessToken('not-a-token')).toThrow(/token/);
  expect(() => actorFromAccessToken(jwt({ tid: 't' }))).toThrow(/upn, oid or appid/);
});

describe('resolveCliActor', () => {
  const azure = { kind: 'identity' as const, tableServiceUri: 'https://acct.table.core.windows.net', queueServiceUri: 'https://acct.queue.core.windows.net', clientId: null };
  const keyed = { kind: 'connection-string' as const, connectionString: 'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=a2V5;EndpointSuffix=core.windows.net' };
  const dev = { kind: 'connection-string' as const, connectionString: 'UseDevelopmentStorage=true' };

  test('Azure storage: the token decides; --actor is refused', async () => {
    const c = credential({ upn: 'alice@contoso.com', oid: 'o-1' });
    await expect(resolveCliActor({ storage: azure, actorFlag: undefined, user: 'root', credential: () => c })).resolves.toBe('alice@contoso.com (o-1)');
    expect(c.scopes).toEqual(['https://storage.azure.com/.default']);
    await expect(resolveCliActor({ storage: keyed, actorFlag: undefined, user: 'root', credential: () => c })).resolves.toBe('alice@contoso.com (o-1)');
    await expect(resolveCliActor({ storage: azure, actorFlag: 'someone-else', user: 'root', credential: () => c })).rejects.toThrow(/--actor .*local development storage/);
  });
  test('local development storage: --actor or cli:$USER', async () => {
    const never = () => {
      throw new Error('no credential needed');
    };
    await expect(resolveCliActor({ storage: dev, actorFlag: 'tester', user: 'root', credential: never })).resolves.toBe('tester');
    await expect(resolveCliActor({ storage: dev, actorFlag: undefined, user: 'root', credential: never })).resolves.toBe('cli:root');
    const azurite = { kind: 'connection-string' as const, connectionString: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;' };
    await expect(resolveCliActor({ storage: azurite, actorFlag: 'tester', user: 'root', credential: never })).resolves.toBe('tester');
  });
});

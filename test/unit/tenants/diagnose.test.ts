/**
 * What is missing, read from Entra's and Graph's real answers: the AADSTS codes inside the errors
 * @azure/identity throws (message text as it prints it), the roles of the app-only token, and
 * Graph's 401/403 bodies.
 */
import {
  decodeTokenClaims,
  diagnoseGraphRefusal,
  diagnoseTokenClaims,
  diagnoseTokenFailure,
} from '../../../shared/tenants/diagnose';
import { localTenantToken } from '../../../shared/hunting/tenantGraphServer';

const TID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

function identityError(code: number, description: string): Error {
  // How @azure/identity 4 surfaces a token endpoint refusal from MSAL (AuthenticationRequiredError).
  const error = new Error(`unauthorized_client: Error(s): ${code} - Timestamp: 2025-03-04 10:00:00Z - Description: AADSTS${code}: ${description}\r\nTrace ID: 1\r\nCorrelation ID: 2`);
  error.name = 'AuthenticationRequiredError';
  return error;
}

test.each([
  [90002, "Tenant 'contoso.example' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", 'wrong-tenant-id'],
  [900023, "Specified tenant identifier 'not-a-tenant' is neither a valid DNS name, nor a valid external domain.", 'wrong-tenant-id'],
  [700016, "Application with identifier 'app' was not found in the directory 'Contoso'. This can happen if the application has not been installed by the administrator of the tenant.", 'admin-consent-missing'],
  [7000215, 'Invalid client secret provided.', 'credential-rejected'],
  [700027, 'Client assertion failed signature validation.', 'credential-rejected'],
  [7000112, 'Application is disabled.', 'app-disabled'],
  [500011, 'The resource principal named https://graph.microsoft.us was not found in the tenant.', 'wrong-cloud'],
])('AADSTS%i is %s', (code, description, problem) => {
  expect(diagnoseTokenFailure(identityError(code, description))).toMatchObject({ problem, aadsts: code });
});

test('an unknown AADSTS code is named; a network failure says the endpoint was unreachable', () => {
  expect(diagnoseTokenFailure(identityError(1234567, 'Something new.'))).toMatchObject({ problem: 'unexpected', aadsts: 1234567 });
  expect(diagnoseTokenFailure(new Error('getaddrinfo ENOTFOUND login.microsoftonline.com'))).toMatchObject({ problem: 'unreachable' });
});

test('a token without ThreatHunting.Read.All in roles means the permission is missing or not consented', () => {
  const without = decodeTokenClaims(localTenantToken(TID, { roles: ['SecurityEvents.Read.All'], expiresAt: 0 }));
  expect(diagnoseTokenClaims(without, TID)).toMatchObject({ problem: 'permission-missing' });
  expect(diagnoseTokenClaims(decodeTokenClaims(localTenantToken(TID, { roles: [], expiresAt: 0 })), TID)?.advice).toMatch(/roles: none/);
  expect(diagnoseTokenClaims(decodeTokenClaims(localTenantToken(TID, { expiresAt: 0 })), TID)).toBeNull();
});

test('a token issued by another tenant is a wrong tenant id; an opaque token leaves the decision to Graph', () => {
  const other = decodeTokenClaims(localTenantToken('11111111-2222-3333-4444-555555555555', { expiresAt: 0 }));
  expect(diagnoseTokenClaims(other, TID)).toMatchObject({ problem: 'wrong-tenant-id' });
  expect(decodeTokenClaims('opaque-token')).toBeNull();
  expect(diagnoseTokenClaims(null, TID)).toBeNull();
});

test("Graph's 403, 401 and 429 are told apart", () => {
  expect(diagnoseGraphRefusal(403, 'Forbidden', 'Missing application roles. API required roles: ThreatHunting.Read.All.')).toMatchObject({ problem: 'permission-missing' });
  expect(diagnoseGraphRefusal(401, 'InvalidAuthenticationToken', 'Access token validation failure. Invalid audience.')).toMatchObject({ problem: 'token-rejected' });
  expect(diagnoseGraphRefusal(429, 'TooManyRequests', 'Rate limit is exceeded.')).toMatchObject({ problem: 'throttled' });
});

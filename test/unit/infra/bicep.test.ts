/**
 * Static checks of infra/ where no Bicep compiler is available: modules are called with
 * parameters they declare (and every required one), module outputs that are used exist, the
 * azd parameters file matches main.bicep, and the security properties the deployment promises
 * are in the templates (no shared keys, TLS 1.2, local auth off, RBAC Key Vault, Return401, only
 * the needed data roles). `az bicep build` / `azd provision --preview` remain the real check.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const infra = path.resolve(__dirname, '../../../infra');
const read = (rel: string) => fs.readFileSync(path.join(infra, rel), 'utf8');
const main = read('main.bicep');

/** The text between the `{` at `start` (inclusive) and its matching `}`. */
function braceBlock(text: string, start: number): string {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(start, i + 1);
  }
  throw new Error('unbalanced braces');
}

/** Keys at the first nesting level of an object literal block `{ ... }`. */
function topLevelKeys(block: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (const line of block.split('\n')) {
    const trimmed = line.trim();
    if (depth === 1) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*:/.exec(trimmed);
      if (m) keys.push(m[1]!);
    }
    for (const c of trimmed.replace(/'(?:[^'\\]|\\.)*'/g, "''")) {
      if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') depth--;
    }
  }
  return keys;
}

interface ModuleCall {
  symbol: string;
  file: string;
  params: string[];
}

function moduleCalls(text: string): ModuleCall[] {
  return [...text.matchAll(/^module (\w+) '([^']+)' = (?:if \([^)]*\) )?\{/gm)].map((m) => {
    const block = braceBlock(text, m.index + m[0].length - 1);
    const paramsAt = block.indexOf('params: {');
    return { symbol: m[1]!, file: m[2]!, params: paramsAt < 0 ? [] : topLevelKeys(braceBlock(block, paramsAt + 'params: '.length)) };
  });
}

function declaredParams(text: string): { name: string; required: boolean }[] {
  return [...text.matchAll(/^param (\w+) ([\w[\]]+)( = .*)?$/gm)].map((m) => ({ name: m[1]!, required: m[3] === undefined }));
}

const declaredOutputs = (text: string) => [...text.matchAll(/^output (\w+) /gm)].map((m) => m[1]!);

test('every module exists, gets only parameters it declares and every required one', () => {
  const calls = moduleCalls(main);
  expect(calls.map((c) => c.symbol)).toEqual(['identity', 'storage', 'monitoring', 'keyVault', 'rbac', 'functionApp', 'authApp', 'auth', 'graphPermission', 'alerts']);
  for (const call of calls) {
    const file = path.join(infra, call.file);
    expect(fs.existsSync(file)).toBe(true);
    const params = declaredParams(fs.readFileSync(file, 'utf8'));
    const names = params.map((p) => p.name);
    expect({ module: call.file, unknown: call.params.filter((p) => !names.includes(p)) }).toEqual({ module: call.file, unknown: [] });
    const missing = params.filter((p) => p.required && !call.params.includes(p.name)).map((p) => p.name);
    expect({ module: call.file, missing }).toEqual({ module: call.file, missing: [] });
  }
});

test('every module output main.bicep uses is declared by the module', () => {
  const files = new Map(moduleCalls(main).map((c) => [c.symbol, fs.readFileSync(path.join(infra, c.file), 'utf8')]));
  for (const [, symbol, output] of main.matchAll(/\b(\w+)\.outputs\.(\w+)/g)) {
    const text = files.get(symbol!);
    expect({ symbol, known: text !== undefined }).toEqual({ symbol, known: true });
    expect({ ref: `${symbol}.outputs.${output}`, declared: declaredOutputs(text!).includes(output!) }).toEqual({ ref: `${symbol}.outputs.${output}`, declared: true });
  }
});

test('main.parameters.json sets only parameters of main.bicep, with azd substitutions', () => {
  const parameters = (JSON.parse(read('main.parameters.json')) as { parameters: Record<string, { value: string }> }).parameters;
  const names = declaredParams(main).map((p) => p.name);
  expect(Object.keys(parameters).filter((p) => !names.includes(p))).toEqual([]);
  expect(parameters.environmentName!.value).toBe('${AZURE_ENV_NAME}');
  expect(parameters.location!.value).toBe('${AZURE_LOCATION}');
  for (const [name, { value }] of Object.entries(parameters)) expect({ name, value }).toEqual({ name, value: expect.stringMatching(/^\$\{[A-Z_]+(=[^}]*)?\}$/) });
  // Every parameter without a default comes from the file.
  expect(declaredParams(main).filter((p) => p.required).map((p) => p.name).filter((p) => !(p in parameters))).toEqual([]);
});

test('Microsoft Graph resources only in modules that load the microsoftGraphV1 extension', () => {
  const config = JSON.parse(read('bicepconfig.json')) as { extensions: Record<string, string> };
  expect(config.extensions.microsoftGraphV1).toMatch(/^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+/);
  for (const file of fs.readdirSync(path.join(infra, 'app'))) {
    const text = read(`app/${file}`);
    const usesGraph = text.includes("'Microsoft.Graph/");
    expect({ file, extension: text.includes('extension microsoftGraphV1') }).toEqual({ file, extension: usesGraph });
  }
  expect(moduleCalls(main).filter((c) => read(c.file).includes("'Microsoft.Graph/")).map((c) => c.symbol)).toEqual(['authApp', 'graphPermission']);
  expect(main).toMatch(/module authApp 'app\/auth-app\.bicep' = if \(createAuthApp\)/);
  expect(main).toMatch(/module graphPermission 'app\/graph-permission\.bicep' = if \(grantGraphPermission\)/);
  expect(read('app/graph-permission.bicep')).toMatch(/role\.value == permission && contains\(role\.allowedMemberTypes, 'Application'\)/);
});

test('storage: no shared keys, TLS 1.2, no public blobs; the deployment container exists', () => {
  const storage = read('app/storage.bicep');
  expect(storage).toContain('allowSharedKeyAccess: false');
  expect(storage).toContain("minimumTlsVersion: 'TLS1_2'");
  expect(storage).toContain('allowBlobPublicAccess: false');
  expect(storage).toContain('name: deploymentContainerName');
});

test('function app: Flex Consumption FC1, Node.js 22, package read with the user-assigned identity', () => {
  const fn = read('app/function.bicep');
  expect(fn).toMatch(/tier: 'FlexConsumption'\s*name: 'FC1'/);
  expect(fn).toMatch(/runtime: \{\s*name: 'node'\s*version: runtimeVersion/);
  expect(fn).toContain("param runtimeVersion string = '22'");
  expect(fn).toMatch(/authentication: \{\s*type: 'UserAssignedIdentity'\s*userAssignedIdentityResourceId: identityId/);
  expect(fn).toContain("type: 'UserAssigned'");
  expect(fn).toContain('httpsOnly: true');
  expect(fn).not.toMatch(/SystemAssigned/);
});

test('monitoring and Key Vault: local authentication off, RBAC authorization', () => {
  const monitoring = read('app/monitoring.bicep');
  expect(monitoring).toContain('DisableLocalAuth: true');
  expect(monitoring).toContain('disableLocalAuth: true');
  expect(monitoring).toContain('WorkspaceResourceId: workspace.id');
  const vault = read('app/keyvault.bicep');
  expect(vault).toContain('enableRbacAuthorization: true');
  expect(vault).toContain("var notifyChannelsSecretName = 'notify-channels'");
});

test('the managed identity gets only the data roles it needs', () => {
  const rbac = read('app/rbac.bicep');
  const roleIds = Object.fromEntries([...rbac.matchAll(/^\s+(\w+): '([0-9a-f-]{36})'$/gm)].map((m) => [m[1]!, m[2]!]));
  expect(roleIds).toEqual({
    storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
    keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
    keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  });
  const appStorage = /var appStorageRoles = \[([\s\S]*?)\]/.exec(rbac)?.[1] ?? '';
  expect([...appStorage.matchAll(/roles\.(\w+)/g)].map((m) => m[1])).toEqual(['storageBlobDataOwner', 'storageQueueDataContributor', 'storageTableDataContributor']);
  // Assignments to the identity: the three storage roles, telemetry and secrets (read only).
  const identityAssignments = [...rbac.matchAll(/principalId: identityPrincipalId/g)].length;
  expect(identityAssignments).toBe(3);
  expect(rbac).toMatch(/name: guid\(vault\.id, identityPrincipalId, roles\.keyVaultSecretsUser\)/);
  expect(rbac).toMatch(/name: guid\(applicationInsights\.id, identityPrincipalId, roles\.monitoringMetricsPublisher\)/);
  expect(rbac).not.toMatch(/identityPrincipalId, roles\.keyVaultSecretsOfficer/);
});

test('App Service authentication: required, 401 for unauthenticated requests, v2 issuer', () => {
  const auth = read('app/auth.bicep');
  expect(auth).toContain("name: 'authsettingsV2'");
  expect(auth).toMatch(/requireAuthentication: true\s*unauthenticatedClientAction: 'Return401'/);
  expect(auth).toContain("openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
  const app = read('app/auth-app.bicep');
  expect([...app.matchAll(/value: '(Allowlist\.\w+)'/g)].map((m) => m[1])).toEqual(['Allowlist.Read', 'Allowlist.Write']);
  expect(app).toContain('requestedAccessTokenVersion: 2');
  expect(app).toContain('appRoleAssignmentRequired: true');
});

test('outputs for azd: function app name and URL, identity client id, key vault name', () => {
  const outputs = declaredOutputs(main);
  for (const name of ['AZURE_FUNCTION_APP_NAME', 'AZURE_FUNCTION_APP_URL', 'AZURE_IDENTITY_CLIENT_ID', 'AZURE_IDENTITY_PRINCIPAL_ID', 'AZURE_KEY_VAULT_NAME', 'AZURE_RESOURCE_GROUP']) {
    expect(outputs).toContain(name);
  }
  expect(main).toMatch(/^targetScope = 'subscription'$/m);
  const azureYaml = fs.readFileSync(path.join(infra, '..', 'azure.yaml'), 'utf8');
  expect(azureYaml).toMatch(/host: function/);
  expect(azureYaml).toMatch(/remoteBuild: false/);
  expect(azureYaml).toMatch(/run: npm run bundle/);
  expect(read('app/function.bicep')).toContain("param serviceName string = 'functions'");
  expect(azureYaml).toMatch(/^services:\n {2}functions:$/m);
});

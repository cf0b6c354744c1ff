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
  return [...text.matchAll(/^module (\w+) '([^']+)' = (?:if \([^)]*\) |\[\s*for [^:]+: )?\{/gm)].map((m) => {
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
  expect(calls.map((c) => c.symbol)).toEqual(['identity', 'apiIdentity', 'network', 'storage', 'huntingHostStorage', 'apiHostStorage', 'monitoring', 'keyVault', 'privateEndpoints', 'rbac', 'apiApp', 'functionApp', 'authApp', 'auth', 'graphPermission', 'alerts']);
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

test('storage: no shared keys, TLS 1.2, no public blobs; each app has its own host account and deployment container', () => {
  for (const file of ['app/storage.bicep', 'app/host-storage.bicep']) {
    const storage = read(file);
    expect(storage).toContain('allowSharedKeyAccess: false');
    expect(storage).toContain("minimumTlsVersion: 'TLS1_2'");
    expect(storage).toContain('allowBlobPublicAccess: false');
  }
  expect(read('app/host-storage.bicep')).toContain('name: deploymentContainerName');
  expect(read('app/storage.bicep')).not.toContain('deploymentContainer');
  expect(main).toMatch(/module huntingHostStorage 'app\/host-storage\.bicep'[\s\S]*?deploymentContainerName: deploymentContainerName\n/);
  expect(main).toMatch(/module apiHostStorage 'app\/host-storage\.bicep'[\s\S]*?deploymentContainerName: apiDeploymentContainerName\n/);
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
  // Instances of 512 MB are allowed (HUNT_ROW_LIMIT 25,000 fits, docs/benchmarks.md).
  for (const text of [fn, main]) expect(/@allowed\(\[\s*512\s*2048\s*4096\s*\]\)\s*(?:@description\([^\n]*\)\s*)?param instanceMemoryMB int = 2048/.test(text)).toBe(true);
  // The package is read from the app's own host account.
  expect(fn).toContain("value: '${hostStorage.properties.primaryEndpoints.blob}${deploymentContainerName}'");
});

test('function apps: basic (user name and password) publishing credentials off for SCM and FTP', () => {
  const fn = read('app/function.bicep');
  for (const name of ['scm', 'ftp']) {
    const block = new RegExp(`resource \\w+ 'Microsoft\\.Web/sites/basicPublishingCredentialsPolicies@[\\d-]+' = \\{\\s*parent: site\\s*name: '${name}'\\s*properties: \\{\\s*allow: false\\s*\\}`).test(fn);
    expect({ name, off: block }).toEqual({ name, off: true });
  }
});

test('private networking: parameterised, off by default; on, storage and Key Vault refuse public traffic', () => {
  expect(main).toContain('param privateNetworking bool = false');
  expect(read('main.parameters.json')).toContain('"${PRIVATE_NETWORKING=false}"');
  expect(main).toMatch(/module network 'app\/network\.bicep' = if \(privateNetworking\)/);
  for (const file of ['app/storage.bicep', 'app/host-storage.bicep', 'app/keyvault.bicep']) {
    const text = read(file);
    expect({ file, public: text.includes("publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'") }).toEqual({ file, public: true });
    expect({ file, acls: text.includes("networkAcls: privateNetworking ? { defaultAction: 'Deny', bypass: 'None' } : ") }).toEqual({ file, acls: true });
  }
  for (const [module, file] of [['storage', 'storage'], ['huntingHostStorage', 'host-storage'], ['apiHostStorage', 'host-storage'], ['keyVault', 'keyvault']]) {
    expect(main).toMatch(new RegExp(`module ${module} 'app/${file}\\.bicep'[\\s\\S]*?privateNetworking: privateNetworking\\n`));
  }
});

test('private networking: private endpoints for table, queue, both host blobs and the vault, with their DNS zones', () => {
  const targets = /var privateEndpointTargets = privateNetworking\s*\?\s*\[([\s\S]*?)\]\s*:\s*\[\]/.exec(main)?.[1] ?? '';
  const rows = [...targets.matchAll(/\{ name: '([\w-]+)', groupId: '(\w+)', targetId: (\w+)\.outputs\.id, zoneId: network\.outputs\.(\w+) \}/g)].map((m) => m.slice(1));
  expect(rows).toEqual([
    ['table', 'table', 'storage', 'tableZoneId'],
    ['queue', 'queue', 'storage', 'queueZoneId'],
    ['hunting-blob', 'blob', 'huntingHostStorage', 'blobZoneId'],
    ['api-blob', 'blob', 'apiHostStorage', 'blobZoneId'],
    ['vault', 'vault', 'keyVault', 'vaultZoneId'],
  ]);
  const network = read('app/network.bicep');
  expect(network).toContain("blob: 'privatelink.blob.${storageSuffix}'");
  expect(network).toContain("queue: 'privatelink.queue.${storageSuffix}'");
  expect(network).toContain("table: 'privatelink.table.${storageSuffix}'");
  expect(network).toContain("param keyVaultPrivateDnsZoneName string = 'privatelink.vaultcore.azure.net'");
  expect(network).toContain("var storageSuffix = environment().suffixes.storage");
  // Flex Consumption VNet integration: one delegated subnet per app (one app per plan).
  expect((network.match(/delegations: appDelegation/g) ?? []).length).toBe(2);
  expect(network).toContain("serviceName: 'Microsoft.App/environments'");
  expect(network).toContain("privateEndpointNetworkPolicies: 'Disabled'");
  const pe = read('app/private-endpoint.bicep');
  expect(pe).toMatch(/groupIds: \[\s*groupId\s*\]/);
  expect(pe).toContain('privateDnsZoneId: privateDnsZoneId');
  // Both apps join their subnet when the option is on.
  expect(read('app/function.bicep')).toContain('virtualNetworkSubnetId: empty(virtualNetworkSubnetId) ? null : virtualNetworkSubnetId');
  expect(main).toContain("virtualNetworkSubnetId: privateNetworking ? network.outputs.huntingSubnetId : ''");
  expect(main).toContain("virtualNetworkSubnetId: privateNetworking ? network.outputs.apiSubnetId : ''");
});

test('monitoring and Key Vault: local authentication off, RBAC authorization', () => {
  const monitoring = read('app/monitoring.bicep');
  expect(monitoring).toContain('DisableLocalAuth: true');
  expect(monitoring).toContain('disableLocalAuth: true');
  expect(monitoring).toContain('WorkspaceResourceId: workspace.id');
  const vault = read('app/keyvault.bicep');
  expect(vault).toContain('enableRbacAuthorization: true');
  expect(vault).toMatch(/^\s+enablePurgeProtection: true$/m);
  expect(vault).toContain('enableSoftDelete: true');
  expect(vault).toContain("var notifyChannelsSecretName = 'notify-channels'");
});

test('two identities: the hunting identity alone holds the Graph permission, each app runs as its own', () => {
  expect(main).toMatch(/module graphPermission 'app\/graph-permission\.bicep' = if \(grantGraphPermission\) \{[\s\S]*?principalId: identity\.outputs\.principalId/);
  expect(main).toContain('param grantGraphPermission bool = false');
  expect(read('main.parameters.json')).toContain('"${GRANT_GRAPH_PERMISSION=false}"');
  const app = (symbol: string) => braceBlock(main, main.indexOf(`module ${symbol} 'app/function.bicep' = {`) + `module ${symbol} 'app/function.bicep' = `.length);
  expect(app('functionApp')).toContain('identityId: identity.outputs.id');
  expect(app('functionApp')).toContain("serviceName: 'hunting'");
  expect(app('functionApp')).toContain('hostStorageAccountName: huntingHostStorage.outputs.name');
  expect(app('apiApp')).toContain('identityId: apiIdentity.outputs.id');
  expect(app('apiApp')).toContain("serviceName: 'api'");
  expect(app('apiApp')).toContain('hostStorageAccountName: apiHostStorage.outputs.name');
  expect(app('apiApp')).toContain('instanceMemoryMB: 512');
  // The hunting app's cards link to the API app.
  expect(app('functionApp')).toContain('allowlistBaseUrl: apiApp.outputs.url');
  // App Service authentication fronts the API app.
  expect(main).toMatch(/module auth 'app\/auth\.bicep' = \{[\s\S]*?functionAppName: apiApp\.outputs\.name/);
});

/** [kind, table or queue, role] rows of one principal's data roles in rbac.bicep. */
function dataRoles(rbac: string, variable: string): string[][] {
  const block = new RegExp(`var ${variable} = [^\\[]*\\[([\\s\\S]*?)\\n\\s*\\]`).exec(rbac)?.[1] ?? '';
  return [...block.matchAll(/\{ kind: '(\w+)', name: ([^,]+), roleId: roles\.(\w+) \}/g)].map((m) => [m[1]!, m[2]!.replace(/'/g, ''), m[3]!]);
}

test('data roles are scoped per table and queue, never to the whole data account', () => {
  const rbac = read('app/rbac.bicep');
  const roleIds = Object.fromEntries([...rbac.matchAll(/^\s+(\w+): '([0-9a-f-]{36})'$/gm)].map((m) => [m[1]!, m[2]!]));
  expect(roleIds).toEqual({
    storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
    storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
    storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a',
    storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925',
    storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
    storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6',
    monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
    keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
    keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  });
  expect(dataRoles(rbac, 'huntingDataRoles')).toEqual([
    ['table', 'checkpoints', 'storageTableDataContributor'],
    ['table', 'incidents', 'storageTableDataContributor'],
    ['table', 'recentsteps', 'storageTableDataContributor'],
    ['table', 'recentfindings', 'storageTableDataContributor'],
    ['table', 'deliveries', 'storageTableDataContributor'],
    ['table', 'allowlist', 'storageTableDataContributor'],
    ['table', 'allowlistaudit', 'storageTableDataReader'],
    ['queue', 'notificationQueue', 'storageQueueDataContributor'],
    ['queue', 'poisonQueue', 'storageQueueDataContributor'],
    ['table', 'tenants', 'storageTableDataContributor'],
    ['queue', 'huntJobsQueue', 'storageQueueDataContributor'],
    ['queue', 'huntJobsPoisonQueue', 'storageQueueDataContributor'],
  ]);
  expect(dataRoles(rbac, 'apiDataRoles')).toEqual([
    ['table', 'allowlist', 'storageTableDataContributor'],
    ['table', 'allowlistaudit', 'storageTableDataContributor'],
    ['table', 'recentfindings', 'storageTableDataContributor'],
    ['queue', 'notificationQueue', 'storageQueueDataMessageSender'],
    ['table', 'tenants', 'storageTableDataReader'],
  ]);
  // People read; they change the allowlist through the API (audited and announced).
  const operator = dataRoles(rbac, 'operatorDataRoles');
  expect(operator.length).toBeGreaterThan(0);
  expect(operator.filter(([, , role]) => !/Reader$/.test(role!))).toEqual([]);
  // The one exception, a grant of its own: the operator edits the tenant registry with the CLI.
  expect(dataRoles(rbac, 'operatorRegistryRoles')).toEqual([['table', 'tenants', 'storageTableDataContributor']]);
  // Every table named exists in storage.bicep.
  const tables = [...(/var tableNames = \[([\s\S]*?)\]/.exec(read('app/storage.bicep'))?.[1] ?? '').matchAll(/'(\w+)'/g)].map((m) => m[1]);
  for (const [kind, name] of [...dataRoles(rbac, 'huntingDataRoles'), ...dataRoles(rbac, 'apiDataRoles'), ...operator]) if (kind === 'table') expect(tables).toContain(name);
  // The only account-scoped data role is Blob Data Owner on each app's own host account.
  expect([...new Set([...rbac.matchAll(/scope: (\w+)\n/g)].map((m) => m[1]))].sort()).toEqual(['apiHost', 'applicationInsights', 'huntingHost', 'vault']);
  expect(rbac).toMatch(/name: guid\(huntingHost\.id, huntingPrincipalId, roles\.storageBlobDataOwner\)\s*scope: huntingHost/);
  expect(rbac).toMatch(/name: guid\(apiHost\.id, apiPrincipalId, roles\.storageBlobDataOwner\)\s*scope: apiHost/);
  expect(rbac).not.toMatch(/scope: (storage|dataStorage)\b/);
  expect(rbac).not.toMatch(/apiPrincipalId, roles\.storageBlobDataOwner\)\s*scope: huntingHost|huntingPrincipalId, roles\.storageBlobDataOwner\)\s*scope: apiHost/);
  expect(rbac).not.toMatch(/(hunting|api)PrincipalId, roles\.keyVaultSecretsOfficer/);
  // The role module scopes to the table or the queue itself.
  const role = read('app/storage-data-role.bicep');
  expect(role).toContain('scope: account::tableService::table');
  expect(role).toContain('scope: account::queueService::queue');
});

test('App Service authentication: the app decides per route (API 401, page sign-in redirect), v2 issuer, browser sign-in registered', () => {
  const auth = read('app/auth.bicep');
  expect(auth).toContain("name: 'authsettingsV2'");
  // The platform lets unauthenticated requests through; every handler refuses them (401 / 403) and
  // the page sends browsers to sign in (shared/allowlist/page/handlers.ts, its Azurite test).
  expect(auth).toMatch(/requireAuthentication: false\s*unauthenticatedClientAction: 'AllowAnonymous'/);
  expect(read('app/function.bicep')).toContain("ALLOWLIST_SIGN_IN_PATH: '/.auth/login/aad'");
  expect(main).toMatch(/webRedirectUris: \['\$\{apiApp\.outputs\.url\}\/\.auth\/login\/aad\/callback'\]/);
  expect(auth).toContain("openIdIssuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
  const app = read('app/auth-app.bicep');
  expect([...app.matchAll(/value: '(Allowlist\.\w+)'/g)].map((m) => m[1])).toEqual(['Allowlist.Read', 'Allowlist.Write', 'Allowlist.Permanent']);
  expect(app).toContain('requestedAccessTokenVersion: 2');
  expect(app).toMatch(/redirectUris: webRedirectUris\s*implicitGrantSettings: \{\s*enableIdTokenIssuance: true/);
  expect(app).toContain('appRoleAssignmentRequired: true');
});

test('outputs for azd: function app name and URL, identity client id, key vault name', () => {
  const outputs = declaredOutputs(main);
  for (const name of ['AZURE_FUNCTION_APP_NAME', 'AZURE_API_APP_NAME', 'AZURE_API_APP_URL', 'AZURE_IDENTITY_CLIENT_ID', 'AZURE_IDENTITY_PRINCIPAL_ID', 'AZURE_KEY_VAULT_NAME', 'AZURE_RESOURCE_GROUP']) {
    expect(outputs).toContain(name);
  }
  expect(main).toMatch(/^targetScope = 'subscription'$/m);
  const azureYaml = fs.readFileSync(path.join(infra, '..', 'azure.yaml'), 'utf8');
  expect(azureYaml).toMatch(/host: function/);
  expect(azureYaml).toMatch(/remoteBuild: false/);
  expect(azureYaml).toMatch(/run: npm run bundle/);
  // azd finds each app by its azd-service-name tag: the azure.yaml service names.
  expect(read('app/function.bicep')).toContain("tags: union(tags, { 'azd-service-name': serviceName })");
  expect([...azureYaml.matchAll(/^ {2}(\w+):$/gm)].map((m) => m[1])).toEqual(['hunting', 'api']);
});

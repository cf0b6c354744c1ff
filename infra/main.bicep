// codesign-hunt on Azure Functions Flex Consumption (Node.js 22), in the layout of the
// Azure-Samples/functions-quickstart-typescript-azd template: subscription scope, one resource
// group, one module per concern under app/. Deployed by `azd up` (azure.yaml) or by
// `az deployment sub create --template-file infra/main.bicep` (docs/DEPLOY.md).
//
// Two function apps, two identities (docs/security.md): the hunting app (hunt timer, deliver queue
// trigger) runs as the hunting identity, the only one that holds the Microsoft Graph permission
// ThreatHunting.Read.All; the allowlist API app runs as the API identity, which may only read and
// write the allowlist tables and announce changes. Each app has its own host storage account and
// deployment package, so neither identity can reach the other's code. Data roles are scoped per
// table and queue (app/rbac.bicep). privateNetworking puts storage and Key Vault behind private
// endpoints with public access off and the apps on VNet integration.
targetScope = 'subscription'

// ---------------------------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; with the subscription and location it seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the person or pipeline that operates the deployment (azd sets AZURE_PRINCIPAL_ID). Gets Key Vault Secrets Officer on the vault (to set notify-channels) and table/queue data access (for the codesign-hunt CLI). Empty: no operator role assignments.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
@description('Kind of principal principalId is.')
param principalType string = 'User'

param resourceGroupName string = ''
param functionAppName string = ''
param functionPlanName string = ''
param apiAppName string = ''
param apiPlanName string = ''
param identityName string = ''
param apiIdentityName string = ''
param storageAccountName string = ''
param huntingHostStorageAccountName string = ''
param apiHostStorageAccountName string = ''
param virtualNetworkName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param keyVaultName string = ''

// ---------------------------------------------------------------------------------------------
// Function app
// ---------------------------------------------------------------------------------------------

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance of the hunting app. 512 MB fits HUNT_ROW_LIMIT 25,000 (docs/benchmarks.md); a larger HUNT_ROW_LIMIT needs 2048. The API app always uses 512.')
param instanceMemoryMB int = 2048

@minValue(40)
@maxValue(1000)
@description('Most instances the app scales out to (Flex Consumption accepts 40 to 1000). The hunt runs one cycle at a time regardless: a lease in the checkpoints table serializes cycles.')
param maximumInstanceCount int = 40

@description('TENANT_ID: logical tenant name for checkpoints, incidents and the allowlist scope.')
param tenantName string = 'default'

@description('HUNT_RULES: comma-separated ids of the rules in rules/ to run each cycle.')
param huntRules string = 't1587-002'

@description('HUNT_SCHEDULE: NCRONTAB schedule of the hunt timer (six fields, seconds first). Keep huntSilenceMinutes at three intervals or more.')
param huntSchedule string = '0 */10 * * * *'

@description('GRAPH_BASE_URL: Microsoft Graph endpoint of the cloud (https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn outside the global cloud).')
param graphBaseUrl string = 'https://graph.microsoft.com'

@description('NOTIFICATION_QUEUE: queue of notifications; its poison queue is <name>-poison.')
param notificationQueue string = 'notifications'

@description('HUNT_JOBS_QUEUE: queue of the per-tenant hunt jobs (many tenants); its poison queue is <name>-poison.')
param huntJobsQueue string = 'hunt-jobs'

@description('PROVIDER_APP_CLIENT_ID: client id of the multi-tenant app registration that customer tenants admin-consent to (docs/tenants.md). Empty: single tenant only.')
param providerAppClientId string = ''

@secure()
@description('NOTIFY_CHANNELS JSON (webhook URLs, whsec_ secrets) to store as Key Vault secret notify-channels. Empty: the deployment does not touch the secret; set it with az keyvault secret set (docs/DEPLOY.md), so that re-provisioning never overwrites it.')
param notifyChannelsJson string = ''

// ---------------------------------------------------------------------------------------------
// Entra ID: App Service authentication for /api/allowlist, and the Graph permission
// ---------------------------------------------------------------------------------------------

@description('Create the app registration that App Service authentication validates tokens for (app roles Allowlist.Read, Allowlist.Write) with the Microsoft Graph Bicep extension. Needs Application Administrator or Cloud Application Administrator (or the right to register applications). False: pass authClientId.')
param createAuthApp bool = true

@description('Client id of an existing app registration (app roles Allowlist.Read and Allowlist.Write, accessTokenAcceptedVersion 2) when createAuthApp is false. With neither, authentication stays on and every request to the API is answered 401.')
param authClientId string = ''

@description('Object ids of users, groups or service principals to assign Allowlist.Read (createAuthApp only).')
param allowlistReaderIds array = []

@description('Object ids of users, groups or service principals to assign Allowlist.Read and Allowlist.Write (createAuthApp only).')
param allowlistWriterIds array = []

@description('Assign the Microsoft Graph application permission ThreatHunting.Read.All to the hunting identity with the Microsoft Graph Bicep extension. Needs Privileged Role Administrator (or Global Administrator) and can fail on a first run while the new identity replicates in Entra ID. False (the default): run scripts/grant-graph-permission.sh after provisioning (docs/deployment.md).')
param grantGraphPermission bool = false

// ---------------------------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------------------------

@description('Private networking: storage and Key Vault only through private endpoints (public network access disabled, default-deny network rules), both apps on VNet integration. The operator\'s CLI then works only from inside the network.')
param privateNetworking bool = false

@description('Address space of the virtual network (privateNetworking only); three /24 subnets are carved from its start.')
param vnetAddressPrefix string = '10.90.0.0/16'

@description('Private DNS zone of Key Vault in this cloud (privateNetworking only).')
param keyVaultPrivateDnsZoneName string = 'privatelink.vaultcore.azure.net'

// ---------------------------------------------------------------------------------------------
// Alerts
// ---------------------------------------------------------------------------------------------

@description('E-mail addresses notified by the alert rules. Empty: the rules fire into Azure Monitor alerts only.')
param alertEmails array = []

@allowed([
  30
  45
  60
  120
  180
  360
])
@description('Minutes without a successful hunt cycle before the "hunting stopped" alert fires (at least three HUNT_SCHEDULE intervals).')
param huntSilenceMinutes int = 30

@minValue(30)
@description('Checkpoint lag behind now, in minutes, that raises the "hunting unhealthy" alert (HEALTH_MAX_LAG_MINUTES).')
param maxLagMinutes int = 120

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

var abbrs = loadJsonContent('./abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
  application: 'codesign-hunt'
}
var appName = !empty(functionAppName) ? functionAppName : '${abbrs.webSitesFunctions}codesign-${resourceToken}'
var apiName = !empty(apiAppName) ? apiAppName : '${abbrs.webSitesFunctions}codesign-api-${resourceToken}'
var deploymentContainerName = 'app-package-${take(appName, 32)}-${take(resourceToken, 7)}'
var apiDeploymentContainerName = 'app-package-${take(apiName, 32)}-${take(resourceToken, 7)}'
var authAppUniqueName = 'codesign-hunt-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------
// Resources
// ---------------------------------------------------------------------------------------------

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: !empty(identityName) ? identityName : '${abbrs.managedIdentityUserAssignedIdentities}codesign-${resourceToken}'
    location: location
    tags: tags
  }
}

module apiIdentity 'app/identity.bicep' = {
  name: 'api-identity'
  scope: rg
  params: {
    name: !empty(apiIdentityName) ? apiIdentityName : '${abbrs.managedIdentityUserAssignedIdentities}codesign-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module network 'app/network.bicep' = if (privateNetworking) {
  name: 'network'
  scope: rg
  params: {
    name: !empty(virtualNetworkName) ? virtualNetworkName : '${abbrs.networkVirtualNetworks}codesign-${resourceToken}'
    location: location
    tags: tags
    addressPrefix: vnetAddressPrefix
    keyVaultPrivateDnsZoneName: keyVaultPrivateDnsZoneName
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    notificationQueue: notificationQueue
    huntJobsQueue: huntJobsQueue
    privateNetworking: privateNetworking
  }
}

module huntingHostStorage 'app/host-storage.bicep' = {
  name: 'hunting-host-storage'
  scope: rg
  params: {
    name: !empty(huntingHostStorageAccountName) ? huntingHostStorageAccountName : '${abbrs.storageStorageAccounts}hunt${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    privateNetworking: privateNetworking
  }
}

module apiHostStorage 'app/host-storage.bicep' = {
  name: 'api-host-storage'
  scope: rg
  params: {
    name: !empty(apiHostStorageAccountName) ? apiHostStorageAccountName : '${abbrs.storageStorageAccounts}api${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: apiDeploymentContainerName
    privateNetworking: privateNetworking
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: !empty(logAnalyticsName) ? logAnalyticsName : '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: !empty(applicationInsightsName) ? applicationInsightsName : '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    notifyChannelsJson: notifyChannelsJson
    privateNetworking: privateNetworking
  }
}

// One private endpoint per storage service the apps use, and one for Key Vault.
var privateEndpointTargets = privateNetworking
  ? [
      { name: 'table', groupId: 'table', targetId: storage.outputs.id, zoneId: network.outputs.tableZoneId }
      { name: 'queue', groupId: 'queue', targetId: storage.outputs.id, zoneId: network.outputs.queueZoneId }
      { name: 'hunting-blob', groupId: 'blob', targetId: huntingHostStorage.outputs.id, zoneId: network.outputs.blobZoneId }
      { name: 'api-blob', groupId: 'blob', targetId: apiHostStorage.outputs.id, zoneId: network.outputs.blobZoneId }
      { name: 'vault', groupId: 'vault', targetId: keyVault.outputs.id, zoneId: network.outputs.vaultZoneId }
    ]
  : []

module privateEndpoints 'app/private-endpoint.bicep' = [
  for target in privateEndpointTargets: {
    name: 'pe-${target.name}'
    scope: rg
    params: {
      name: '${abbrs.networkPrivateEndpoints}codesign-${target.name}-${resourceToken}'
      location: location
      tags: tags
      subnetId: network.outputs.privateEndpointSubnetId
      targetId: target.targetId
      groupId: target.groupId
      privateDnsZoneId: target.zoneId
    }
  }
]

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    dataStorageAccountName: storage.outputs.name
    huntingHostStorageAccountName: huntingHostStorage.outputs.name
    apiHostStorageAccountName: apiHostStorage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    huntingPrincipalId: identity.outputs.principalId
    apiPrincipalId: apiIdentity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    notificationQueue: notificationQueue
    huntJobsQueue: huntJobsQueue
  }
}

module apiApp 'app/function.bicep' = {
  name: 'api-function'
  scope: rg
  params: {
    name: apiName
    planName: !empty(apiPlanName) ? apiPlanName : '${abbrs.webServerFarms}api-${resourceToken}'
    location: location
    tags: tags
    serviceName: 'api'
    identityId: apiIdentity.outputs.id
    identityClientId: apiIdentity.outputs.clientId
    hostStorageAccountName: apiHostStorage.outputs.name
    dataStorageAccountName: storage.outputs.name
    deploymentContainerName: apiDeploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    notifyChannelsSecretName: keyVault.outputs.notifyChannelsSecretName
    instanceMemoryMB: 512
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: privateNetworking ? network.outputs.apiSubnetId : ''
    tenantName: tenantName
    huntRules: huntRules
    huntSchedule: huntSchedule
    graphBaseUrl: graphBaseUrl
    notificationQueue: notificationQueue
    huntJobsQueue: huntJobsQueue
    providerAppClientId: providerAppClientId
    providerCertificateName: keyVault.outputs.providerCertificateName
  }
  // The identity's roles exist before the app starts and reads its package; with private
  // networking, the endpoints exist before the app resolves storage through them.
  dependsOn: [
    rbac
    privateEndpoints
  ]
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: appName
    planName: !empty(functionPlanName) ? functionPlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    serviceName: 'hunting'
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    hostStorageAccountName: huntingHostStorage.outputs.name
    dataStorageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    notifyChannelsSecretName: keyVault.outputs.notifyChannelsSecretName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    virtualNetworkSubnetId: privateNetworking ? network.outputs.huntingSubnetId : ''
    allowlistBaseUrl: apiApp.outputs.url
    tenantName: tenantName
    huntRules: huntRules
    huntSchedule: huntSchedule
    graphBaseUrl: graphBaseUrl
    notificationQueue: notificationQueue
    huntJobsQueue: huntJobsQueue
    providerAppClientId: providerAppClientId
    providerCertificateName: keyVault.outputs.providerCertificateName
  }
  dependsOn: [
    rbac
    privateEndpoints
  ]
}

module authApp 'app/auth-app.bicep' = if (createAuthApp) {
  name: 'auth-app'
  scope: rg
  params: {
    uniqueName: authAppUniqueName
    displayName: 'codesign-hunt allowlist API (${environmentName})'
    webRedirectUris: ['${apiApp.outputs.url}/.auth/login/aad/callback']
    readerIds: allowlistReaderIds
    writerIds: allowlistWriterIds
  }
}

var effectiveAuthClientId = createAuthApp ? authApp.outputs.appId : authClientId

// App Service authentication in front of the API app (the hunting app has no HTTP functions).
module auth 'app/auth.bicep' = {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: apiApp.outputs.name
    clientId: effectiveAuthClientId
    allowedAudiences: createAuthApp ? [authApp.outputs.appId, authApp.outputs.identifierUri] : (empty(authClientId) ? [] : [authClientId, 'api://${authClientId}'])
  }
}

// Only the hunting identity may query Defender.
module graphPermission 'app/graph-permission.bicep' = if (grantGraphPermission) {
  name: 'graph-permission'
  scope: rg
  params: {
    principalId: identity.outputs.principalId
  }
}

module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    applicationInsightsId: monitoring.outputs.applicationInsightsId
    namePrefix: '${abbrs.insightsScheduledQueryRules}codesign-${resourceToken}'
    actionGroupName: '${abbrs.insightsActionGroups}codesign-${resourceToken}'
    alertEmails: alertEmails
    huntRules: huntRules
    huntSilenceMinutes: huntSilenceMinutes
    maxLagMinutes: maxLagMinutes
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs (azd stores them in .azure/<env>/.env)
// ---------------------------------------------------------------------------------------------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_API_APP_NAME string = apiApp.outputs.name
output AZURE_API_APP_URL string = apiApp.outputs.url
// The hunting identity (scripts/grant-graph-permission.sh reads AZURE_IDENTITY_PRINCIPAL_ID).
output AZURE_IDENTITY_NAME string = identity.outputs.name
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_API_IDENTITY_PRINCIPAL_ID string = apiIdentity.outputs.principalId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AUTH_CLIENT_ID string = effectiveAuthClientId
output GRAPH_PERMISSION_GRANTED_BY_BICEP bool = grantGraphPermission
output PRIVATE_NETWORKING bool = privateNetworking

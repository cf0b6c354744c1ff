// codesign-hunt on Azure Functions Flex Consumption (Node.js 22), in the layout of the
// Azure-Samples/functions-quickstart-typescript-azd template: subscription scope, one resource
// group, one module per concern under app/. Deployed by `azd up` (azure.yaml) or by
// `az deployment sub create --template-file infra/main.bicep` (docs/DEPLOY.md).
//
// Identity: one user-assigned managed identity is the function app's only identity. It reads and
// writes storage (host, deployment package, tables, queues), sends telemetry to Application
// Insights with Entra authentication, resolves the NOTIFY_CHANNELS Key Vault reference, and calls
// Microsoft Graph runHuntingQuery with the application permission ThreatHunting.Read.All.
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
param identityName string = ''
param storageAccountName string = ''
param logAnalyticsName string = ''
param applicationInsightsName string = ''
param keyVaultName string = ''

// ---------------------------------------------------------------------------------------------
// Function app
// ---------------------------------------------------------------------------------------------

@allowed([
  2048
  4096
])
@description('Memory of each Flex Consumption instance.')
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

@description('Assign the Microsoft Graph application permission ThreatHunting.Read.All to the managed identity with the Microsoft Graph Bicep extension. Needs Privileged Role Administrator (or Global Administrator). False: run scripts/grant-graph-permission.sh afterwards.')
param grantGraphPermission bool = true

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
var deploymentContainerName = 'app-package-${take(appName, 32)}-${take(resourceToken, 7)}'
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

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: !empty(storageAccountName) ? storageAccountName : '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    notificationQueue: notificationQueue
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
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
  }
}

module functionApp 'app/function.bicep' = {
  name: 'function'
  scope: rg
  params: {
    name: appName
    planName: !empty(functionPlanName) ? functionPlanName : '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    keyVaultName: keyVault.outputs.name
    notifyChannelsSecretName: keyVault.outputs.notifyChannelsSecretName
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    tenantName: tenantName
    huntRules: huntRules
    huntSchedule: huntSchedule
    graphBaseUrl: graphBaseUrl
    notificationQueue: notificationQueue
  }
  // The identity's data roles exist before the app starts, resolves its Key Vault reference and
  // reads its deployment package.
  dependsOn: [
    rbac
  ]
}

module authApp 'app/auth-app.bicep' = if (createAuthApp) {
  name: 'auth-app'
  scope: rg
  params: {
    uniqueName: authAppUniqueName
    displayName: 'codesign-hunt allowlist API (${environmentName})'
    readerIds: allowlistReaderIds
    writerIds: allowlistWriterIds
  }
}

var effectiveAuthClientId = createAuthApp ? authApp.outputs.appId : authClientId

module auth 'app/auth.bicep' = {
  name: 'auth'
  scope: rg
  params: {
    functionAppName: functionApp.outputs.name
    clientId: effectiveAuthClientId
    allowedAudiences: createAuthApp ? [authApp.outputs.appId, authApp.outputs.identifierUri] : (empty(authClientId) ? [] : [authClientId, 'api://${authClientId}'])
  }
}

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
output AZURE_FUNCTION_APP_URL string = functionApp.outputs.url
output AZURE_IDENTITY_NAME string = identity.outputs.name
output AZURE_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_STORAGE_TABLE_ENDPOINT string = storage.outputs.tableEndpoint
output AZURE_STORAGE_QUEUE_ENDPOINT string = storage.outputs.queueEndpoint
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.applicationInsightsName
output AUTH_CLIENT_ID string = effectiveAuthClientId
output GRAPH_PERMISSION_GRANTED_BY_BICEP bool = grantGraphPermission

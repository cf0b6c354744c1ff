// Azure role assignments: each identity gets the data roles its code needs, scoped to the tables,
// queues and accounts it uses, never the whole data account (storage-data-role.bicep).
//
// Hunting identity (the hunting app: hunt timer, deliver queue trigger; also holds the Microsoft
// Graph permission ThreatHunting.Read.All, graph-permission.bicep or the script):
//   Storage Blob Data Owner         its own host account   host storage and its deployment package
//   Storage Table Data Contributor  checkpoints, incidents, recentsteps, recentfindings, deliveries; allowlist (the
//                                   hunt adds hit counters to the entries' partitions)
//   Storage Table Data Reader       allowlistaudit         entries count only with an audit record
//   Storage Queue Data Contributor  notifications, -poison enqueue, deliver trigger, poison queue
//   Storage Table Data Contributor  tenants                the registry (read), job status and the
//                                                          tenants' shared Graph call counters
//   Storage Queue Data Contributor  hunt-jobs, -poison     the timer's fan-out, the huntTenant trigger
// API identity (the allowlist API app; no Graph permission):
//   Storage Blob Data Owner         its own host account   host storage and its deployment package
//   Storage Table Data Contributor  allowlist, allowlistaudit   entries and their audit trail;
//                                   recentfindings (breadth estimates; see the note below)
//   Storage Queue Data Message Sender  notifications       announces every allowlist change
//   Storage Table Data Reader       tenants                which channels are a registry tenant's, so a
//                                                          tenant's entry is announced on its channels
//                                                          (read only: the API never creates the table)
// Both: Monitoring Metrics Publisher on Application Insights (telemetry with Entra ID) and Key
// Vault Secrets User on the vault (the NOTIFY_CHANNELS reference).
// Operator (optional; azd's AZURE_PRINCIPAL_ID, a person): Key Vault Secrets Officer (to set
// notify-channels) and read-only data roles for the codesign-hunt CLI (runs, allowlist list and
// export, deliveries list). People change the allowlist through the API, which audits and
// announces every change; nobody but the API's identity can write its tables. The one table the
// operator writes is the tenant registry (codesign-hunt tenants add/update/pause, audited in the
// tenant's partition): a separate grant, operatorRegistryRoles.

param dataStorageAccountName string
param huntingHostStorageAccountName string
param apiHostStorageAccountName string
param applicationInsightsName string
param keyVaultName string
param huntingPrincipalId string
param apiPrincipalId string
param operatorPrincipalId string = ''
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param operatorPrincipalType string = 'User'
param notificationQueue string = 'notifications'
param huntJobsQueue string = 'hunt-jobs'

var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageQueueDataMessageSender: 'c6a89b2d-59bc-44d0-9896-0f6e12d7b80a'
  storageQueueDataReader: '19e7f393-937e-4f77-808e-94535e297925'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageTableDataReader: '76199698-9eea-4c19-bc75-cec21354c6b6'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

var poisonQueue = '${notificationQueue}-poison'
var huntJobsPoisonQueue = '${huntJobsQueue}-poison'

// principal | kind | table or queue | role. One row per assignment, so a reader sees them all.
var huntingDataRoles = [
  { kind: 'table', name: 'checkpoints', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'incidents', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'recentsteps', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'recentfindings', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'deliveries', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'allowlist', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'allowlistaudit', roleId: roles.storageTableDataReader }
  { kind: 'queue', name: notificationQueue, roleId: roles.storageQueueDataContributor }
  { kind: 'queue', name: poisonQueue, roleId: roles.storageQueueDataContributor }
  { kind: 'table', name: 'tenants', roleId: roles.storageTableDataContributor }
  { kind: 'queue', name: huntJobsQueue, roleId: roles.storageQueueDataContributor }
  { kind: 'queue', name: huntJobsPoisonQueue, roleId: roles.storageQueueDataContributor }
]
var apiDataRoles = [
  { kind: 'table', name: 'allowlist', roleId: roles.storageTableDataContributor }
  { kind: 'table', name: 'allowlistaudit', roleId: roles.storageTableDataContributor }
  // Read by the breadth estimate; Contributor only because the store creates the table before
  // reading (RecentFindingsStore.ensure), which Table Data Reader may not.
  { kind: 'table', name: 'recentfindings', roleId: roles.storageTableDataContributor }
  { kind: 'queue', name: notificationQueue, roleId: roles.storageQueueDataMessageSender }
  // A tenant's allowlist change goes to that tenant's channels: the registry says which they are.
  { kind: 'table', name: 'tenants', roleId: roles.storageTableDataReader }
]
var operatorDataRoles = empty(operatorPrincipalId)
  ? []
  : [
      { kind: 'table', name: 'checkpoints', roleId: roles.storageTableDataReader }
      { kind: 'table', name: 'incidents', roleId: roles.storageTableDataReader }
      { kind: 'table', name: 'deliveries', roleId: roles.storageTableDataReader }
      { kind: 'table', name: 'allowlist', roleId: roles.storageTableDataReader }
      { kind: 'table', name: 'allowlistaudit', roleId: roles.storageTableDataReader }
      { kind: 'queue', name: poisonQueue, roleId: roles.storageQueueDataReader }
      { kind: 'queue', name: huntJobsPoisonQueue, roleId: roles.storageQueueDataReader }
    ]
// The tenant registry is edited by the operator with the CLI (every change audited in its partition).
var operatorRegistryRoles = empty(operatorPrincipalId)
  ? []
  : [
      { kind: 'table', name: 'tenants', roleId: roles.storageTableDataContributor }
    ]

resource huntingHost 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: huntingHostStorageAccountName
}

resource apiHost 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: apiHostStorageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// --- Data roles, per table and queue ---------------------------------------------------------

module huntingData 'storage-data-role.bicep' = [
  for (role, i) in huntingDataRoles: {
    name: 'rbac-hunting-${i}'
    params: {
      storageAccountName: dataStorageAccountName
      kind: role.kind
      name: role.name
      principalId: huntingPrincipalId
      roleId: role.roleId
    }
  }
]

module apiData 'storage-data-role.bicep' = [
  for (role, i) in apiDataRoles: {
    name: 'rbac-api-${i}'
    params: {
      storageAccountName: dataStorageAccountName
      kind: role.kind
      name: role.name
      principalId: apiPrincipalId
      roleId: role.roleId
    }
  }
]

module operatorData 'storage-data-role.bicep' = [
  for (role, i) in concat(operatorDataRoles, operatorRegistryRoles): {
    name: 'rbac-operator-${i}'
    params: {
      storageAccountName: dataStorageAccountName
      kind: role.kind
      name: role.name
      principalId: operatorPrincipalId
      principalType: operatorPrincipalType
      roleId: role.roleId
    }
  }
]

// --- Each app's own host storage and deployment package ----------------------------------------

resource huntingHostOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(huntingHost.id, huntingPrincipalId, roles.storageBlobDataOwner)
  scope: huntingHost
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: huntingPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource apiHostOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(apiHost.id, apiPrincipalId, roles.storageBlobDataOwner)
  scope: apiHost
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: apiPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// --- Telemetry and the NOTIFY_CHANNELS secret, for both identities ---------------------------

var appPrincipals = [
  huntingPrincipalId
  apiPrincipalId
]

resource appTelemetry 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in appPrincipals: {
    name: guid(applicationInsights.id, principalId, roles.monitoringMetricsPublisher)
    scope: applicationInsights
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

resource appSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = [
  for principalId in appPrincipals: {
    name: guid(vault.id, principalId, roles.keyVaultSecretsUser)
    scope: vault
    properties: {
      roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
      principalId: principalId
      principalType: 'ServicePrincipal'
    }
  }
]

// --- The operator (optional) ---------------------------------------------------------------

resource operatorSecrets 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(operatorPrincipalId)) {
  name: guid(vault.id, operatorPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: operatorPrincipalId
    principalType: operatorPrincipalType
  }
}

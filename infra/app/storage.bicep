// The data account: the app's tables and queues, nothing else (each function app's host storage
// and deployment package live in its own account, host-storage.bicep, so neither identity can
// touch the other app's code). Shared keys are disabled: every client uses Entra ID, with roles
// scoped per table and queue (storage-data-role.bicep). With privateNetworking the account takes
// no public traffic at all (table and queue private endpoints, default-deny network rules).
//
// The table names are the defaults of the *_TABLE settings and the queues are NOTIFICATION_QUEUE,
// HUNT_JOBS_QUEUE and their poison queues (test/unit/config/settingsConsistency.test.ts checks the
// table list against shared/config/reference.ts). The app also creates them if missing.

param name string
param location string = resourceGroup().location
param tags object = {}
param notificationQueue string = 'notifications'
@description('HUNT_JOBS_QUEUE: the per-tenant hunt jobs the timer fans out (many tenants).')
param huntJobsQueue string = 'hunt-jobs'
@description('No public network access and default-deny network rules; reached through private endpoints.')
param privateNetworking bool = false

var tableNames = [
  'checkpoints'
  'incidents'
  'recentsteps'
  'recentfindings'
  'allowlist'
  'allowlistaudit'
  'deliveries'
  'tenants'
]
var queueNames = [
  notificationQueue
  '${notificationQueue}-poison'
  huntJobsQueue
  '${huntJobsQueue}-poison'
]

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
    networkAcls: privateNetworking ? { defaultAction: 'Deny', bypass: 'None' } : { defaultAction: 'Allow', bypass: 'AzureServices' }
  }

  resource queueService 'queueServices' = {
    name: 'default'

    resource queues 'queues' = [
      for queueName in queueNames: {
        name: queueName
      }
    ]
  }

  resource tableService 'tableServices' = {
    name: 'default'

    resource tables 'tables' = [
      for tableName in tableNames: {
        name: tableName
      }
    ]
  }
}

// Service endpoints without the trailing slash the account reports (the app appends /<name>).
var queue = storage.properties.primaryEndpoints.queue
var table = storage.properties.primaryEndpoints.table

output name string = storage.name
output id string = storage.id
output tableNames array = tableNames
output queueNames array = queueNames
output queueEndpoint string = endsWith(queue, '/') ? substring(queue, 0, length(queue) - 1) : queue
output tableEndpoint string = endsWith(table, '/') ? substring(table, 0, length(table) - 1) : table

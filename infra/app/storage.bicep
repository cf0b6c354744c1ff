// One storage account for the Functions host (AzureWebJobsStorage: keys, timer schedule monitor,
// singleton locks), the Flex Consumption deployment package container, and the app's tables and
// queues. Shared keys are disabled: every client (host, app, operators) uses Entra ID.
//
// The table names are the defaults of the *_TABLE settings and the queues are NOTIFICATION_QUEUE
// and its poison queue (test/unit/config/settingsConsistency.test.ts checks the table list
// against shared/config/reference.ts). The app also creates them if missing.

param name string
param location string = resourceGroup().location
param tags object = {}
param deploymentContainerName string
param notificationQueue string = 'notifications'

var tableNames = [
  'checkpoints'
  'incidents'
  'recentsteps'
  'recentfindings'
  'allowlist'
  'allowlistaudit'
  'deliveries'
]
var queueNames = [
  notificationQueue
  '${notificationQueue}-poison'
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
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }

  resource blobService 'blobServices' = {
    name: 'default'
    properties: {
      deleteRetentionPolicy: {
        enabled: true
        days: 7
      }
    }

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
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
var blob = storage.properties.primaryEndpoints.blob
var queue = storage.properties.primaryEndpoints.queue
var table = storage.properties.primaryEndpoints.table

output name string = storage.name
output id string = storage.id
output blobEndpoint string = endsWith(blob, '/') ? substring(blob, 0, length(blob) - 1) : blob
output queueEndpoint string = endsWith(queue, '/') ? substring(queue, 0, length(queue) - 1) : queue
output tableEndpoint string = endsWith(table, '/') ? substring(table, 0, length(table) - 1) : table

// One data role on one table or one queue of a storage account: roles are scoped to the table or
// queue a principal needs, never to the whole account, so no identity or person can write a table
// it has no business in (the allowlist is written only by the API's identity, through the audit).

param storageAccountName string
@allowed([
  'table'
  'queue'
])
param kind string
@description('Table or queue name.')
param name string
param principalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'ServicePrincipal'
@description('Id (GUID) of a built-in storage data role.')
param roleId string

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName

  resource tableService 'tableServices' existing = {
    name: 'default'

    resource table 'tables' existing = {
      name: name
    }
  }

  resource queueService 'queueServices' existing = {
    name: 'default'

    resource queue 'queues' existing = {
      name: name
    }
  }
}

resource onTable 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'table') {
  name: guid(account::tableService::table.id, principalId, roleId)
  scope: account::tableService::table
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: principalType
  }
}

resource onQueue 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (kind == 'queue') {
  name: guid(account::queueService::queue.id, principalId, roleId)
  scope: account::queueService::queue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roleId)
    principalId: principalId
    principalType: principalType
  }
}

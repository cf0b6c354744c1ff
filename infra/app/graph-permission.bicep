// Grants the Microsoft Graph application permission ThreatHunting.Read.All (POST
// /security/runHuntingQuery) to the managed identity's service principal: an app role assignment
// on the Microsoft Graph service principal, made with the Microsoft Graph Bicep extension and
// the deploying user's rights. Assigning Microsoft Graph app roles needs Privileged Role
// Administrator (or Global Administrator); Application/Cloud Application Administrator are not
// enough for Microsoft Graph. Without that role, deploy with grantGraphPermission=false and have
// an administrator run scripts/grant-graph-permission.sh.
//
// The app role id is looked up by value from the Graph service principal's appRoles rather than
// hard-coded, so the same template works where ids differ (the global cloud's is
// dd98c7f5-2d42-42d3-a0e4-633161547251). The Microsoft Graph Bicep extension itself is available
// in the global cloud only; elsewhere use the script.
extension microsoftGraphV1

@description('Object id of the managed identity\'s service principal (the identity\'s principalId).')
param principalId string

@description('Microsoft Graph application permission to grant.')
param permission string = 'ThreatHunting.Read.All'

// Microsoft Graph's well-known application id.
resource microsoftGraph 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: '00000003-0000-0000-c000-000000000000'
}

var matchingRoles = filter(microsoftGraph.appRoles, role => role.value == permission && contains(role.allowedMemberTypes, 'Application'))

resource grant 'Microsoft.Graph/appRoleAssignedTo@v1.0' = {
  resourceId: microsoftGraph.id
  principalId: principalId
  appRoleId: matchingRoles[0].id
}

output appRoleId string = grant.appRoleId

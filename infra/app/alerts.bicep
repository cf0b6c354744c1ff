// Log search alert rules on Application Insights (table `traces`), with the KQL of
// infra/queries/*.kql (the same files open in the portal under Application Insights > Logs):
//   hunting stopped      no successful cycle summary for an expected rule in huntSilenceMinutes
//                        (also: timer not firing, app down, every cycle throwing)       sev 1
//   hunting unhealthy    HUNT_HEALTH_ALERT errors, or a checkpoint behind maxLagMinutes  sev 2
//   deliveries failing   notifications failed, parked or moved to the poison queue      sev 2
//   allowlist changed    any ALLOWLIST_CHANGE (an entry added, updated or removed)        sev 3
// Each query returns one row per problem and none when all is well; a rule fires on any row and
// resolves itself when the rows are gone.

param location string = resourceGroup().location
param tags object = {}
param applicationInsightsId string
param namePrefix string
param actionGroupName string
@description('E-mail receivers; empty creates no action group.')
param alertEmails array = []
@description('HUNT_RULES as deployed (comma-separated rule ids).')
param huntRules string
@allowed([
  30
  45
  60
  120
  180
  360
])
param huntSilenceMinutes int = 30
@minValue(30)
param maxLagMinutes int = 120
@minValue(15)
@description('Many tenants: the worst tenant lag (now minus its oldest rule checkpoint) that raises the tenant-lag alert.')
param tenantMaxLagMinutes int = 30

var expectedRules = map(filter(split(huntRules, ','), id => !empty(trim(id))), id => trim(id))

// The .kql files start with these exact `let` lines (test/unit/infra/alerts.test.ts checks).
var stoppedTemplate = loadTextContent('../queries/hunt-stopped.kql')
var stoppedWithRules = replace(stoppedTemplate, 'let expectedRules = dynamic(["t1587-002"]);', 'let expectedRules = dynamic(${string(expectedRules)});')
var stoppedQuery = replace(stoppedWithRules, 'let silence = 30m;', 'let silence = ${huntSilenceMinutes}m;')
var unhealthyQuery = replace(loadTextContent('../queries/hunt-unhealthy.kql'), 'let maxLag = 120m;', 'let maxLag = ${maxLagMinutes}m;')
var deliveryQuery = loadTextContent('../queries/delivery-failures.kql')
var tenantLagQuery = replace(loadTextContent('../queries/tenant-lag.kql'), 'let maxLag = 30m;', 'let maxLag = ${tenantMaxLagMinutes}m;')
var allowlistChangeQuery = loadTextContent('../queries/allowlist-change.kql')

var silenceWindow = huntSilenceMinutes < 60 ? 'PT${huntSilenceMinutes}M' : 'PT${huntSilenceMinutes / 60}H'

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmails)) {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'codesignhnt'
    enabled: true
    emailReceivers: [
      for (address, i) in alertEmails: {
        name: 'email-${i}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

var alertActions = empty(alertEmails) ? {} : { actionGroups: [actionGroup.id] }

var rules = [
  {
    suffix: 'hunt-stopped'
    displayName: 'codesign-hunt: hunting stopped'
    description: 'No successful hunt cycle (succeeded or partial) for an expected rule in ${huntSilenceMinutes} minutes: the timer is not firing (HUNT_SCHEDULE, app stopped, broken deployment), every cycle fails before its summary (settings, NOTIFY_CHANNELS Key Vault reference, storage), or cycles keep failing (Graph 403 before admin consent, quota). Query: infra/queries/hunt-stopped.kql.'
    severity: 1
    query: stoppedQuery
    windowSize: silenceWindow
  }
  {
    suffix: 'hunt-unhealthy'
    displayName: 'codesign-hunt: hunting unhealthy or behind'
    description: 'The app raised HUNT_HEALTH_ALERT (failed or throttled cycles in a row, checkpoint lag, telemetry lost to retention), or a rule\'s checkpoint is more than ${maxLagMinutes} minutes behind. Query: infra/queries/hunt-unhealthy.kql.'
    severity: 2
    query: unhealthyQuery
    windowSize: 'PT30M'
  }
  {
    suffix: 'delivery-failures'
    displayName: 'codesign-hunt: notifications failing'
    description: 'Notifications failed, were parked as uncertain, were addressed to an unknown or gone channel, or went to the poison queue. Fix the channel (NOTIFY_CHANNELS in Key Vault) and replay with the CLI. Query: infra/queries/delivery-failures.kql.'
    severity: 2
    query: deliveryQuery
    windowSize: 'PT30M'
  }
  {
    suffix: 'tenant-lag'
    displayName: 'codesign-hunt: a tenant is falling behind'
    description: 'Many tenants: at least one tenant\'s oldest rule checkpoint is more than ${tenantMaxLagMinutes} minutes behind (worst first). Check it with codesign-hunt status and tenants test. Query: infra/queries/tenant-lag.kql.'
    severity: 2
    query: tenantLagQuery
    windowSize: 'PT6H'
  }
  {
    suffix: 'allowlist-change'
    displayName: 'codesign-hunt: allowlist changed'
    description: 'An allowlist entry was added, updated or removed: it hides (or stops hiding) findings. Check who changed what and why (the row carries the actor, the reason and any breadth confirmation; the entry\'s history is on the allowlist page). Query: infra/queries/allowlist-change.kql.'
    severity: 3
    query: allowlistChangeQuery
    windowSize: 'PT30M'
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${namePrefix}-${rule.suffix}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [
        applicationInsightsId
      ]
      evaluationFrequency: 'PT10M'
      windowSize: rule.windowSize
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      actions: alertActions
    }
  }
]

output alertRuleNames array = [for (rule, i) in rules: alertRules[i].name]

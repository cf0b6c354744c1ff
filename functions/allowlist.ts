/**
 * HTTP registrations of the allowlist API (/api/allowlist…). Wiring only: settings → deps →
 * handlers in shared/allowlist/api.ts. Deps are built on first request so that loading the app
 * never fails on missing settings; a misconfiguration surfaces as a logged 500 on that request.
 */
import { app } from '@azure/functions';
import type { AllowlistApiDeps } from '../shared/allowlist/api';
import { createAllowlistDeps, handleAllowlistCollection, handleAllowlistHistory, handleAllowlistItem } from '../shared/allowlist/api';
import { allowlistSettingsFromEnv } from '../shared/allowlist/settings';

let deps: AllowlistApiDeps | undefined;

// Until the central config module exists, the allowlist's few settings come from here only.
function allowlistDeps(): AllowlistApiDeps {
  deps ??= createAllowlistDeps(allowlistSettingsFromEnv(process.env));
  return deps;
}

app.http('allowlistCollection', {
  route: 'allowlist',
  methods: ['GET', 'POST'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistCollection(request, context, allowlistDeps()),
});

app.http('allowlistItem', {
  route: 'allowlist/{id}',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistItem(request, context, allowlistDeps()),
});

app.http('allowlistHistory', {
  route: 'allowlist/{id}/history',
  methods: ['GET'],
  authLevel: 'function',
  handler: (request, context) => handleAllowlistHistory(request, context, allowlistDeps()),
});

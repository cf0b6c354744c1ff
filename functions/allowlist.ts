/**
 * HTTP registrations of the allowlist API (/api/allowlist…). Wiring only: settings → deps →
 * handlers in shared/allowlist/api.ts. Deps are built on first request so that loading the app
 * never fails on missing settings; a misconfiguration surfaces as a logged 500 on that request.
 *
 * authLevel 'anonymous': the browser page calls these routes with the App Service authentication
 * cookie, which cannot carry a function key. App Service authentication (required sign-in) is the
 * gate in Azure; the handlers answer 401 without a principal and 403 without the app role.
 */
import { app, type InvocationContext } from '@azure/functions';
import type { AllowlistApiDeps } from '../shared/allowlist/api';
import {
  handleAllowlistCollection,
  handleAllowlistHistory,
  handleAllowlistItem,
  handleAllowlistPreview,
  handleAllowlistSuppressed,
} from '../shared/allowlist/api';
import { contextLogger } from '../shared/app/logger';

let deps: Promise<AllowlistApiDeps> | undefined;

/** Built on the first request (not at indexing): settings, identity and storage clients. */
function allowlistDeps(context: InvocationContext): Promise<AllowlistApiDeps> {
  deps ??= Promise.all([import('../shared/app/allowlistRuntime'), import('../shared/config/settings')]).then(
    ([{ createAllowlistRuntime }, { loadSettings }]) => createAllowlistRuntime(loadSettings(process.env), contextLogger(context)),
  );
  deps.catch(() => {
    deps = undefined; // a settings error is retried on the next request
  });
  return deps;
}

app.http('allowlistCollection', {
  route: 'allowlist',
  methods: ['GET', 'POST'],
  authLevel: 'anonymous',
  handler: async (request, context) => handleAllowlistCollection(request, context, await allowlistDeps(context)),
});

app.http('allowlistItem', {
  route: 'allowlist/{id}',
  methods: ['GET', 'PUT', 'DELETE'],
  authLevel: 'anonymous',
  handler: async (request, context) => handleAllowlistItem(request, context, await allowlistDeps(context)),
});

app.http('allowlistHistory', {
  route: 'allowlist/{id}/history',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request, context) => handleAllowlistHistory(request, context, await allowlistDeps(context)),
});

app.http('allowlistSuppressed', {
  route: 'allowlist/{id}/suppressed',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: async (request, context) => handleAllowlistSuppressed(request, context, await allowlistDeps(context)),
});

app.http('allowlistPreview', {
  route: 'allowlist-preview',
  methods: ['POST'],
  authLevel: 'anonymous',
  handler: async (request, context) => handleAllowlistPreview(request, context, await allowlistDeps(context)),
});

/**
 * HTTP registrations of the allowlist: the API (/api/allowlist…) and the page (/allowlist…), from
 * the one route table in shared/allowlist/routes.ts. Wiring only: settings → deps → handlers. Deps
 * are built on first request so that loading the app never fails on missing settings; a
 * misconfiguration surfaces as a logged 500 on that request.
 *
 * authLevel 'anonymous': the browser page and its script call these routes with the App Service
 * authentication cookie, which cannot carry a function key. App Service authentication (sign-in
 * required) is the gate in Azure; the handlers answer 401 without a principal and 403 without the
 * app role, as before.
 */
import { app, type InvocationContext } from '@azure/functions';
import type { AllowlistApiDeps } from '../shared/allowlist/api';
import { ALLOWLIST_ROUTES } from '../shared/allowlist/routes';
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

for (const { name, route, methods, handler } of ALLOWLIST_ROUTES) {
  app.http(name, {
    route,
    methods,
    authLevel: 'anonymous',
    handler: async (request, context) => handler(request, context, await allowlistDeps(context)),
  });
}

/**
 * After every test file (jest setupFilesAfterEnv): dispose of the HTTP interceptors nock set up
 * for it. They patch node:http, node:https and fetch, which outlive a test file inside a jest
 * worker (each file has its own globalThis, the core modules are shared), so a file that left
 * interceptors or "no net connect" behind made the next file's requests fail before that file's
 * own nock could answer them. Disposing restores the modules as they were.
 */
const INTERCEPTORS = ['client-request-interceptor', 'fetch-interceptor', 'xhr-interceptor'];

afterAll(() => {
  const global = globalThis as unknown as Record<symbol, { dispose?: () => void } | undefined>;
  for (const name of INTERCEPTORS) global[Symbol.for(name)]?.dispose?.();
});

/** The function app's entry point (package.json `main`): registers every function. */
import './hunt';
import './huntTenant';
import './deliver';
import './allowlist';

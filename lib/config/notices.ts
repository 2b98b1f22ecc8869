import { displayName, type ConfigSnapshot } from './load';

/**
 * The line `npm start` prints when the gateway has nothing to serve (no gatehouse.yaml, or one
 * without models), so a newcomer learns where models go before the first request is refused;
 * null when some model or route can serve requests.
 */
export function noModelsNotice(snapshot: ConfigSnapshot): string | null {
  const { models, routes } = snapshot.config;
  if (Object.keys(models).length > 0 || routes.some((route) => (route.targets ?? []).length > 0)) return null;
  return `no models configured, so the gateway refuses every request: add providers and models to ${displayName(snapshot.path)} (README.md, "Try the gateway")`;
}

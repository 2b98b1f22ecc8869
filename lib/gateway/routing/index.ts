export { resolveRoute, routeOrDefault } from './resolve';

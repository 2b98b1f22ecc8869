export { resolveRoute } from './resolve';

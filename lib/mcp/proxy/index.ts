// The MCP proxy (/mcp/servers/{name}): registered remote MCP servers behind Gatehouse's sign-in,
// tool policy and audit trail. Served by the data plane.
import { withMcpCaller } from '../caller';
import { MCP_PROXY_PATH_PREFIX, proxiedServerName } from '../resource';
import { PROXY_CALL_SOURCE } from './evidence';
import { handleProxy } from './sessions';

export { closeProxySessions } from './sessions';
export { POLICY_BLOCKED } from './audited';
export { UPSTREAM_GRANT_REQUIRED } from './server';

/** The data-plane prefix route of the proxy. */
export const MCP_PROXY_ROUTE = `${MCP_PROXY_PATH_PREFIX}*`;

/** Every /mcp/servers/{name} request: the MCP wrapper (token for that path, mcp.use) around the session handler. */
export const handleMcpProxyRequest = withMcpCaller(
  {
    permission: 'mcp.use',
    callSource: PROXY_CALL_SOURCE,
    pathOf: (request) => {
      const { pathname } = new URL(request.url);
      return proxiedServerName(pathname) ? pathname : null;
    },
  },
  handleProxy,
);

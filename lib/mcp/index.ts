// The skills MCP server (/mcp) and its protected resource metadata, served by the data plane.
import { withMcpCaller } from './caller';
import { MCP_PATH } from './resource';
import { handleMcp } from './sessions';

export { MCP_PATH, MCP_PROXY_PATH_PREFIX, PROTECTED_RESOURCE_METADATA_PATHS, PROXY_RESOURCE_METADATA_ROUTE, handleProtectedResourceMetadata, mcpResource, protectedResourceMetadataUrl, proxiedServerUrl } from './resource';
export { closeMcpSessions, mcpSessionCount } from './sessions';

/** The /mcp endpoint: the protocol wrapper around the session handler. */
export const handleMcpRequest = withMcpCaller({ permission: 'skills.read', callSource: 'mcp', pathOf: () => MCP_PATH }, handleMcp);

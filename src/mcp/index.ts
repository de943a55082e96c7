// mcp: the MCP doors for agents, on the official @modelcontextprotocol/sdk.
export { runBridge, type BridgeOptions, type BridgeStats } from './bridge.ts';
export { authorizedFetch, type BridgeCredential, type BridgeCredentials } from './bridge-fetch.ts';
export { requireSecureEndpoint } from './endpoint.ts';

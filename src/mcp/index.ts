// mcp: the MCP doors for agents, on the official @modelcontextprotocol/sdk.
export { serveMcp, type ServeOptions } from './serve.ts';
export { servePolicy, type ServePolicy } from './serve-policy.ts';
export type { BrowserLoginFactory } from './serve-logins.ts';
export { runBridge, type BridgeOptions, type BridgeStats } from './bridge.ts';
export { authorizedFetch, type BridgeCredential, type BridgeCredentials } from './bridge-fetch.ts';
export { requireSecureEndpoint } from './endpoint.ts';

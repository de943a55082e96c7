// mcp: the MCP doors for agents, on the official @modelcontextprotocol/sdk.
export { serveMcp, type ServeOptions } from './serve.ts';
export { servePolicy, type ServePolicy } from './serve-policy.ts';

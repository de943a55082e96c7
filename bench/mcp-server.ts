// The benchmark's MCP server in a process of its own (bench/mcp.ts), so the client measured
// directly does not share its event loop with the server: the test suite's McpServer over
// Streamable HTTP, checking tokens with the authorization server whose issuer is argv[2] (once
// per token). Prints {"url": …} when ready; exits when stdin closes.
import { startMcpServer } from '../test/support/mcp-server.ts';

const issuer = process.argv[2]!;
const server = await startMcpServer({
  discovery: 'challenge',
  cacheTokens: true,
  introspect: async (token) => {
    const response = await fetch(`${issuer}/__control/introspect`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    return (await response.json()) as Awaited<ReturnType<Parameters<typeof startMcpServer>[0]['introspect']>>;
  },
});
server.attach(issuer);
process.stdin.on('end', () => void server.close().then(() => process.exit(0)));
process.stdin.resume();
console.log(JSON.stringify({ url: server.url }));

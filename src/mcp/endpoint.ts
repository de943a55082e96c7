// Which MCP server URLs the bridge may send a token to: HTTPS, or plain HTTP on this machine only
// (MCP authorization 2025-11-25 "Communication Security": every endpoint HTTPS; loopback is where
// local servers and the tests live). A bearer token over plain HTTP elsewhere is readable on the way.
import { AuthsomeError } from '../util/index.ts';

export function requireSecureEndpoint(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuthsomeError('usage', `"${value}" is not a URL`, { hint: 'For example: authsome mcp connect https://mcp.example.com/mcp' });
  }
  const loopback = url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return url;
  throw new AuthsomeError('usage', `refusing to send a token to ${url.origin}: only https:// (or http:// on this machine) carries one`, {
    hint: `Use the server's https:// URL: authsome mcp connect https://${url.host}${url.pathname}`,
  });
}

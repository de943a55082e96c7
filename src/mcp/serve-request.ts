// The MCP server's http_request tool: a request sent with the credential `run` would add (the route
// table's decision, through the library's sendAuthenticated), and the answer handed to the agent
// with every copy of that credential replaced by the placeholder (run's echo scrubbing), so the
// agent never reads a secret even from a server that quotes it back.
import { PLACEHOLDER, scrubText, secretForms, type Authsome, type AuthenticatedResponse } from '../broker/index.ts';
import { requestRefusal, providerRefusal, allowsProvider, type ServePolicy } from './serve-policy.ts';

/** Bodies are read up to this much; the rest is cut off (and said to be). */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface ToolRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface ToolResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The body was longer than MAX_BODY_BYTES and is cut off there. */
  truncated: boolean;
  provider: string;
  connection: string;
  /** Copies of the credential found in the answer and replaced with the placeholder. */
  replaced: number;
}

/** A refusal (the reason, for the agent) or the answer. */
export type RequestOutcome = { refused: string } | { response: ToolResponse; retried: boolean };

export async function sendToolRequest(authsome: Authsome, policy: ServePolicy, request: ToolRequest): Promise<RequestOutcome> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    return { refused: `${JSON.stringify(request.url)} is not a URL; give a whole https URL` };
  }
  const method = request.method.toUpperCase();
  const refusal = requestRefusal(policy, method, url);
  if (refusal) return { refused: refusal };
  // The decision among every connection first, so a URL another provider covers is refused by
  // name; the request itself is then decided among that provider's routes only.
  const explained = await authsome.route(url.href);
  if (explained.decision !== 'inject') return { refused: `no connection's route covers ${url.origin}${url.pathname}: ${explained.why}` };
  if (!allowsProvider(policy, explained.provider!)) return { refused: `${url.origin}${url.pathname} is covered by ${explained.provider} (${explained.connection}), and ${providerRefusal(policy, explained.provider!)}` };
  const sent: AuthenticatedResponse = await authsome.sendAuthenticated(url.href, {
    method, headers: request.headers ?? {}, body: request.body !== undefined && method !== 'GET' && method !== 'HEAD' ? request.body : undefined,
    // A redirect comes back to the agent, which may ask for its target: that request meets the lists again.
    redirect: 'manual',
  }, { only: [explained.provider!] });
  const forms = [...new Set(sent.injections.flatMap((injection) => secretForms(injection)))].sort((a, b) => b.length - a.length);
  let replaced = 0;
  const scrub = (text: string) => {
    const result = scrubText(text, forms);
    replaced += result.replaced;
    return result.text;
  };
  const headers: Record<string, string> = {};
  sent.response.headers.forEach((value, name) => {
    headers[name] = scrub(value);
  });
  const { text, truncated } = await readBody(sent.response);
  let body = scrub(text);
  // A body cut off may end in the first part of a credential whose rest was never read: that part goes too.
  if (truncated) body = withoutPartialSecret(body, forms).slice(0, MAX_BODY_BYTES);
  return { response: { status: sent.response.status, headers, body, truncated, provider: sent.provider, connection: sent.connection, replaced }, retried: sent.retried };
}

/** The body as text, up to MAX_BODY_BYTES. */
async function readBody(response: Response): Promise<{ text: string; truncated: boolean }> {
  if (!response.body) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  let truncated = false;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    if (size > MAX_BODY_BYTES) {
      truncated = true;
      await reader.cancel().catch(() => undefined);
      break;
    }
  }
  return { text: Buffer.concat(chunks).toString('utf8'), truncated };
}

/** The text without its longest end that begins one of the forms. */
export function withoutPartialSecret(text: string, forms: string[]): string {
  let cut = 0;
  for (const form of forms) {
    for (let k = Math.min(form.length - 1, text.length); k > cut; k--) {
      if (text.endsWith(form.slice(0, k))) {
        cut = k;
        break;
      }
    }
  }
  return cut ? text.slice(0, text.length - cut) : text;
}

export { PLACEHOLDER };

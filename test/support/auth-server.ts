// Starts the test authorization server (oidc-provider 9 + an MCP-style resource) in a child process and drives it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from './homes.ts';

const ENTRY = fileURLToPath(new URL('./auth-server-process.ts', import.meta.url));

export type InteractionMode = 'approve' | 'deny';

export interface AuthServerOptions {
  /** Access token lifetime in seconds (default 3600); expiry is sharp (clockTolerance 0). */
  accessTokenTtl?: number;
  /** Device code lifetime in seconds (default 600). */
  deviceCodeTtl?: number;
  /** Refresh token lifetime in seconds (default 86400). */
  refreshTokenTtl?: number;
  /** How login/consent ends at first (default approve); change it later with setInteraction. */
  interaction?: InteractionMode;
  /** Also accept any http://127.0.0.1 resource indicator, scopes mcp:read mcp:write mcp:admin (the tests' own MCP servers). */
  loopbackResources?: boolean;
  /** Token answers without these fields (Salesforce's carry no expires_in). */
  omitTokenFields?: string[];
  /** Fields every token answer carries besides the tokens (Salesforce's instance_url). */
  addTokenFields?: Record<string, unknown>;
}

/** A request the server received, as sent (before a provider layout's path was mapped to the server's own). */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface AuthServerCounts {
  /** Token endpoint POSTs per grant_type, successful or not ('(none)' when the request had none). */
  token: Record<string, number>;
  /** Token endpoint POSTs per client authentication: client_secret_basic, client_secret_post or none. */
  tokenAuth: Record<string, number>;
  revocation: number;
  registration: number;
  deviceAuthorization: number;
  introspection: number;
}

export interface TokenStatus {
  active: boolean;
  kind?: string;
  sub?: string;
  clientId?: string;
  scope?: string;
  audiences?: string[];
}

export interface AuthServer {
  issuer: string;
  /** The MCP-style protected resource (RFC 9728 metadata at /.well-known/oauth-protected-resource/mcp). */
  resourceUrl: string;
  /** A small local API: GET with any valid access token → { sub, email }. */
  apiUrl: string;
  counts(): Promise<AuthServerCounts>;
  resetCounts(): Promise<void>;
  /**
   * Every access_token, refresh_token and id_token value the token endpoint has handed out so far (all grants,
   * in order, never reset): the canaries to look for in logs and files (see canary.ts).
   */
  issuedTokens(): Promise<string[]>;
  setInteraction(mode: InteractionMode): Promise<void>;
  /**
   * Every request received since the start or the last resetCounts(), oldest first. Besides its own
   * paths the server answers at Microsoft's (/{tenant}/oauth2/v2.0/authorize, token, devicecode) and
   * Salesforce's (/services/oauth2/authorize, token, revoke, userinfo), so a bundled definition logs
   * in here with its origin replaced.
   */
  requests(): Promise<ReceivedRequest[]>;
  /** Whether the server would still accept this access or refresh token. */
  isActive(token: string): Promise<boolean>;
  tokenStatus(token: string): Promise<TokenStatus>;
  /** Dynamic registrations get this token_endpoint_auth_method whatever they ask for (null: what they ask). */
  setRegistrationAuthMethod(method: string | null): Promise<void>;
  /** Forgets a dynamically registered client (to test re-registration). */
  deleteClient(clientId: string): Promise<void>;
  /** What the server wrote to stderr so far (for failure messages). */
  stderr(): string;
  close(): Promise<void>;
}

// oidc-provider 9 warns on every start (Node 20 runtime, dev keys, in-memory store): expected here, so noise.
const isNoise = (line: string) => /Unsupported runtime|^oidc-provider (WARNING|NOTICE)/.test(line) || line.trim() === '';

export async function startAuthServer(options: AuthServerOptions = {}): Promise<AuthServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, JSON.stringify(options)], {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let rawStderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (rawStderr += chunk));
  const stderr = () => rawStderr.split('\n').filter((line) => !isNoise(line)).join('\n');
  let started = false;
  let closing = false;
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? `code ${code}`)));
  void exited.then((how) => {
    if (started && !closing) process.stderr.write(`test auth server exited unexpectedly (${how}):\n${stderr()}\n`);
  });

  const ready = await new Promise<{ issuer: string; resourceUrl: string; apiUrl: string }>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      try {
        const message = JSON.parse(line) as { ready?: boolean; issuer: string; resourceUrl: string; apiUrl: string };
        if (message.ready) resolve({ issuer: message.issuer, resourceUrl: message.resourceUrl, apiUrl: message.apiUrl });
      } catch {
        // not our line: ignore
      }
    });
    child.on('error', reject);
    void exited.then((how) => reject(new Error(`test auth server exited before it was ready (${how})\n${stderr()}`)));
  });
  started = true;

  // A test that forgets close() must not hang its process: once unreferenced, the parent can exit, which
  // closes the stdin pipe, which ends the child.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void }).unref?.();

  const control = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${ready.issuer}/__control/${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as T;
    if (!res.ok) throw new Error(`control ${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const tokenStatus = (token: string) => control<TokenStatus>('POST', 'introspect', { token });

  return {
    ...ready,
    counts: () => control<AuthServerCounts>('GET', 'counts'),
    resetCounts: async () => void (await control('POST', 'reset-counts')),
    issuedTokens: async () => (await control<{ tokens: string[] }>('GET', 'issued')).tokens,
    setInteraction: async (mode) => void (await control('POST', 'interaction', { mode })),
    requests: async () => (await control<{ requests: ReceivedRequest[] }>('GET', 'requests')).requests,
    isActive: async (token) => (await tokenStatus(token)).active,
    tokenStatus,
    setRegistrationAuthMethod: async (method) => void (await control('POST', 'registration-auth-method', { method })),
    deleteClient: async (clientId) => void (await control('DELETE', `clients/${encodeURIComponent(clientId)}`)),
    stderr,
    close: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      closing = true;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

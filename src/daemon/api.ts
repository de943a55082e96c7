// The daemon's API for the CLI, served on a Unix socket in the home folder (0600: only the same
// user can drive it). Sessions stream their events as JSON lines on the response of the request
// that opened them; closing that response abandons the session.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isValidName, toAuthsomeError, type ConnectionView, type IssuedCredential } from '../broker/index.ts';
import { answerTooLarge, BodyTooLarge, readLimitedBody } from './body-limit.ts';
import type { SessionEvent, SessionRegistry, SessionSpec } from './sessions.ts';

export interface DaemonStatus {
  service: 'authsome-daemon';
  version: string;
  pid: number;
  port: number;
  home: string;
  started_at: string;
  sessions: number;
  /** Where records live and whether changes from other processes/machines reach this daemon. */
  store?: { backend: string; location: string; changes: string };
  /** Every connection as this daemon last saw it (from memory; no secrets). */
  connections?: ConnectionView[];
}

export interface ApiOptions {
  sessions: SessionRegistry;
  status: () => DaemonStatus;
  /** The browser URL of a session's page (OAuth start link, input form, device page), or null. */
  pageUrl: (kind: SessionSpec['kind'], id: string) => string | null;
  /** Writes the page a browser is opened with for the capability `key` (launch-files.ts); returns its file:// URL. */
  launch?: (key: string, target: string) => string | null;
  shutdown: () => void;
  log: (line: string) => void;
  /** Mints the dashboard's one-time link (and the page to open it with); absent when the daemon runs without the vault. */
  uiLink?: (launch: boolean) => UiLink;
  /** A fresh credential for an agent (renewed when due, audited); absent without the vault. */
  credential?: (provider: string, connection: string | undefined) => Promise<IssuedCredential>;
  /** Masks every secret the process knows in a message that leaves it. */
  redact?: (text: string) => string;
}

/** The dashboard's one-time URL (`authsome ui`). */
export interface UiLink {
  url: string;
  expires_at: string;
  /** The file:// page that forwards to it, for the browser's command line (asked with `launch`). */
  launch_url?: string | null;
}

export function apiHandler(options: ApiOptions) {
  const { sessions } = options;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://daemon');
    const path = url.pathname;
    try {
      if (req.method === 'GET' && path === '/v1/status') return json(res, 200, options.status());
      if (req.method === 'POST' && path === '/v1/shutdown') {
        json(res, 200, { stopping: true });
        res.on('finish', options.shutdown);
        return;
      }
      if (req.method === 'POST' && path === '/v1/sessions') return await openSession(req, res, options);
      if (req.method === 'POST' && path === '/v1/ui-link') {
        if (!options.uiLink) return json(res, 503, { error: 'daemon_unavailable', message: 'this daemon was started without the vault, so it serves no dashboard' });
        const body = (await readJson(req)) as { launch?: unknown } | null;
        return json(res, 200, options.uiLink(body?.launch === true));
      }
      const credential = /^\/v1\/credentials\/([^/]+)$/.exec(path);
      if (req.method === 'GET' && credential) return await issueCredential(res, options, decodeURIComponent(credential[1]!), url.searchParams.get('connection') ?? undefined);
      const outcome = /^\/v1\/sessions\/([^/]+)\/outcome$/.exec(path);
      if (req.method === 'POST' && outcome) {
        const body = (await readJson(req)) as { ok?: unknown; message?: unknown };
        sessions.finish(outcome[1]!, { ok: body.ok === true, message: String(body.message ?? '') });
        return json(res, 200, { ok: true });
      }
      json(res, 404, { error: 'not_found', message: `no route ${req.method} ${path}` });
    } catch (error) {
      if (error instanceof BodyTooLarge && !res.headersSent) return answerTooLarge(req, res, { error: 'request_too_large', message: error.message });
      // A malformed or aborted request fails alone; it must never take the daemon (and its logins) down.
      if (!res.headersSent && !res.destroyed) json(res, 400, { error: 'bad_request', message: (error as Error).message });
      else res.destroy();
    }
  };
}

/**
 * GET /v1/credentials/<provider>[?connection=<name>]: the daemon API as an access path
 * (refresh-protocol.md "Where it applies"): the credential renewed first when due, and audited
 * like `get --show-secret`. Failures carry the CLI's error envelope and the code's HTTP status.
 */
async function issueCredential(res: ServerResponse, options: ApiOptions, provider: string, connection: string | undefined): Promise<void> {
  if (!options.credential) return json(res, 503, { error: 'daemon_unavailable', message: 'this daemon was started without the vault, so it hands out no credentials' });
  try {
    json(res, 200, await options.credential(provider, connection));
  } catch (error) {
    const failure = toAuthsomeError(error);
    const redact = options.redact ?? ((text: string) => text);
    json(res, failure.httpStatus, JSON.parse(redact(JSON.stringify(failure.toJSON()))));
  }
}

async function openSession(req: IncomingMessage, res: ServerResponse, options: ApiOptions): Promise<void> {
  const body = await readJson(req);
  const { launch, ...rest } = (body ?? {}) as { launch?: unknown };
  const spec = checkSpec(rest);
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  let open = true;
  const send = (event: SessionEvent) => {
    if (!open) return;
    res.write(JSON.stringify(event) + '\n');
    if (event.type === 'error' || (event.type === 'result' && spec.kind !== 'device')) {
      // The stream stays open after a callback result so the CLI can still report the outcome
      // on it being closed; results end nothing, errors end everything.
      if (event.type === 'error') end();
    }
  };
  const end = () => {
    if (!open) return;
    open = false;
    res.end();
  };
  const session = options.sessions.open(spec, send);
  options.log(`session ${spec.kind} opened for ${spec.provider}`);
  res.on('close', () => {
    open = false;
    options.sessions.abandon(session.id);
  });
  const url = options.pageUrl(spec.kind, session.id);
  // The browser's command line gets a local page's address, never the link itself (launch-files.ts).
  const launchUrl = launch === true && url && options.launch ? options.launch(session.id, url) : null;
  send({ type: 'session', id: session.id, url, launch_url: launchUrl, expires_at: session.expiresAt.toISOString() });
}

function checkSpec(body: unknown): SessionSpec {
  const spec = body as SessionSpec;
  const text = (value: unknown, name: string) => {
    if (typeof value !== 'string' || !value) throw new Error(`${name} must be a non-empty string`);
  };
  if (!spec || typeof spec !== 'object') throw new Error('expected a JSON object');
  text(spec.provider, 'provider');
  // It names the session in pages and in the daemon's log: the one name rule, as at every other door.
  if (!isValidName(spec.provider)) throw new Error('provider must be a provider name');
  if (spec.kind === 'callback') {
    text(spec.state, 'state');
    text(spec.authorization_url, 'authorization_url');
    if (!/^https?:\/\//i.test(spec.authorization_url)) throw new Error('authorization_url must be an http(s) URL');
  }
  else if (spec.kind === 'input') {
    text(spec.title, 'title');
    if (!Array.isArray(spec.fields) || spec.fields.length === 0) throw new Error('fields must be a non-empty array');
    for (const field of spec.fields) text(field.name, 'field name');
  } else if (spec.kind === 'device') {
    text(spec.user_code, 'user_code');
    text(spec.verification_uri, 'verification_uri');
    if (!/^https?:\/\//.test(spec.verification_uri)) throw new Error('verification_uri must be an http(s) URL');
    if (typeof spec.expires_in !== 'number') throw new Error('expires_in must be a number');
  } else {
    throw new Error('kind must be callback, input or device');
  }
  return spec;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const body = await readLimitedBody(req);
  return body.length ? JSON.parse(body.toString('utf8')) : {};
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

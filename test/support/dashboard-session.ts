// A dashboard session driven over raw HTTP, as a session holder (or a script with its cookie)
// would: `authsome ui --no-browser` for the one-time link, the cookie it is traded for, and the
// CSRF token the page embeds. Actions are posted from the dashboard's own origin.
import assert from 'node:assert/strict';
import http from 'node:http';
import { runCliJson } from './cli.ts';

export interface RawAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

export interface DashboardSession {
  origin: string;
  /** The session cookie (`name=value`), for requests the helpers below do not make. */
  cookie: string;
  /** GET a dashboard path (`/ui`, `/ui/api/state`) with the session cookie. */
  get(path: string): Promise<RawAnswer>;
  /** POST /ui/actions/<name> as a form, with the CSRF token; JSON answers when `json`. */
  action(name: string, form: Record<string, string>, options?: { json?: boolean }): Promise<RawAnswer>;
}

export function rawRequest(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode!, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

export async function openDashboard(env: Record<string, string>): Promise<DashboardSession> {
  const { code, json, stderr } = await runCliJson<{ url: string }>(['ui', '--no-browser'], { env });
  assert.equal(code, 0, stderr);
  const origin = new URL(json.url).origin;
  const opened = await rawRequest(json.url);
  assert.equal(opened.status, 303);
  const cookie = String(opened.headers['set-cookie']?.[0] ?? '').split(';')[0]!;
  assert.match(cookie, /^authsome_ui_\d+=/);
  const page = await rawRequest(`${origin}/ui`, { headers: { cookie } });
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1];
  assert.ok(csrf, 'the page embeds a CSRF token');
  return {
    origin,
    cookie,
    get: (path) => rawRequest(`${origin}${path}`, { headers: { cookie } }),
    action: (name, form, options = {}) => {
      const body = new URLSearchParams({ ...form, csrf }).toString();
      return rawRequest(`${origin}/ui/actions/${name}`, {
        method: 'POST', body,
        headers: {
          cookie, origin, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(Buffer.byteLength(body)),
          ...(options.json ? { accept: 'application/json' } : {}),
        },
      });
    },
  };
}

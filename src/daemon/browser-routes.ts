// The daemon's browser-facing routes on 127.0.0.1:<port>: the OAuth start link and callback, the
// input form, the device page, and the dashboard mounted under /ui. Every response is guarded: the Host must
// be our own address (DNS rebinding), no CORS, no caching, a nonce-based CSP; state-changing
// requests also need our Origin and a one-time CSRF nonce.
import { randomBytes } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { matchesKeyPattern } from '../broker/index.ts';
import { boundedLine, qrSvg } from '../util/index.ts';
import { limitBodies } from './body-limit.ts';
import { START_PATH, clearLoginBinding, hasLoginBinding, setLoginBinding } from './login-binding.ts';
import { renderDevicePage, renderInputForm, renderResult } from './pages/index.ts';
import { sameSecret, type InputFieldSpec, type Session, type SessionRegistry } from './sessions.ts';

export const CALLBACK_PATH = '/auth/callback/oauth';
export const STATE_MISMATCH = 'OAuth state parameter does not match';
/** How long the callback page waits for the terminal to finish the token exchange. */
const OUTCOME_WAIT_MS = 20_000;

export type Env = { Variables: { nonce: string } };

export interface BrowserRoutesOptions {
  sessions: SessionRegistry;
  /** The port actually listened on (known after listen when 0 was asked for). */
  port: () => number;
  log: (line: string) => void;
  /** Routes mounted under /ui behind the same guards (the dashboard). */
  dashboard?: Hono<Env>;
  /** The process's one redactor: every page and JSON answer passes through it. */
  redact?: (text: string) => string;
  /** The pages the browser was opened with: each goes once its link is used (launch-files.ts). */
  launches?: { discard(key: string): void };
}

export function browserRoutes({ sessions, port, log, dashboard, redact, launches }: BrowserRoutesOptions): Hono<Env> {
  const app = new Hono<Env>();
  const ownHosts = () => [`127.0.0.1:${port()}`, `localhost:${port()}`];

  app.use('*', async (c, next) => {
    const started = Date.now();
    const nonce = randomBytes(16).toString('base64');
    c.set('nonce', nonce);
    const host = c.req.header('host') ?? '';
    if (!ownHosts().includes(host.toLowerCase())) {
      // A page on another origin that resolved its own name to 127.0.0.1 (DNS rebinding) lands here.
      c.res = page(c, 421, { ok: false, title: 'Wrong address', message: `This service answers only at http://127.0.0.1:${port()}.`, nonce });
    } else if (c.req.method !== 'GET' && c.req.method !== 'POST') {
      c.res = c.text('method not allowed', 405);
    } else {
      await next();
      if (redact) c.res = await redacted(c.res, redact);
    }
    secureHeaders(c, nonce);
    // Never the query string: it carries authorization codes and one-time tokens.
    log(`${c.req.method} ${loggedPath(new URL(c.req.url).pathname)} → ${c.res.status} in ${Date.now() - started} ms`);
  });

  // Before any route reads a body, and for every route: each is guarded above, this bounds what a request may send.
  app.use('*', limitBodies<Context<Env>>((c, message) => (c.req.header('accept') ?? '').includes('application/json')
    ? c.json({ error: 'request_too_large', message }, 413)
    : page(c, 413, { ok: false, title: 'Too large', message: `This request was refused: ${message}.`, nonce: c.get('nonce') })));

  // The start link of an OAuth login (what the terminal prints and the browser is opened with):
  // binds the login to this browser with a cookie, then goes on to the provider.
  app.get(`${START_PATH}/:id`, (c) => {
    const id = c.req.param('id');
    launches?.discard(id);
    const session = sessions.get(id);
    if (!session || session.spec.kind !== 'callback') return gone(c);
    if (session.status !== 'pending') return used(c, session);
    // The cookie must be set for the host of the redirect URI (127.0.0.1), or the callback finds none.
    if ((c.req.header('host') ?? '').toLowerCase() !== `127.0.0.1:${port()}`) return c.redirect(`http://127.0.0.1:${port()}${START_PATH}/${id}`, 303);
    const target = session.spec.authorization_url;
    if (!/^https?:\/\//i.test(target)) {
      return page(c, 502, { ok: false, title: 'Login not started', message: 'The provider\'s authorization URL is not a web address.', nonce: c.get('nonce') });
    }
    setLoginBinding(c, session, port(), CALLBACK_PATH);
    return c.redirect(target, 303);
  });

  app.get(CALLBACK_PATH, async (c) => {
    const nonce = c.get('nonce');
    const params = new URL(c.req.url).searchParams;
    const session = sessions.byState(params.get('state') ?? '');
    if (!session || session.spec.kind !== 'callback' || session.status !== 'pending') {
      // A foreign, forged or spent state (issue 14, item 9): this page answers it, and nothing
      // else happens — no login in progress is failed by a request anyone could make.
      return page(c, 400, {
        ok: false, title: 'Login not accepted', message: 'This sign-in response does not belong to a login authsome is waiting for. Nothing was stored.',
        detail: `Error: ${STATE_MISMATCH}`, next: 'If a login is waiting in your terminal, finish it from the link it printed.', nonce,
      });
    }
    if (!hasLoginBinding(c, session, port())) {
      // The right state in a browser that did not open the start link: a leaked authorization URL
      // completed elsewhere. Its code is never redeemed, and the login keeps waiting for its own browser.
      log(`callback for ${session.spec.provider} refused: the browser did not start this login`);
      return page(c, 403, {
        ok: false, title: 'Login not accepted here',
        message: `This sign-in to ${session.spec.provider} came back to a browser that did not start this login (it lacks the login's cookie). Nothing was stored; the login is still waiting for the browser that started it.`,
        next: 'If you started it in this browser, allow cookies for 127.0.0.1 and open again the link your terminal printed.', nonce,
      });
    }
    clearLoginBinding(c, session, port(), CALLBACK_PATH);
    sessions.deliver(session.id, { type: 'result', params: Object.fromEntries(params) });
    const error = params.get('error');
    if (error) {
      const description = params.get('error_description');
      return page(c, 400, {
        ok: false, title: 'Login not completed', message: `${session.spec.provider} answered: ${error}${description ? ` — ${description}` : ''}`,
        next: 'Nothing was stored. You can close this tab and try again from your terminal.', nonce,
      });
    }
    const outcome = await sessions.waitForOutcome(session.id, OUTCOME_WAIT_MS);
    if (!outcome) {
      return page(c, 200, { ok: true, title: 'Authorization received', message: 'authsome received the authorization.', next: 'You can close this tab; your terminal shows the result.', nonce });
    }
    return page(c, outcome.ok ? 200 : 400, {
      ok: outcome.ok, title: outcome.ok ? 'Connected' : 'Login failed', message: outcome.message,
      ...onward(session, outcome.ok ? 'You can close this tab and return to your terminal.' : 'Nothing was stored. Your terminal says what to do next.'), nonce,
    });
  });

  app.get('/input/:id', (c) => {
    const session = sessions.get(c.req.param('id'));
    if (!session || session.spec.kind !== 'input') return gone(c);
    launches?.discard(session.id);
    if (session.status !== 'pending') return used(c, session);
    return c.html(inputForm(c, session), 200);
  });

  app.post('/input/:id', async (c) => {
    const nonce = c.get('nonce');
    const session = sessions.get(c.req.param('id'));
    if (!session || session.spec.kind !== 'input') return gone(c);
    const origin = c.req.header('origin');
    if (!origin || !ownHosts().map((h) => `http://${h}`).includes(origin.toLowerCase())) {
      return page(c, 403, { ok: false, title: 'Request refused', message: 'This form can only be submitted from its own page.', nonce });
    }
    if (session.status !== 'pending') return used(c, session);
    const body = await c.req.parseBody();
    const text = (name: string) => (typeof body[name] === 'string' ? (body[name] as string) : '');
    if (!sameSecret(text('csrf'), session.csrf)) {
      return page(c, 403, { ok: false, title: 'Request refused', message: 'The form was missing its security token. Reload the page from the link in your terminal.', nonce });
    }
    const values: Record<string, string> = {};
    const fieldErrors: Record<string, string> = {};
    for (const field of session.spec.fields) {
      const value = text(field.name).trim();
      const problem = await checkField(field, value);
      if (problem) fieldErrors[field.name] = problem;
      else if (value) values[field.name] = value;
    }
    if (Object.keys(fieldErrors).length > 0) return c.html(inputForm(c, session, values, fieldErrors), 422);
    sessions.deliver(session.id, { type: 'result', values });
    if (!session.spec.await_outcome) {
      return page(c, 200, { ok: true, title: 'Received', message: 'authsome received the values. They were sent only to this computer.', ...onward(session, 'Your terminal continues the login; follow it there.'), nonce });
    }
    // Say "Saved" only once the terminal has stored them: it may still refuse (an existing connection, a bad key).
    const outcome = await sessions.waitForOutcome(session.id, OUTCOME_WAIT_MS);
    if (!outcome) return page(c, 200, { ok: true, title: 'Received', message: 'authsome received the values.', next: 'Your terminal shows whether they were saved.', nonce });
    return page(c, outcome.ok ? 200 : 400, {
      ok: outcome.ok, title: outcome.ok ? 'Saved' : 'Not saved', message: outcome.message,
      ...onward(session, outcome.ok ? 'You can close this tab; your terminal continues.' : 'Your terminal says what to do next.'), nonce,
    });
  });

  app.get('/device/:id', async (c) => {
    const session = sessions.get(c.req.param('id'));
    if (!session || session.spec.kind !== 'device') return gone(c);
    const spec = session.spec;
    const link = spec.verification_uri_complete || spec.verification_uri;
    const status = session.status === 'finished' ? 'approved' : session.status === 'failed' ? 'failed' : 'pending';
    return c.html(renderDevicePage({
      title: spec.title, userCode: spec.user_code, verificationUri: spec.verification_uri, verificationUriComplete: spec.verification_uri_complete ?? null,
      qrSvg: await qrSvg(link), expiresAt: session.expiresAt, nonce: c.get('nonce'), status, message: session.outcome?.message ?? null,
      refreshSeconds: status === 'pending' ? 5 : undefined,
    }), 200);
  });

  if (dashboard) app.route('/ui', dashboard);

  app.notFound((c) => page(c, 404, { ok: false, title: 'Not found', message: 'There is nothing here.', nonce: c.get('nonce') }));
  return app;
}

/** Where a form the dashboard opened leads back to. */
const DASHBOARD_HOME = '/ui';

/** Paths are chosen by whoever sends the request (any local user): at most 120 characters of one are logged. */
const LOGGED_PATH_CHARS = 120;

function loggedPath(pathname: string): string {
  const path = pathname.replace(/\/(input|device|ui\/connect|auth\/start)\/[^/]+/, '/$1/…');
  return boundedLine(path, LOGGED_PATH_CHARS);
}

function inputForm(c: Context<Env>, session: Session, values: Record<string, string> = {}, fieldErrors: Record<string, string> = {}): string {
  const spec = session.spec as Extract<Session['spec'], { kind: 'input' }>;
  return renderInputForm({
    title: spec.title, intro: spec.intro, action: `/input/${session.id}`, csrf: session.csrf, nonce: c.get('nonce'),
    // Only non-secret values are ever sent back into the page.
    fields: spec.fields.map((f) => ({ ...f, value: f.secret ? null : values[f.name] ?? f.value ?? null })),
    redirectUri: spec.redirect_uri ?? null, docsUrl: spec.docs_url ?? null, fieldErrors,
    error: Object.keys(fieldErrors).length ? 'Some values need another look.' : null, expiresAt: session.expiresAt,
    // A form the dashboard opened leads back to it; one a terminal opened has its terminal to go back to.
    back: spec.next_url ? { href: DASHBOARD_HOME, label: 'Cancel and go back to your connections' } : null,
  });
}

/** What a finished page says next: "back to your terminal", or the link a session the dashboard opened names. */
function onward(session: Session, terminal: string): Pick<Parameters<typeof renderResult>[0], 'next' | 'link'> {
  return session.spec.next_url ? { link: { href: session.spec.next_url, label: session.spec.next_label ?? 'Continue' } } : { next: terminal };
}

async function checkField(field: InputFieldSpec, value: string): Promise<string | null> {
  if (!value) return field.required ? `${field.label} is required.` : null;
  if (field.pattern) {
    let ok = true;
    try {
      // The broker's own check: the whole value, in linear time (a definition's pattern may be
      // catastrophic for a backtracking engine, and this process serves every login).
      ok = await matchesKeyPattern(field.pattern, value);
    } catch {
      ok = true; // a broken pattern is the definition's fault; the broker checks again on save
    }
    if (!ok) return field.hint ? `That does not look right. ${field.hint}` : `That does not match the expected format.`;
  }
  return null;
}

/**
 * One redactor on every page and JSON answer (dashboard notices, action results, a provider's
 * error_description on the callback page): provider text can quote a token or a client secret
 * the daemon holds. Streams (the dashboard's events) carry names and states only and pass as they are.
 */
async function redacted(response: Response, redact: (text: string) => string): Promise<Response> {
  const type = response.headers.get('content-type') ?? '';
  if (!response.body || !/^(text\/html|application\/json)\b/.test(type)) return response;
  const text = await response.text();
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  return new Response(redact(text), { status: response.status, statusText: response.statusText, headers });
}

function page(c: Context<Env>, status: number, view: Parameters<typeof renderResult>[0]): Response {
  return c.html(renderResult(view), status as 200);
}

function gone(c: Context<Env>): Response {
  return page(c, 404, { ok: false, title: 'Link not valid', message: 'This link is unknown or has expired.', next: 'Run the command again in your terminal for a new link.', nonce: c.get('nonce') });
}

function used(c: Context<Env>, session: Session): Response {
  return page(c, 410, {
    ok: false, title: 'Link already used', message: session.outcome?.message && session.status === 'failed' ? session.outcome.message : 'This one-time link was already used.',
    next: 'Run the command again in your terminal if you need a new link.', nonce: c.get('nonce'),
  });
}

function secureHeaders(c: Context<Env>, nonce: string): void {
  const h = c.res.headers;
  h.set('Cache-Control', 'no-store');
  h.set('Content-Security-Policy', `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`);
  // same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on form posts.
  h.set('Referrer-Policy', 'same-origin');
  h.set('X-Content-Type-Options', 'nosniff');
  h.set('X-Frame-Options', 'DENY');
  h.set('Cross-Origin-Opener-Policy', 'same-origin');
  h.set('Cross-Origin-Resource-Policy', 'same-origin');
}

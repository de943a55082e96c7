// The dashboard's routes under /ui, mounted behind the browser routes' guards (Host → 421, no
// CORS, no-store, nonce CSP). On top of those: the one-time link at /ui/open, a session cookie for
// everything else, and for every POST our own Origin (403) and the session's CSRF token (403).
// Pages are server-rendered; /ui/api/* answers the same data as JSON. Actions go through the
// broker facade only, and answer JSON to `Accept: application/json`, else redirect with a notice.
import type { Context } from 'hono';
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { describeRemote, type Authsome, type LoginOutcome } from '../../broker/index.ts';
import { AuthsomeError, toAuthsomeError } from '../../util/index.ts';
import type { Env } from '../browser-routes.ts';
import { renderResult } from '../pages/index.ts';
import { COOKIE_PATH, cookieName, type DashboardAccess, type UiSession } from './access.ts';
import { buildAuditView, type AuditFilter, type Outcome } from './audit-view.ts';
import { CONNECT_PATH, type ConnectFlows, type DashboardLogin } from './connect.ts';
import { renderAuditPage, type AuditFormValues } from './pages/audit.ts';
import { renderOverview } from './pages/overview.ts';
import { CONTINUE_SCRIPT, renderContinue, renderRegister } from './pages/register.ts';
import { renderShell } from './pages/shell.ts';
import { buildDashboardView, filterView, type ConnectionDetail, type DashboardView, type ViewFilter } from './view-model.ts';

type DashEnv = Env & { Variables: Env['Variables'] & { session: UiSession } };
type Ctx = Context<DashEnv>;

export interface DashboardRoutesOptions {
  authsome: Authsome;
  access: DashboardAccess;
  flows: ConnectFlows;
  port: () => number;
}

const MAX_BODY_BYTES = 256 * 1024;
/** How long GET /ui/connect/<id> waits for the login's next step before saying it is still working. */
const STEP_WAIT_MS = 15_000;
/** The audit entries the log page reads (the newest). */
const AUDIT_WINDOW = 20_000;
const RANGE_MS: Record<string, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, '30d': 30 * 86_400_000 };

export function dashboardRoutes(options: DashboardRoutesOptions): Hono<DashEnv> {
  const { authsome, access, flows } = options;
  const app = new Hono<DashEnv>();
  const origins = () => [`http://127.0.0.1:${options.port()}`, `http://localhost:${options.port()}`];

  app.get('/open', (c) => {
    const redeemed = access.redeem(c.req.query('t') ?? '');
    if ('error' in redeemed) {
      return result(c, redeemed.error === 'used' ? 410 : 403, {
        ok: false, title: redeemed.error === 'used' ? 'Link already used' : 'Link not valid',
        message: redeemed.error === 'used' ? 'This one-time dashboard link was already used.' : 'This dashboard link is unknown or has expired.',
        next: 'Run `authsome ui` in your terminal for a new link.',
      });
    }
    setCookie(c, cookieName(options.port()), redeemed.cookie, { httpOnly: true, sameSite: 'Strict', path: COOKIE_PATH });
    return c.redirect('/ui', 303);
  });

  // Every other route: a live session; POSTs also our own Origin and the CSRF token.
  app.use('*', async (c, next) => {
    const api = isApi(c);
    if (c.req.method === 'POST') {
      const origin = c.req.header('origin')?.toLowerCase();
      if (!origin || !origins().includes(origin)) return refuse(c, 403, 'Request refused', 'Dashboard actions are accepted only from the dashboard\'s own pages.');
      if (Number(c.req.header('content-length') ?? 0) > MAX_BODY_BYTES) return refuse(c, 413, 'Too large', 'The request is too large.');
    } else if (api) {
      // A page on another port of 127.0.0.1 is same-site, so SameSite cookies reach us: refuse its reads too.
      const site = c.req.header('sec-fetch-site');
      if (site && site !== 'same-origin' && site !== 'none') return refuse(c, 403, 'Request refused', 'The dashboard API answers only the dashboard\'s own pages.');
    }
    const session = access.session(getCookie(c, cookieName(options.port())));
    if (!session) return refuse(c, 401, 'Not signed in', 'Open the dashboard with `authsome ui` in your terminal; it prints a one-time link.');
    c.set('session', session);
    await next();
  });

  app.get('/', (c) => page(c, async () => {
    const filter = viewFilter(c);
    const view = await dashboardView(authsome);
    return renderShell({ title: 'Connections', section: 'connections', nonce: c.get('nonce'), flash: takeFlash(c), profile: view.profile, body: renderOverview({ view, filter, csrf: c.get('session').csrf }) });
  }));

  app.get('/log', (c) => page(c, async () => {
    const { filter, form } = auditFilter(c);
    const view = buildAuditView(authsome.log(AUDIT_WINDOW), filter);
    return renderShell({ title: 'Audit log', section: 'log', nonce: c.get('nonce'), flash: takeFlash(c), body: renderAuditPage(view, form) });
  }));

  app.get('/register', (c) => page(c, async () =>
    renderShell({ title: 'Register a provider', section: 'register', nonce: c.get('nonce'), flash: takeFlash(c), body: renderRegister({ csrf: c.get('session').csrf, text: '', force: false, problems: [] }) })));

  app.get('/connect/:id', async (c) => {
    const login = flows.get(c.req.param('id'), c.get('session').id);
    if (!login) return refuse(c, 404, 'Not found', 'This connection attempt is unknown or finished long ago. Start it again from the dashboard.');
    return stepResponse(c, login);
  });

  app.get('/api/state', async (c) => {
    try {
      const view = await dashboardView(authsome);
      return c.json({ profile: view.profile, counts: view.counts, problems: view.problems, providers: filterView(view, viewFilter(c)) });
    } catch (error) {
      return failure(c, error);
    }
  });

  app.get('/api/log', (c) => c.json(buildAuditView(authsome.log(AUDIT_WINDOW), auditFilter(c).filter)));

  app.post('/actions/:name', async (c) => {
    const session = c.get('session');
    const body = await readBody(c);
    if (!access.checkCsrf(session, body.csrf ?? c.req.header('x-csrf-token'))) {
      return refuse(c, 403, 'Request refused', 'The request was missing the dashboard\'s security token. Reload the dashboard and try again.');
    }
    const name = c.req.param('name');
    try {
      switch (name) {
        case 'connect': return await connect(c, body);
        case 'register': return await register(c, body);
        case 'disconnect': {
          const { provider, connection } = target(body);
          const removed = await authsome.logout(provider, connection ? { connection } : {});
          const remote = Object.values(removed.remote).map((r) => describeRemote(provider, r)).filter(Boolean).join(' ');
          return done(c, { ok: true, message: [`Disconnected ${provider} (${removed.connections[0] ?? connection}).`, remote].filter(Boolean).join(' ') });
        }
        case 'refresh': {
          const { provider, connection } = target(body);
          const refreshed = await authsome.refresh(provider, connection ? { connection } : {});
          const message = refreshed.warning
            ? `Not refreshed: ${refreshed.warning}.`
            : `${refreshed.refreshed ? 'Refreshed' : 'Another process just refreshed'} ${provider} (${refreshed.connection}); the access token expires at ${refreshed.expires_at ?? 'an unknown time'}.`;
          return done(c, { ok: !refreshed.warning, message }, { expires_at: refreshed.expires_at, status: refreshed.status });
        }
        case 'set-default': {
          const { provider, connection } = target(body);
          if (!connection) throw new AuthsomeError('input_invalid', 'which connection should be the default?');
          await authsome.setDefault(provider, connection);
          return done(c, { ok: true, message: `${provider} now uses connection ${connection} by default.` });
        }
        default:
          return refuse(c, 404, 'Not found', `There is no action "${name}".`);
      }
    } catch (error) {
      const failed = toAuthsomeError(error);
      return done(c, { ok: false, message: failed.message + (failed.hint ? ` ${failed.hint}` : '') }, { error: failed.code }, failed.httpStatus);
    }
  });

  /** Starts the same login `authsome login` runs, with the daemon's pages as the door. */
  async function connect(c: Ctx, body: Record<string, string>): Promise<Response> {
    const { provider } = target(body);
    const connection = body.connection?.trim() || 'default';
    const force = body.force === '1' || body.force === 'true';
    const { definition } = await authsome.inspect(provider);
    let run: (login: DashboardLogin) => Promise<LoginOutcome>;
    if (definition.auth_type === 'api_key') {
      // Refuse before asking anyone for a secret, as the CLI does.
      if (!force && (await authsome.hasConnection(provider, { connection }))) {
        throw new AuthsomeError('conflict', `${provider} already has a connection "${connection}" in profile "${authsome.profile}"; it was not overwritten`, {
          hint: 'Tick "Replace an existing connection", or choose another connection name.', provider, connection,
        });
      }
      run = async (login) => {
        const values = await login.collectInput(await authsome.apiKeyForm(provider));
        let outcome: LoginOutcome;
        try {
          const stored = await authsome.loginWithApiKey(provider, values.api_key ?? '', { connection, force, via: 'form' });
          outcome = { ok: true, message: `Saved the ${provider} API key as connection "${stored.connection}".` };
        } catch (error) {
          outcome = { ok: false, message: (error as Error).message };
        }
        login.loginFinished(outcome);
        return outcome;
      };
    } else {
      run = async (login) => {
        const connected = await authsome.loginWithOAuth(provider, login, { connection, force });
        const who = connected.account.label ?? connected.account.id;
        return { ok: true, message: `Connected ${connected.provider} (${connected.connection})${who ? ` as ${who}` : ''}.` };
      };
    }
    const session = c.get('session');
    const id = flows.start(session.id, run, (outcome) => (session.flash = outcome));
    const next = `${CONNECT_PATH}/${id}`;
    return wantsJson(c) ? c.json({ ok: true, next }) : c.redirect(next, 303);
  }

  async function register(c: Ctx, body: Record<string, string>): Promise<Response> {
    const text = body.definition ?? '';
    const force = body.force === '1' || body.force === 'true';
    try {
      if (!text.trim()) throw new AuthsomeError('provider_invalid', 'definition: paste a provider definition (JSON)');
      const entry = await authsome.registerText(text, { force, label: 'definition', forceHint: (what) => `Tick "Replace…" to ${what}.` });
      const message = `Registered ${entry.definition.name}${entry.overridesBundled ? ', overriding the bundled definition' : ''}.`;
      if (wantsJson(c)) return c.json({ ok: true, message, provider: entry.definition.name });
      c.get('session').flash = { ok: true, message };
      return c.redirect(`/ui?q=${encodeURIComponent(entry.definition.name)}`, 303);
    } catch (error) {
      const failed = toAuthsomeError(error);
      if (failed.code !== 'provider_invalid' && failed.code !== 'conflict') throw failed;
      const problems = problemsOf(failed);
      if (wantsJson(c)) return c.json({ ok: false, error: failed.code, field: 'definition', problems, hint: failed.hint ?? null }, failed.httpStatus as 409);
      const html = renderShell({
        // No notice: the problems sit next to the field, which takes the focus and is described by them.
        title: 'Register a provider', section: 'register', nonce: c.get('nonce'), flash: null,
        body: renderRegister({ csrf: c.get('session').csrf, text, force, problems, hint: failed.code === 'conflict' ? failed.hint : null }),
      });
      return c.html(html, failed.httpStatus as 409);
    }
  }

  return app;
}

async function stepResponse(c: Ctx, login: DashboardLogin): Promise<Response> {
  const step = await login.nextStep(STEP_WAIT_MS);
  const nonce = c.get('nonce');
  if (!step) {
    return c.html(renderShell({ title: 'Connecting…', section: 'connections', nonce, flash: null, refreshSeconds: 2, body: '<p>authsome is still starting the login. This page updates itself.</p>' }), 200);
  }
  if (step.kind === 'page') return c.redirect(step.url, 303);
  if (step.kind === 'done') {
    c.get('session').flash = { ok: step.ok, message: step.message };
    return c.redirect('/ui', 303);
  }
  let url: URL | null = null;
  try {
    url = new URL(step.url);
  } catch {
    url = null;
  }
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return refuse(c, 502, 'Login not started', 'The provider\'s authorization URL is not a web address.');
  }
  return c.html(renderShell({ title: `Continue to ${step.provider}`, section: 'connections', nonce, flash: null, body: renderContinue(step.provider, url.href), script: CONTINUE_SCRIPT }), 200);
}

async function dashboardView(authsome: Authsome): Promise<DashboardView> {
  const list = await authsome.list();
  const details = new Map<string, ConnectionDetail | null>();
  for (const provider of list.providers) {
    for (const connection of provider.connections) {
      // The masked record (secrets masked by the broker, and again by the view-model).
      const detail = await authsome.get(provider.name, { connection: connection.connection_name }).catch(() => null);
      details.set(`${provider.name}\0${connection.connection_name}`, detail as ConnectionDetail | null);
    }
  }
  return buildDashboardView(list, (provider, connection) => details.get(`${provider}\0${connection}`) ?? null);
}

function viewFilter(c: Ctx): ViewFilter {
  return { q: c.req.query('q') ?? '', state: c.req.query('state') ?? '' };
}

function auditFilter(c: Ctx): { filter: AuditFilter; form: AuditFormValues } {
  const form: AuditFormValues = {
    provider: c.req.query('provider') ?? '', event: c.req.query('event') ?? '', outcome: c.req.query('outcome') ?? '',
    range: c.req.query('range') ?? '', from: c.req.query('from') ?? '', to: c.req.query('to') ?? '',
  };
  const filter: AuditFilter = {};
  if (form.provider) filter.provider = form.provider;
  if (form.event) filter.event = form.event;
  if (form.outcome === 'success' || form.outcome === 'failure') filter.outcome = form.outcome as Outcome;
  const range = RANGE_MS[form.range];
  if (range) filter.fromMs = Date.now() - range;
  // datetime-local values carry no zone: they are this machine's local time, as the browser showed them.
  const from = Date.parse(form.from);
  const to = Date.parse(form.to);
  if (!Number.isNaN(from)) filter.fromMs = Math.max(filter.fromMs ?? from, from);
  if (!Number.isNaN(to)) filter.toMs = to;
  return { filter, form };
}

function target(body: Record<string, string>): { provider: string; connection: string | undefined } {
  const provider = body.provider?.trim();
  if (!provider) throw new AuthsomeError('input_invalid', 'which provider? The request named none');
  return { provider, connection: body.connection?.trim() || undefined };
}

/** "definition: name: must be…; flow: …" → one line per problem, without the label. */
function problemsOf(error: AuthsomeError): string[] {
  if (error.code === 'conflict') return [error.message];
  const text = error.message.replace(/^definition:\s?/, '');
  const position = /^(\d+):(\d+): (.*)$/.exec(text);
  if (position) return [`Line ${position[1]}, column ${position[2]}: ${position[3]} (the definition must be JSON; comments and trailing commas are allowed).`];
  return text.split('; ').filter(Boolean);
}

async function readBody(c: Ctx): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  let raw: Record<string, unknown> = {};
  try {
    raw = type.includes('application/json') ? ((await c.req.json()) as Record<string, unknown>) : ((await c.req.parseBody()) as Record<string, unknown>);
  } catch {
    raw = {};
  }
  const body: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw ?? {})) {
    if (typeof value === 'string') body[key] = value;
    else if (typeof value === 'boolean') body[key] = String(value);
  }
  return body;
}

function isApi(c: Ctx): boolean {
  return c.req.path.startsWith('/ui/api/');
}

function wantsJson(c: Ctx): boolean {
  return isApi(c) || (c.req.header('accept') ?? '').includes('application/json');
}

function takeFlash(c: Ctx): UiSession['flash'] {
  const session = c.get('session');
  const flash = session.flash;
  session.flash = null;
  return flash;
}

/** An action's end: JSON for scripts, else back to the page it came from with a notice. */
function done(c: Ctx, outcome: { ok: boolean; message: string }, extra: Record<string, unknown> = {}, status = 200): Response {
  if (wantsJson(c)) return c.json({ ...outcome, ...extra }, status as 200);
  c.get('session').flash = outcome;
  return c.redirect('/ui', 303);
}

function refuse(c: Ctx, status: number, title: string, message: string): Response {
  if (wantsJson(c)) return c.json({ error: status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : 'forbidden', message }, status as 403);
  return result(c, status, { ok: false, title, message });
}

function result(c: Ctx, status: number, view: Omit<Parameters<typeof renderResult>[0], 'nonce'>): Response {
  return c.html(renderResult({ ...view, nonce: c.get('nonce') }), status as 200);
}

async function page(c: Ctx, render: () => Promise<string>): Promise<Response> {
  try {
    return c.html(await render(), 200);
  } catch (error) {
    return failure(c, error);
  }
}

function failure(c: Ctx, error: unknown): Response {
  const failed = toAuthsomeError(error);
  if (wantsJson(c)) return c.json(failed.toJSON(), failed.httpStatus as 500);
  return result(c, failed.httpStatus, { ok: false, title: 'The dashboard could not read the vault', message: failed.message, next: failed.hint ?? null });
}

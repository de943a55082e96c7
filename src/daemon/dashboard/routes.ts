// The dashboard's routes under /ui, mounted behind the browser routes' guards (Host → 421, no
// CORS, no-store, nonce CSP). On top of those: the one-time link at /ui/open, a session cookie for
// everything else, and for every POST our own Origin (403) and the session's CSRF token (403);
// bodies are bounded before any of this by the browser routes' limit (body-limit.ts, 413).
// Pages are server-rendered; /ui/api/* answers the same data as JSON. Actions go through the
// broker facade only (actions.ts), and answer JSON to `Accept: application/json`, else redirect with a notice.
import { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE } from 'hono/streaming';
import type { Authsome } from '../../broker/index.ts';
import { COOKIE_PATH, cookieName, type DashboardAccess } from './access.ts';
import { dashboardActions } from './actions.ts';
import { buildAuditView, type AuditFilter, type Outcome } from './audit-view.ts';
import type { ConnectFlows, DashboardLogin } from './connect.ts';
import type { ConnectionChange } from '../store-watch.ts';
import { renderAuditPage, type AuditFormValues } from './pages/audit.ts';
import { LIVE_SCRIPT, renderOverview } from './pages/overview.ts';
import { BACK, CONTINUE_SCRIPT, renderContinue, renderRegister } from './pages/register.ts';
import { renderShell } from './pages/shell.ts';
import { failure, isApi, page, refuse, result, takeFlash, type Ctx, type DashEnv } from './respond.ts';
import { usageLines } from './usage.ts';
import { buildDashboardView, filterView, type ConnectionDetail, type DashboardView, type ViewFilter } from './view-model.ts';

export interface DashboardRoutesOptions {
  authsome: Authsome;
  access: DashboardAccess;
  flows: ConnectFlows;
  port: () => number;
  /** Connection changes the daemon sees (its change feed or rescans); absent: no live updates. */
  changes?: (listener: (change: ConnectionChange) => void) => () => void;
  /** A one-time link was presented (used, or tried again): the page the browser was opened with goes. */
  linkVisited?: (linkToken: string) => void;
}

/** A comment line now and then keeps proxies and idle timers from closing the event stream. */
const KEEPALIVE_MS = 25_000;

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
    const linkToken = c.req.query('t') ?? '';
    options.linkVisited?.(linkToken);
    const redeemed = access.redeem(linkToken);
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
    const view = await dashboardView(authsome, c.req.query('profile'));
    return renderShell({
      title: 'Connections', section: 'connections', nonce: c.get('nonce'), flash: takeFlash(c), profile: view.profile,
      body: renderOverview({ view, filter, csrf: c.get('session').csrf }),
      // The live feed reports the daemon's own profile: another profile's page is a read-only view.
      script: options.changes && view.profile === view.activeProfile ? LIVE_SCRIPT : undefined,
    });
  }));

  // Server-sent events: a connection of this profile changed (here, in another process, or on
  // another machine sharing the store). The page offers a reload; the event carries no secret.
  app.get('/api/events', (c) => {
    const subscribe = options.changes;
    if (!subscribe) return c.json({ error: 'not_found', message: 'this daemon has no change feed' }, 404);
    return streamSSE(c, async (stream) => {
      const unsubscribe = subscribe((change) => {
        const where = change.kind === 'changed' ? change.view : change;
        if (where.profile !== authsome.profile) return;
        const data = change.kind === 'changed'
          ? { kind: 'changed', provider: where.provider, connection: where.connection, status: change.view.status, generation: change.view.generation, expires_at: change.view.expires_at }
          : { kind: 'removed', provider: where.provider, connection: where.connection };
        void stream.writeSSE({ event: 'change', data: JSON.stringify(data) }).catch(() => undefined);
      });
      // Open until the browser (or a stopping daemon) closes it; no timer may outlive it, or the
      // daemon would wait for that timer before it can exit.
      const closed = new Promise<void>((resolve) => stream.onAbort(resolve));
      const keepalive = setInterval(() => void stream.write(': keep-alive\n\n').catch(() => undefined), KEEPALIVE_MS);
      keepalive.unref();
      try {
        await stream.writeSSE({ event: 'ready', data: '{}' });
        await closed;
      } finally {
        clearInterval(keepalive);
        unsubscribe();
      }
    });
  });

  app.get('/log', (c) => page(c, async () => {
    const { filter, form } = auditFilter(c);
    const view = buildAuditView(authsome.log(AUDIT_WINDOW), filter);
    return renderShell({ title: 'Audit log', section: 'log', nonce: c.get('nonce'), flash: takeFlash(c), body: renderAuditPage(view, form) });
  }));

  app.get('/register', (c) => page(c, async () =>
    renderShell({ title: 'Register a provider', section: 'register', nonce: c.get('nonce'), flash: takeFlash(c), body: renderRegister({ csrf: c.get('session').csrf, text: '', problems: [] }) })));

  app.get('/connect/:id', async (c) => {
    const login = flows.get(c.req.param('id'), c.get('session').id);
    if (!login) return refuse(c, 404, 'Not found', 'This connection attempt is unknown or finished long ago. Start it again from the dashboard.');
    return stepResponse(c, login);
  });

  app.get('/api/state', async (c) => {
    try {
      const view = await dashboardView(authsome, c.req.query('profile'));
      return c.json({ profile: view.profile, profiles: view.profiles, counts: view.counts, problems: view.problems, providers: filterView(view, viewFilter(c)) });
    } catch (error) {
      return failure(c, error);
    }
  });

  app.get('/api/log', (c) => c.json(buildAuditView(authsome.log(AUDIT_WINDOW), auditFilter(c).filter)));

  app.post('/actions/:name', dashboardActions({ authsome, access, flows }));

  return app;
}

async function stepResponse(c: Ctx, login: DashboardLogin): Promise<Response> {
  const step = await login.nextStep(STEP_WAIT_MS);
  const nonce = c.get('nonce');
  if (!step) {
    return c.html(renderShell({ title: 'Connecting…', section: 'connections', nonce, flash: null, refreshSeconds: 2, body: `<p>authsome is still starting the login. This page updates itself.</p>${BACK}` }), 200);
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

/**
 * The page's data for the daemon's profile, or (`?profile=`, a GET: viewing changes nothing) another
 * profile of the home, which the broker checks as a name and against the home's profiles.
 */
async function dashboardView(authsome: Authsome, requested?: string): Promise<DashboardView> {
  const profile = requested || undefined;
  const scope = profile ? { profile } : {};
  const [list, usage, profiles] = await Promise.all([authsome.list(scope), authsome.connectionUsage(scope), authsome.profiles()]);
  const details = new Map<string, ConnectionDetail | null>();
  for (const provider of list.providers) {
    for (const connection of provider.connections) {
      // The masked record as stored (secrets masked by the broker, and again by the view-model):
      // showing a page renews nothing; the Refresh button does.
      const detail = await authsome.storedView(provider.name, { connection: connection.connection_name, ...scope }).catch(() => null);
      details.set(`${provider.name}\0${connection.connection_name}`, detail as ConnectionDetail | null);
    }
  }
  const isDefaultProfile = profiles.find((p) => p.name === list.profile)?.default ?? list.profile === 'default';
  const view = buildDashboardView(list, (provider, connection) => details.get(`${provider}\0${connection}`) ?? null, (provider, connection, isDefaultConnection) => {
    const found = usage.find((u) => u.provider === provider && u.connection === connection);
    return found ? usageLines(found, { profile: list.profile, isDefaultProfile, isDefaultConnection }) : [];
  });
  return { ...view, activeProfile: authsome.profile, profiles: [...new Set([...profiles.map((p) => p.name), list.profile])].sort() };
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

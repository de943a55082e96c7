// The dashboard's actions (POST /ui/actions/<name>): connect, disconnect, refresh, set default,
// register. Each needs the session's CSRF token (the Origin was checked by the routes' guard) and
// goes through the broker facade only; it answers JSON to `Accept: application/json`, else
// redirects back with a notice.
import { describeRemote, type Authsome, type LoginOutcome } from '../../broker/index.ts';
import { AuthsomeError, toAuthsomeError } from '../../util/index.ts';
import type { DashboardAccess } from './access.ts';
import { CONNECT_PATH, type ConnectFlows, type DashboardLogin } from './connect.ts';
import { renderRegister } from './pages/register.ts';
import { renderShell } from './pages/shell.ts';
import { done, readBody, refuse, wantsJson, type Ctx } from './respond.ts';

export interface DashboardActionsOptions {
  authsome: Authsome;
  access: DashboardAccess;
  flows: ConnectFlows;
}

export function dashboardActions({ authsome, access, flows }: DashboardActionsOptions): (c: Ctx) => Promise<Response> {
  const handle = async (c: Ctx): Promise<Response> => {
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
  };

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
          const stored = await authsome.loginWithApiKey(provider, values, { connection, force, via: 'form' });
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
    try {
      if (!text.trim()) throw new AuthsomeError('provider_invalid', 'definition: paste a provider definition (JSON)');
      // Never a replacement from the browser: a definition names the token endpoint that receives
      // refresh tokens, so overriding an existing one stays a terminal command (`register --force`).
      const entry = await authsome.registerText(text, { force: false, label: 'definition', forceHint: (what) => `To ${what}, run \`authsome register <file> --force\` in a terminal.` });
      // Registered all the same, as by `authsome register`, but never silently: a typo is said by its path.
      const unknown = entry.warnings.map((warning) => warning.message);
      const message = `Registered ${entry.name}${entry.overrides_bundled ? ', overriding the bundled definition' : ''}.${unknown.length ? ` Warning: ${unknown.join('; ')}.` : ''}`;
      if (wantsJson(c)) return c.json({ ok: true, message, provider: entry.name, warnings: entry.warnings });
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
        body: renderRegister({ csrf: c.get('session').csrf, text, problems, hint: failed.code === 'conflict' ? failed.hint : null }),
      });
      return c.html(html, failed.httpStatus as 409);
    }
  }

  return handle;
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

// How the dashboard's routes answer: pages and notices for the browser, JSON for scripts and the
// page's own fetches, one shape of refusal and failure for both.
import type { Context } from 'hono';
import { toAuthsomeError } from '../../util/index.ts';
import type { Env } from '../browser-routes.ts';
import { renderResult } from '../pages/index.ts';
import type { UiSession } from './access.ts';

export type DashEnv = Env & { Variables: Env['Variables'] & { session: UiSession } };
export type Ctx = Context<DashEnv>;

export async function readBody(c: Ctx): Promise<Record<string, string>> {
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

export function isApi(c: Ctx): boolean {
  return c.req.path.startsWith('/ui/api/');
}

export function wantsJson(c: Ctx): boolean {
  return isApi(c) || (c.req.header('accept') ?? '').includes('application/json');
}

export function takeFlash(c: Ctx): UiSession['flash'] {
  const session = c.get('session');
  const flash = session.flash;
  session.flash = null;
  return flash;
}

/** An action's end: JSON for scripts, else back to the page it came from with a notice. */
export function done(c: Ctx, outcome: { ok: boolean; message: string }, extra: Record<string, unknown> = {}, status = 200): Response {
  if (wantsJson(c)) return c.json({ ...outcome, ...extra }, status as 200);
  c.get('session').flash = outcome;
  return c.redirect('/ui', 303);
}

export function refuse(c: Ctx, status: number, title: string, message: string): Response {
  if (wantsJson(c)) return c.json({ error: status === 401 ? 'unauthorized' : status === 404 ? 'not_found' : 'forbidden', message }, status as 403);
  return result(c, status, { ok: false, title, message });
}

export function result(c: Ctx, status: number, view: Omit<Parameters<typeof renderResult>[0], 'nonce'>): Response {
  return c.html(renderResult({ ...view, nonce: c.get('nonce') }), status as 200);
}

export async function page(c: Ctx, render: () => Promise<string>): Promise<Response> {
  try {
    return c.html(await render(), 200);
  } catch (error) {
    return failure(c, error);
  }
}

export function failure(c: Ctx, error: unknown): Response {
  const failed = toAuthsomeError(error);
  if (wantsJson(c)) return c.json(failed.toJSON(), failed.httpStatus as 500);
  return result(c, failed.httpStatus, { ok: false, title: 'The dashboard could not read the vault', message: failed.message, next: failed.hint ?? null });
}

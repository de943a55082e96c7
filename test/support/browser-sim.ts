// A browser without a browser: cookies, hand-followed redirects and form posts, enough for OAuth login pages.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const USER_AGENT = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36';

export interface Page {
  status: number;
  url: string;
  html: string;
}

export interface Form {
  id: string | undefined;
  action: string | undefined;
  method: string;
  fields: Record<string, string>;
}

/** A path-aware cookie jar; host-only and good enough for the test servers (all on 127.0.0.1). */
export class CookieJar {
  #cookies = new Map<string, { name: string; value: string; path: string }>();

  store(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', v = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = v || '/';
        if (key.toLowerCase() === 'expires' && new Date(v).getTime() <= Date.now()) expired = true;
        if (key.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const id = `${name}|${path}`;
      if (expired || value === '') this.#cookies.delete(id);
      else this.#cookies.set(id, { name, value, path });
    }
  }

  header(url: string): string {
    const path = new URL(url).pathname;
    return [...this.#cookies.values()]
      .filter((c) => c.path === '/' || path === c.path || path.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

const decode = (s: string) =>
  s.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

/** Forms of a page with their named inputs (regex parsing: the server pages are simple and known). */
export function parseForms(html: string): Form[] {
  const attr = (s: string, name: string) => {
    const match = new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(s);
    return match ? decode(match[1]!) : undefined;
  };
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => {
    const fields: Record<string, string> = {};
    for (const input of m[2]!.matchAll(/<input\b([^>]*)>/gi)) {
      const name = attr(input[1]!, 'name');
      if (name) fields[name] = attr(input[1]!, 'value') ?? '';
    }
    return { id: attr(m[1]!, 'id'), action: attr(m[1]!, 'action'), method: (attr(m[1]!, 'method') ?? 'get').toUpperCase(), fields };
  });
}

// What Fetch Metadata says about one hop: ports do not matter for the site, schemes and hosts do.
function fetchSite(from: string | undefined, to: string): string {
  if (!from) return 'none';
  const a = new URL(from);
  const b = new URL(to);
  if (a.origin === b.origin) return 'same-origin';
  return a.protocol === b.protocol && a.hostname === b.hostname ? 'same-site' : 'cross-site';
}

export interface BrowseOptions {
  method?: string;
  form?: Record<string, string>;
  /** The page the request comes from (a form's page); absent = typed into the address bar. */
  referrer?: string;
  /** Stop before requesting a URL for which this returns true; that URL is then the returned page's url (status 0). */
  stopBefore?: (url: string) => boolean;
}

/**
 * Where a local page (a file:// URL, as authsome's opener hands the browser) forwards to: its
 * `<meta http-equiv="refresh">` target, or null when it has none.
 */
export function fileRedirectTarget(url: string): string | null {
  const html = readFileSync(fileURLToPath(url), 'utf8');
  const match = /<meta\s+http-equiv="refresh"\s+content="\d+;\s*url=([^"]+)"/i.exec(html);
  return match ? decode(match[1]!) : null;
}

/** Navigates like a browser: follows redirects by hand so every hop carries the cookies and navigation headers. */
export async function browse(jar: CookieJar, url: string, options: BrowseOptions = {}): Promise<Page> {
  let { method = 'GET', form } = options;
  let previous = options.referrer;
  const hops: string[] = [];
  for (let i = 0; i < 25; i++) {
    if (options.stopBefore?.(url)) return { status: 0, url, html: '' };
    if (url.startsWith('file:')) {
      // A local file the opener gave the browser: a browser reads it and follows its refresh (no Referer from file:).
      hops.push(`FILE ${url}`);
      const target = fileRedirectTarget(url);
      if (!target) return { status: 200, url, html: readFileSync(fileURLToPath(url), 'utf8') };
      previous = undefined;
      url = target;
      continue;
    }
    hops.push(`${method} ${url}`);
    const headers: Record<string, string> = {
      'user-agent': USER_AGENT,
      accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'sec-fetch-dest': 'document',
      'sec-fetch-mode': 'navigate',
      'sec-fetch-site': fetchSite(previous, url),
      'sec-fetch-user': '?1',
      'upgrade-insecure-requests': '1',
    };
    const cookie = jar.header(url);
    if (cookie) headers.cookie = cookie;
    if (form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      if (previous) headers.origin = new URL(previous).origin;
    }
    const res = await fetch(url, { method, headers, body: form ? new URLSearchParams(form) : undefined, redirect: 'manual' });
    jar.store(res);
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      previous = url;
      url = new URL(location, url).href;
      // 307/308 keep the method and body; the others (what OAuth servers use) turn into a GET.
      if (res.status !== 307 && res.status !== 308) {
        method = 'GET';
        form = undefined;
      }
      continue;
    }
    return { status: res.status, url, html: await res.text() };
  }
  throw new Error(`too many redirects:\n${hops.join('\n')}`);
}

/** Submits a form of `page` (its own fields plus `extra`) and follows where it leads. */
export async function submitForm(jar: CookieJar, page: Page, form: Form, extra: Record<string, string> = {}): Promise<Page> {
  const action = new URL(form.action ?? page.url, page.url).href;
  return browse(jar, action, { method: form.method, form: { ...form.fields, ...extra }, referrer: page.url });
}

/** Submits pages that submit themselves with a script on load (oidc-provider's form_post and device code pages), as a browser would. */
export async function runAutoSubmit(jar: CookieJar, page: Page): Promise<Page> {
  for (let i = 0; i < 5 && /document\.forms\[0\]\.submit\(\)/.test(page.html); i++) {
    const [form] = parseForms(page.html);
    if (!form) break;
    page = await submitForm(jar, page, form);
  }
  return page;
}

// An authorization response (RFC 9207: oidc-provider always adds iss), i.e. the hop to the redirect_uri. Matching on
// the response rather than on an origin lets the starting URL be one of ours that redirects to the server.
const isAuthorizationResponse = (url: string) => {
  const params = new URL(url).searchParams;
  return params.has('iss') && params.has('state') && (params.has('code') || params.has('error'));
};

/**
 * Opens an authorization URL (as printed by the CLI) and follows it to the end: the test server's
 * auto-interactions finish login and consent by redirects alone, and the last hop really requests the
 * redirect_uri (our daemon's callback). Returns that final response.
 */
export async function followAuthorizationUrl(url: string): Promise<Page> {
  const jar = new CookieJar();
  return runAutoSubmit(jar, await browse(jar, url));
}

/**
 * Like followAuthorizationUrl, but stops before requesting the redirect_uri and returns that URL (code or error, state, iss).
 * Pass the jar to request the callback later as the same browser (with the login's cookie).
 */
export async function collectRedirectToCallback(url: string, jar = new CookieJar()): Promise<string> {
  const page = await browse(jar, url, { stopBefore: isAuthorizationResponse });
  if (page.status !== 0) throw new Error(`no redirect to the callback (ended ${page.status} at ${page.url}):\n${page.html.slice(0, 500)}`);
  return page.url;
}

/**
 * Approves (or, with deny, aborts) a device-flow user code through the server's own pages: the /device code form,
 * the "is this your device?" confirmation, then the interactions. Asserts it ends on the success (or abort) page.
 */
export async function approveUserCode(verificationUri: string, userCode: string, opts: { deny?: boolean } = {}): Promise<Page> {
  const jar = new CookieJar();
  let page = await runAutoSubmit(jar, await browse(jar, verificationUri));
  // verification_uri_complete (…/device?user_code=…) submits the code by itself (runAutoSubmit): no code form then.
  const input = parseForms(page.html).find((f) => f.id === 'op.deviceInputForm');
  if (input) page = await submitForm(jar, page, input, { user_code: userCode });
  const confirm = parseForms(page.html).find((f) => f.id === 'op.deviceConfirmForm');
  assert.ok(confirm, `device confirm form expected (got ${page.status}):\n${page.html.slice(0, 500)}`);
  // The confirmation page has two submit buttons for one form: Continue (no name) and [ Abort ] (abort=yes).
  page = await submitForm(jar, page, confirm, opts.deny ? { abort: 'yes' } : {});
  if (opts.deny) assert.match(page.html, /The Sign-in request was interrupted/, `abort page expected (got ${page.status})`);
  else assert.match(page.html, /Sign-in Success/, `success page expected (got ${page.status}; an "interrupted" page means the server is in deny mode):\n${page.html.slice(0, 500)}`);
  return page;
}

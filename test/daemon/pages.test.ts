// The daemon's pages as a browser under its strict CSP sees them: nonce'd style and script only,
// no inline attributes, every interpolated value escaped, secrets never echoed back.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  escapeHtml, renderDevicePage, renderInputForm, renderPage, renderResult,
  type DeviceView, type InputFormView,
} from '../../src/daemon/pages/index.ts';
import { qrSvg } from '../../src/util/qr.ts';

const NONCE = 'r4nd0mN0nce+/=';
const EXPIRES = new Date('2030-01-02T03:04:00Z');
/** A distinct hostile value per field, so each one can be found (escaped) on its own. */
const hostile = (field: string): string => `${field}<script>alert(1)</script>"'&`;

function formView(overrides: Partial<InputFormView> = {}): InputFormView {
  return {
    title: 'Connect OpenAI',
    intro: 'Paste an API key from your OpenAI dashboard.',
    action: 'submit',
    csrf: 'csrf-token',
    nonce: NONCE,
    expiresAt: EXPIRES,
    fields: [{ name: 'api_key', label: 'API key', secret: true, required: true, pattern: '^sk-[A-Za-z0-9_-]+$' }],
    ...overrides,
  };
}

function deviceView(overrides: Partial<DeviceView> = {}): DeviceView {
  return {
    title: 'Connect GitHub',
    userCode: 'WDJB-MJHT',
    verificationUri: 'https://github.com/login/device',
    qrSvg: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 29 29"></svg>',
    expiresAt: EXPIRES,
    nonce: NONCE,
    ...overrides,
  };
}

/** Tags named `tag` in `html`, as their opening-tag text. */
function tags(html: string, tag: string): string[] {
  return [...html.matchAll(new RegExp(`<${tag}\\b[^>]*>`, 'gi'))].map((match) => match[0]);
}

/** The unescaped value of `attribute` in an opening tag. */
function attribute(tag: string, name: string): string | null {
  const match = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  if (!match) return null;
  const entities: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
  return match[1]!.replace(/&(?:amp|lt|gt|quot|#39);/g, (entity) => entities[entity]!);
}

function assertSafeDocument(html: string, nonce = NONCE): void {
  assert.match(html, /^<!doctype html>\n<html lang="en">/);
  assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/);
  assert.doesNotMatch(html, /\sstyle\s*=/i, 'no style= attribute');
  assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'no on…= handler');
  assert.doesNotMatch(html, /javascript:/i, 'no javascript: URL');
  assert.doesNotMatch(html, /(?:src|href)="(?!https?:|#)/i, 'no relative or data: references');
  const styled = [...tags(html, 'style'), ...tags(html, 'script')];
  assert.equal(styled.length, 2, 'one stylesheet, one script');
  for (const tag of styled) assert.equal(attribute(tag, 'nonce'), nonce, tag);
}

function assertLabelled(html: string): void {
  const ids = new Set([...html.matchAll(/\sid="([^"]+)"/g)].map((match) => match[1]));
  for (const input of tags(html, 'input').filter((tag) => !tag.includes('type="hidden"'))) {
    const id = attribute(input, 'id');
    assert.ok(id && html.includes(`<label for="${id}">`), `label for ${input}`);
    for (const ref of attribute(input, 'aria-describedby')?.split(' ') ?? []) assert.ok(ids.has(ref), `#${ref} exists`);
  }
}

describe('every page', () => {
  const pages = {
    form: renderInputForm(formView({ redirectUri: 'http://127.0.0.1:7998/callback', docsUrl: 'https://platform.openai.com/api-keys' })),
    device: renderDevicePage(deviceView()),
    approved: renderDevicePage(deviceView({ status: 'approved' })),
    result: renderResult({ ok: false, title: 'Login failed', message: 'm', detail: 'Error: x', next: 'n', nonce: NONCE }),
  };
  for (const [name, html] of Object.entries(pages)) {
    test(`${name}: a CSP-clean, labelled HTML5 document`, () => {
      assertSafeDocument(html);
      assertLabelled(html);
      assert.match(html, /@media \(prefers-color-scheme:dark\)/);
      assert.match(html, /:focus-visible\{outline/);
      assert.match(html, /<p id="copy-status" class="visually-hidden" role="status" aria-live="polite"><\/p>/);
    });
  }

  test('renderPage: escaped title and nonce, optional refresh', () => {
    const html = renderPage({ title: 'a<b', nonce: 'n"x', body: '<p>hi</p>', refreshSeconds: 4.6 });
    assert.match(html, /<title>a&lt;b · authsome<\/title>/);
    assert.match(html, /<meta http-equiv="refresh" content="5">/);
    assert.equal(tags(html, 'script')[0], '<script nonce="n&quot;x">');
    assert.doesNotMatch(renderPage({ title: 't', nonce: 'n', body: '' }), /http-equiv/);
  });

  test('escapeHtml covers & < > " \'', () => {
    assert.equal(escapeHtml(`&<>"'`), '&amp;&lt;&gt;&quot;&#39;');
  });
});

describe('hostile values appear only escaped', () => {
  const assertEscaped = (html: string, fields: string[]): void => {
    assert.equal(tags(html, 'script').length, 1, 'no injected script');
    assert.doesNotMatch(html, /alert\(1\)<|"'&/, 'no raw hostile text');
    for (const field of fields) assert.ok(html.includes(escapeHtml(hostile(field))), `${field} shown escaped`);
  };

  test('input form', () => {
    const html = renderInputForm(formView({
      title: hostile('title'), intro: hostile('intro'), action: hostile('action'), csrf: hostile('csrf'), nonce: hostile('nonce'),
      error: hostile('error'), redirectUri: hostile('redirect'), docsUrl: `https://docs.example/${hostile('docs')}`,
      fields: [
        { name: hostile('name'), label: hostile('label'), secret: false, required: false, hint: hostile('hint'), value: hostile('value'), autocomplete: hostile('ac'), pattern: hostile('pattern') },
        { name: 'key', label: 'Key', secret: true, required: true, value: hostile('secret') },
      ],
      fieldErrors: { [hostile('name')]: hostile('field-error') },
    }));
    assertSafeDocument(html, hostile('nonce'));
    assertEscaped(html, ['title', 'intro', 'action', 'csrf', 'nonce', 'error', 'redirect', 'name', 'label', 'hint', 'value', 'ac', 'field-error']);
    assert.ok(!html.includes('secret<'), 'the secret value is not rendered at all');
    assert.ok(!html.includes('pattern='), 'a hostile pattern is dropped');
    assert.match(html, /<a href="https:\/\/docs\.example\/docs%3Cscript%3Ealert\(1\)%3C\/script%3E%22&#39;&amp;"/);
  });

  test('device page, pending and failed', async () => {
    const svg = await qrSvg(hostile('qr'));
    const view = deviceView({
      title: hostile('title'), userCode: hostile('code'), verificationUri: hostile('uri'),
      verificationUriComplete: hostile('complete'), message: hostile('message'), nonce: hostile('nonce'), qrSvg: svg,
    });
    const pending = renderDevicePage(view);
    assertSafeDocument(pending, hostile('nonce'));
    assertEscaped(pending, ['title', 'code', 'uri', 'message', 'nonce']);
    assert.ok(!pending.includes('<a href'), 'not a web URL, so not a link');
    assert.ok(pending.includes(`aria-label="QR code for ${escapeHtml(hostile('qr')).replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => `&#${{ amp: 38, lt: 60, gt: 62, quot: 34, '#39': 39 }[e]};`)}"`));
    const failed = renderDevicePage({ ...view, status: 'failed' });
    assertEscaped(failed, ['title', 'message']);
  });

  test('result page', () => {
    const html = renderResult({ ok: false, title: hostile('title'), message: hostile('message'), next: hostile('next'), detail: hostile('detail'), nonce: hostile('nonce') });
    assertSafeDocument(html, hostile('nonce'));
    assertEscaped(html, ['title', 'message', 'next', 'detail', 'nonce']);
  });
});

describe('renderInputForm', () => {
  test('a secret field never renders a value attribute', () => {
    const html = renderInputForm(formView({ fields: [{ name: 'api_key', label: 'API key', secret: true, required: true, value: 'sk-canary-123', autocomplete: 'username' }] }));
    const input = tags(html, 'input').find((tag) => tag.includes('name="api_key"'))!;
    assert.equal(attribute(input, 'type'), 'password');
    assert.equal(attribute(input, 'autocomplete'), 'off');
    assert.equal(attribute(input, 'spellcheck'), 'false');
    assert.equal(attribute(input, 'value'), null);
    assert.ok(!html.includes('sk-canary-123'));
  });

  test('a non-secret field is prefilled and keeps its autocomplete token', () => {
    const html = renderInputForm(formView({ fields: [{ name: 'client_id', label: 'Client ID', secret: false, required: true, value: 'abc', autocomplete: 'username' }] }));
    const input = tags(html, 'input').find((tag) => tag.includes('name="client_id"'))!;
    assert.equal(attribute(input, 'type'), 'text');
    assert.equal(attribute(input, 'value'), 'abc');
    assert.equal(attribute(input, 'autocomplete'), 'username');
  });

  test('patterns: kept when browsers (v flag) can never refuse what authsome accepts, else dropped', () => {
    const patternOf = (pattern: string): string | null => {
      const html = renderInputForm(formView({ fields: [{ name: 'k', label: 'K', secret: true, required: true, pattern }] }));
      return attribute(tags(html, 'input').find((tag) => tag.includes('name="k"'))!, 'pattern');
    };
    assert.equal(patternOf('^[0-9]{4}$'), '\\s*(?:[0-9]{4})\\s*');
    // Invalid under v as written (a bare `-` in a class); the same class with the dash escaped.
    assert.equal(patternOf('^sk-[A-Za-z0-9_-]+$'), '\\s*(?:sk-[A-Za-z0-9_\\-]+)\\s*');
    assert.equal(patternOf('^[^-a-z]$'), '\\s*(?:[^\\-a-z])\\s*');
    assert.equal(patternOf('^[a-z!!]+$'), null, 'valid in u mode, reserved `!!` under v');
    assert.equal(patternOf('^[(]+$'), null, 'valid in u mode, unescaped ( in a class under v');
    assert.equal(patternOf('^[a-z'), null, 'not a regexp');
    assert.equal(patternOf('^sk\\-x$'), null, 'not valid in u mode');
    assert.equal(patternOf('sk-'), null, 'unanchored: the broker searches, the browser matches the whole value');
    assert.equal(patternOf('^a|b$'), null, 'anchored only per alternative');
    for (const pattern of ['^[0-9]{4}$', '^sk-[A-Za-z0-9_-]+$']) {
      const html = patternOf(pattern)!;
      const browser = new RegExp(`^(?:${html})$`, 'v');
      assert.ok(browser.test(' 1234 ') || browser.test('sk-ab_c-d '), 'a pasted value with spaces passes, as the broker trims');
    }
  });

  test('field errors: aria-invalid, described, focused first; the general error is an alert', () => {
    const html = renderInputForm(formView({
      error: 'Check the values below.',
      fields: [
        { name: 'client_id', label: 'Client ID', secret: false, required: true, hint: 'From the app page' },
        { name: 'constructor', label: 'Other', secret: false, required: false },
        { name: 'client_secret', label: 'Client secret', secret: true, required: true },
      ],
      fieldErrors: { client_secret: 'That secret is too short' },
    }));
    const [first, other, secret] = tags(html, 'input').filter((tag) => !tag.includes('hidden'));
    assert.equal(attribute(first!, 'aria-describedby'), 'field-0-hint');
    assert.equal(attribute(first!, 'aria-invalid'), null);
    assert.equal(attribute(other!, 'aria-invalid'), null, 'no error from Object.prototype');
    assert.match(other!, /^(?!.*required)/);
    assert.match(html, /<label for="field-1">Other <span class="optional">\(optional\)<\/span><\/label>/);
    assert.equal(attribute(secret!, 'aria-invalid'), 'true');
    assert.equal(attribute(secret!, 'aria-describedby'), 'field-2-error');
    assert.match(secret!, / required /);
    assert.match(secret!, / autofocus>$/);
    assert.match(html, /<p id="field-2-error" class="field-error">That secret is too short<\/p>/);
    assert.match(html, /<div class="alert" role="alert">Check the values below\.<\/div>/);
    assert.match(html, /<input type="hidden" name="csrf" value="csrf-token">/);
    assert.match(html, /<form method="post" action="submit">[\s\S]*<button type="submit" class="primary">Save<\/button>\n<\/form>/);
  });

  test('the copy button carries the exact redirect URI', () => {
    const redirectUri = 'http://127.0.0.1:7998/callback/oauth?provider=a&x="y"';
    const html = renderInputForm(formView({ redirectUri }));
    assert.match(html, /<h2 id="redirect-heading">Register this redirect URI at the provider<\/h2>/);
    const button = tags(html, 'button').find((tag) => tag.includes('data-copy='))!;
    assert.equal(attribute(button, 'data-copy'), redirectUri);
    assert.equal(attribute(button, 'data-copy-target'), 'redirect-uri');
    assert.equal(attribute(button, 'type'), 'button', 'does not submit the form');
    assert.ok(html.includes(`<code id="redirect-uri" class="code-block">${escapeHtml(redirectUri)}</code>`));
    assert.ok(!renderInputForm(formView()).includes('redirect-heading'));
  });

  test('docs link only for https, opened safely; expiry and where the value goes', () => {
    const html = renderInputForm(formView({ docsUrl: 'https://platform.openai.com/api-keys' }));
    assert.match(html, /<a href="https:\/\/platform\.openai\.com\/api-keys" target="_blank" rel="noopener noreferrer">/);
    for (const docsUrl of ['http://example.com/', 'javascript:alert(1)', 'data:text/html,x', '/relative']) {
      assert.ok(!renderInputForm(formView({ docsUrl })).includes('<a '), docsUrl);
    }
    assert.match(html, /This link expires at <time datetime="2030-01-02T03:04:00\.000Z">[^<]+<\/time>\. What you enter is sent only to authsome on this computer\./);
  });

  test('the form only posts back to the daemon', () => {
    for (const action of ['https://evil.example/x', '//evil.example/x', 'javascript:alert(1)', '\\\\evil']) {
      assert.throws(() => renderInputForm(formView({ action })), TypeError, action);
    }
    assert.match(renderInputForm(formView({ action: '/input/abc' })), /action="\/input\/abc"/);
  });

  test('a way back when the dashboard opened it, and only to a path on the daemon', () => {
    assert.doesNotMatch(renderInputForm(formView()), /Cancel and go back/, 'a form a terminal opened has its terminal to go back to');
    assert.match(renderInputForm(formView({ back: { href: '/ui', label: 'Cancel and go back to your connections' } })), /<a href="\/ui">Cancel and go back to your connections<\/a>/);
    for (const href of ['https://evil.example/', '//evil.example/', 'javascript:alert(1)', '/\\evil.example']) {
      assert.doesNotMatch(renderInputForm(formView({ back: { href, label: 'Back' } })), />Back<\/a>/, href);
    }
  });
});

describe('renderDevicePage', () => {
  test('pending: code, copy button, link, QR code, expiry, refresh', async () => {
    const svg = await qrSvg('https://github.com/login/device?user_code=WDJB-MJHT');
    const html = renderDevicePage(deviceView({ qrSvg: svg, verificationUriComplete: 'https://github.com/login/device?user_code=WDJB-MJHT' }));
    assert.match(html, /<p id="user-code" class="user-code mono"[^>]*>WDJB-MJHT<\/p>/);
    assert.equal(attribute(tags(html, 'button')[0]!, 'data-copy'), 'WDJB-MJHT');
    assert.match(html, /<a href="https:\/\/github\.com\/login\/device\?user_code=WDJB-MJHT" target="_blank" rel="noopener noreferrer">https:\/\/github\.com\/login\/device /);
    assert.ok(html.includes(`<figure class="qr">${svg}<figcaption>`));
    assert.match(html, /The code expires at <time datetime="2030-01-02T03:04:00\.000Z">/);
    assert.match(html, /role="status">This page updates itself\.<\/p>/);
    assert.match(html, /<meta http-equiv="refresh" content="5">/);
    assert.match(renderDevicePage(deviceView({ refreshSeconds: 3 })), /<meta http-equiv="refresh" content="3">/);
  });

  test('links only to http(s)', () => {
    const plain = renderDevicePage(deviceView({ verificationUriComplete: 'javascript:alert(1)' }));
    assert.match(plain, /Enter it at <a href="https:\/\/github\.com\/login\/device"/);
    const none = renderDevicePage(deviceView({ verificationUri: 'javascript:alert(1)' }));
    assert.ok(!none.includes('<a '));
    assert.match(none, /Enter it at <code>/);
  });

  test('approved and failed show the outcome instead of the code, and stop refreshing', () => {
    const approved = renderDevicePage(deviceView({ status: 'approved' }));
    assert.ok(!approved.includes('WDJB-MJHT') && !approved.includes('<svg') && !approved.includes('http-equiv'));
    assert.match(approved, /Approved<\/p>\n<p>You can close this tab; authsome is finishing in your terminal\.<\/p>/);
    const failed = renderDevicePage(deviceView({ status: 'failed', message: 'The code expired. Run: authsome login github' }));
    assert.ok(!failed.includes('WDJB-MJHT') && !failed.includes('http-equiv'));
    assert.match(failed, /role="alert">.*Not approved<\/p>\n<p>The code expired\. Run: authsome login github<\/p>/);
  });
});

describe('renderResult', () => {
  test('success says what happens next', () => {
    const html = renderResult({ ok: true, title: 'Connected to GitHub', message: 'authsome has your token.', next: 'You can close this tab; authsome is finishing in your terminal.', nonce: NONCE });
    assert.match(html, /<h1><span class="ok" aria-hidden="true">✓<\/span> Connected to GitHub<\/h1>/);
    assert.match(html, /<p>You can close this tab; authsome is finishing in your terminal\.<\/p>/);
    assert.ok(!html.includes('<pre'));
  });

  test('failure shows the detail in a code block', () => {
    const html = renderResult({ ok: false, title: 'Login failed', message: 'The provider sent back an unexpected answer.', detail: 'Error: OAuth state parameter does not match', nonce: NONCE });
    assert.match(html, /<h1><span class="bad" aria-hidden="true">✕<\/span> Login failed<\/h1>/);
    assert.match(html, /<pre class="code-block"><code>Error: OAuth state parameter does not match<\/code><\/pre>/);
  });
});

// Renders the dashboard's main views into docs/dashboard-*.png (run after `npm run build`:
// `node --import tsx scripts/screenshots.ts`). A throwaway home with real connections: an OAuth
// login at the test authorization server (one refreshed, one expired), two API keys, a run
// through the proxy; then headless Chromium opens `authsome ui`'s link and takes the pictures.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startAuthServer } from '../test/support/auth-server.ts';
import { launchChromium } from '../test/support/chromium.ts';
import { runCli, runCliJson } from '../test/support/cli.ts';
import { makeDue } from '../test/support/make-due.ts';
import { oauthHome, testProvider } from '../test/support/oauth-home.ts';

const DOCS = fileURLToPath(new URL('../docs/', import.meta.url));
mkdirSync(DOCS, { recursive: true });

async function cli(args: string[], env: Record<string, string>, input?: string): Promise<void> {
  const result = await runCli(args, { env, input });
  if (result.code !== 0) throw new Error(`authsome ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
}

const as = await startAuthServer();
const home = await oauthHome({ AUTHSOME_DAEMON_REFRESH_INTERVAL: '600' });
const browser = await launchChromium();
try {
  await home.register(testProvider(as));
  await cli(['login', 'testas'], home.env);
  await cli(['login', 'testas', '--connection', 'work'], home.env);
  await makeDue(home.home, 'testas');
  await cli(['refresh', 'testas'], home.env);
  await makeDue(home.home, 'testas', 'work');
  await cli(['login', 'openai', '--api-key-stdin'], home.env, 'sk-screenshot-not-a-real-key-0000000000');
  await cli(['login', 'anthropic', '--api-key-stdin'], home.env, 'sk-ant-screenshot-not-a-real-key-0000000000');
  const child = "const get = (n) => require('http').get('http://api.example.invalid/v1', (r) => { r.resume(); r.on('end', () => (n > 1 ? get(n - 1) : process.exit(0))); }).on('error', () => process.exit(0)); get(3);";
  await cli(['run', '--', process.execPath, '-e', child], home.env);
  // A second profile, so the page shows its switcher.
  await cli(['profile', 'create', 'work'], home.env);
  await cli(['login', 'openai', '--api-key-stdin', '--profile', 'work'], home.env, 'sk-screenshot-work-not-a-real-key-000000000');

  const { json } = await runCliJson<{ url: string }>(['ui', '--no-browser'], { env: home.env });
  const origin = new URL(json.url).origin;
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, colorScheme: 'light' });
  const page = await context.newPage();
  await page.goto(json.url);
  // Your connections, one with its usage lines open, and the top of the catalogue (80-odd
  // providers) below them: the picture stops a few rows into it.
  await page.goto(`${origin}/ui`);
  await page.locator('tr[data-usage-for="openai/default"] summary').click();
  const cut = await page.locator('#catalogue tbody tr').nth(3).boundingBox();
  if (!cut) throw new Error('the catalogue is not on the page');
  await page.screenshot({ path: `${DOCS}dashboard-connections.png`, clip: { x: 0, y: 0, width: 1200, height: Math.ceil(cut.y + cut.height) }, fullPage: true });

  await page.goto(`${origin}/ui/log`);
  await page.screenshot({ path: `${DOCS}dashboard-log.png`, fullPage: true });

  await page.goto(`${origin}/ui/register`);
  await page.getByLabel('Provider definition (JSON)').fill(JSON.stringify({ name: 'My API', auth_type: 'oauth2', flow: 'api_key' }, null, 2));
  await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Register' }).click()]);
  await page.screenshot({ path: `${DOCS}dashboard-register.png`, fullPage: true });

  const narrow = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, colorScheme: 'dark' });
  const phone = await narrow.newPage();
  const second = await runCliJson<{ url: string }>(['ui', '--no-browser'], { env: home.env });
  await phone.goto(second.json.url);
  await phone.goto(`${origin}/ui?q=test`);
  await phone.screenshot({ path: `${DOCS}dashboard-narrow.png`, fullPage: true });
  console.log(`wrote ${DOCS}dashboard-{connections,log,register,narrow}.png`);
} finally {
  await browser.close();
  await home.cleanup();
  await as.close();
}

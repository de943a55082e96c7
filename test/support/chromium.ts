// Launches the system Chromium (Debian package) through playwright-core; tests fail, never skip, when it is missing.
import { existsSync } from 'node:fs';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

// Headless in a container as root: no sandbox, no GPU; and no background traffic (updates, sync, QUIC probes)
// that could reach past the test servers.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    // playwright's own browser download (`npx playwright install`) cannot work here: use the distribution's build.
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: install it with \`apt-get update && apt-get install -y --no-install-recommends chromium\` (as .ci/run does)`);
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ARGS });
}

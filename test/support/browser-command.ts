// A stand-in for $BROWSER in tests: `authsome login` runs it with the file:// address of the local
// page that forwards to the login's start link, and it follows that the way a person's browser
// would (the page's refresh, the start link's cookie, the provider), ending on our callback page. It
// writes the final page's status and text to $AUTHSOME_TEST_BROWSER_LOG when that is set.
import { appendFileSync } from 'node:fs';
import { followAuthorizationUrl } from './browser-sim.ts';

const url = process.argv[2];
if (!url) throw new Error('usage: browser-command.ts <url>');
const page = await followAuthorizationUrl(url);
const log = process.env.AUTHSOME_TEST_BROWSER_LOG;
if (log) appendFileSync(log, JSON.stringify({ status: page.status, url: page.url, text: page.html.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim() }) + '\n');

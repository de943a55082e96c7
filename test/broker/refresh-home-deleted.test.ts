// A home deleted while a refresh is in flight (issue 13, item 7): SQLite goes on writing the
// rotated tokens into a store file nobody can open again, so the caller must be told they could
// not be stored — a non-zero exit, never exit 0 with a token that exists nowhere. With the key in
// the environment nothing else on disk is read before that write, so the store's own check is
// what catches it.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { startAuthServer, type AuthServer } from '../support/auth-server.ts';
import { runCli, startCli } from '../support/cli.ts';
import { makeDue } from '../support/make-due.ts';
import { oauthHome, testProvider, type OAuthHome } from '../support/oauth-home.ts';
import { startTokenGate, type TokenGate } from '../support/token-gate.ts';

let as: AuthServer;
let gate: TokenGate;
const homes: OAuthHome[] = [];

before(async () => {
  as = await startAuthServer({ accessTokenTtl: 3600 });
  gate = await startTokenGate(`${as.issuer}/token`);
});
after(async () => {
  for (const h of homes) await h.cleanup();
  await gate?.close();
  await as?.close();
});

const KEY_SOURCES = [
  { name: 'the key in master.key', env: {} },
  { name: 'the key in AUTHSOME_MASTER_KEY', env: { AUTHSOME_MASTER_KEY: randomBytes(32).toString('base64') } },
];

describe('a home deleted while a refresh is in flight', () => {
  for (const source of KEY_SOURCES) {
    it(`${source.name}: exits non-zero saying the renewed tokens could not be stored, and prints no token`, async () => {
      const h = await oauthHome(source.env);
      homes.push(h);
      await h.register(testProvider(as, { oauth: { token_url: gate.url } }));
      gate.mode('pass');
      const login = await runCli(['login', 'testas'], { env: h.env });
      assert.equal(login.code, 0, login.stderr);
      await makeDue(h.home, 'testas', 'default', 'default', -1000, { masterKey: h.env.AUTHSOME_MASTER_KEY }); // expired: no still-valid token to fall back on

      const forwarded = gate.forwarded();
      gate.mode('hold-request');
      const getting = startCli(['get', 'testas', '--field', 'access_token', '--show-secret'], { env: h.env });
      await gate.nextHeld(); // the lease is taken and the token request is in flight
      rmSync(h.home, { recursive: true, force: true });
      gate.mode('pass');
      gate.release();
      const result = await getting.done;
      assert.notEqual(result.code, 0, `exit 0 with stdout ${JSON.stringify(result.stdout)}`);
      assert.equal(result.stdout, '', 'no token was printed');
      assert.match(result.stderr, /^Error: refresh failed for testas \(default\): the renewed tokens could not be stored/m);
      assert.match(result.stderr, /authsome login testas/);
      assert.equal(gate.forwarded(), forwarded + 1, 'the provider did rotate the pair');
    });
  }
});

/** The standard authorization-code flow end to end, over every dialect. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import {
  Agent,
  basic,
  ISSUER,
  REDIRECT_URI,
  VERIFIER,
  runBrowserFlow,
  testApp,
  tokenRequest,
} from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

for (const dialect of await dialects()) {
  describe(`authorization code flow (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let app: FastifyInstance;
    let clientId: string;
    let secret: string;

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
      await makeUser(store);
      ({ client: { id: clientId }, secret } = await makeClient(store));
      app = await testApp(store);
    });
    after(async () => {
      await app?.close();
      await database?.drop();
    });

    async function code(options: Partial<Parameters<typeof runBrowserFlow>[1]> = {}) {
      const redirect = await runBrowserFlow(new Agent(app), { clientId, ...options });
      const value = redirect.searchParams.get('code');
      assert.ok(value, `no code in ${redirect}`);
      return { code: value, redirect };
    }

    test('a user signs in, consents, and the client exchanges the code, refreshes and calls the API', async () => {
      const { code: issued, redirect } = await code({ state: 'st8' });
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
      assert.equal(redirect.searchParams.get('state'), 'st8');
      assert.equal(redirect.searchParams.get('iss'), ISSUER);

      const token = await tokenRequest(
        app,
        { grant_type: 'authorization_code', code: issued, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(clientId, secret) },
      );
      assert.equal(token.statusCode, 200, token.body);
      assert.equal(token.headers['cache-control'], 'no-store');
      assert.equal(token.headers.pragma, 'no-cache');
      const body = token.json();
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      assert.equal(body.scope, 'profile read');
      assert.match(body.access_token, /^lk_at_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
      assert.match(body.refresh_token, /^lk_rt_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);

      const me = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${body.access_token}` } });
      assert.equal(me.statusCode, 200, me.body);
      assert.equal(me.json().user.email, 'ada@example.com');
      assert.equal(me.json().account.name, 'Ada Co');
      assert.equal(me.json().client_id, clientId);

      const refreshed = await tokenRequest(app, {
        grant_type: 'refresh_token',
        refresh_token: body.refresh_token,
        client_id: clientId,
        client_secret: secret,
      });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.notEqual(refreshed.json().refresh_token, body.refresh_token);
      assert.notEqual(refreshed.json().access_token, body.access_token);
    });
  });
}

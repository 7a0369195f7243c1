/**
 * The 401go preset replays seeds/003_ecefa0fffa91ca7d.txt ("Authentication")
 * request by request, over every dialect.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Client } from '../../src/core/model.js';
import { Agent, runBrowserFlow } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

const REDIRECT = 'https://your-domain.example/redirect_url/';

for (const dialect of await dialects()) {
  describe(`401go preset (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { preset: '401go' });
    let client: Client;
    let secret: string;

    before(async () => {
      ({ client, secret } = await makeClient(server.store, {
        name: 'Retirement Planner', redirectUris: [REDIRECT], scopes: ['participant:read', 'participant:write', 'company:read'],
      }));
      await makeUser(server.store, 'pat@example.com', [
        { name: 'Pat (participant)', kind: 'participant' },
        { name: 'Pat Co', kind: 'company' },
        { name: 'Pat Advisory', kind: 'advisor' },
      ]);
    });

    /** GET https://app.401go.com/api/o/authorize/?response_type=code&client_id=...&redirect_uri=...&scope=...&state=... */
    async function code(accountName = 'Pat (participant)') {
      const redirect = await runBrowserFlow(new Agent(server.app), {
        clientId: client.id, authorizePath: '/api/o/authorize/', redirectUri: REDIRECT, scope: 'participant:read participant:write',
        state: 'YOUR_STATE', pkce: false, email: 'pat@example.com', accountName,
      });
      // "https://YOUR_DOMAIN/redirect_url/?code={auth_code}&state=YOUR_STATE"
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT);
      assert.equal(redirect.searchParams.get('state'), 'YOUR_STATE');
      return redirect.searchParams.get('code') as string;
    }

    const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
      server.app.inject({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: new URLSearchParams(fields).toString() });

    const exchange = (issued: string) =>
      post('/api/o/token/', { grant_type: 'authorization_code', code: issued, redirect_uri: REDIRECT, client_id: client.id, client_secret: secret });

    test('the documented flow: choose an account, exchange the code, call the API, confirm the connection, refresh', async () => {
      const tokens = await exchange(await code('Pat Co'));
      assert.equal(tokens.statusCode, 200, tokens.body);
      const body = tokens.json();
      // "Access tokens are valid for 60 minutes."
      assert.equal(body.expires_in, 3600);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.scope, 'participant:read participant:write');

      // curl -X GET "https://app.401go.com/api/example-endpoint" -H "Authorization: Bearer ACCESS_TOKEN" -H "Content-Type: application/json"
      const example = await server.app.inject({
        method: 'GET', url: '/api/example-endpoint', headers: { authorization: `Bearer ${body.access_token}`, 'content-type': 'application/json' },
      });
      assert.equal(example.statusCode, 200, example.body);
      assert.equal(example.json().account.name, 'Pat Co');

      // "Make a POST request to the connection success endpoint with your client_id in the request body (form data, not JSON)."
      const confirmed = await post('/api/o/connection-success/', { client_id: client.id }, { authorization: `Bearer ${body.access_token}` });
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      const user = await server.store.findUserByEmail('pat@example.com');
      const grant = (await server.store.listGrantsOfUser(user?.id as string)).find((row) => row.clientId === client.id);
      assert.ok(grant?.confirmedAt, 'the connection is marked confirmed');

      // grant_type=refresh_token, refresh_token, client_id, client_secret
      const refreshed = await post('/api/o/token/', { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: client.id, client_secret: secret });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.notEqual(refreshed.json().access_token, body.access_token);
      const reused = await post('/api/o/token/', { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: client.id, client_secret: secret });
      assert.equal(reused.json().error, 'invalid_grant');
    });

    test('the per-kind scopes are registered at start', async () => {
      const names = (await server.store.listScopes()).map((scope) => scope.name);
      for (const kind of ['participant', 'company', 'advisor']) {
        assert.ok(names.includes(`${kind}:read`) && names.includes(`${kind}:write`), kind);
      }
    });

    test('refresh tokens are valid for 30 days', async () => {
      const body = (await exchange(await code())).json();
      server.clock.advance(31 * 24 * 3600 * 1000);
      try {
        const expired = await post('/api/o/token/', { grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: client.id, client_secret: secret });
        assert.equal(expired.json().error, 'invalid_grant');
      } finally {
        server.clock.advance(-31 * 24 * 3600 * 1000);
      }
    });

    test('connection success: form data only, the bearer token must belong to the client named', async () => {
      const body = (await exchange(await code())).json();
      const json = await server.app.inject({
        method: 'POST', url: '/api/o/connection-success/',
        headers: { authorization: `Bearer ${body.access_token}`, 'content-type': 'application/json' },
        payload: JSON.stringify({ client_id: client.id }),
      });
      assert.equal(json.statusCode, 415);
      const other = await post('/api/o/connection-success/', { client_id: 'lkc_someoneelse' }, { authorization: `Bearer ${body.access_token}` });
      assert.equal(other.statusCode, 400);
      const missing = await post('/api/o/connection-success/', {}, { authorization: `Bearer ${body.access_token}` });
      assert.equal(missing.statusCode, 400);
      const noToken = await post('/api/o/connection-success/', { client_id: client.id });
      assert.equal(noToken.statusCode, 401);
    });

    test('the negative cases the document implies', async () => {
      const issued = await code();
      const noSlash = await post('/api/o/token', { grant_type: 'authorization_code', code: issued, redirect_uri: REDIRECT, client_id: client.id, client_secret: secret });
      assert.equal(noSlash.statusCode, 404);
      const get = await server.app.inject({ method: 'GET', url: '/api/o/token/' });
      assert.equal(get.statusCode, 405);
      const mismatch = await post('/api/o/token/', { grant_type: 'authorization_code', code: issued, redirect_uri: `${REDIRECT}x`, client_id: client.id, client_secret: secret });
      assert.equal(mismatch.json().error, 'invalid_grant');
      assert.equal((await exchange(issued)).statusCode, 200);
      assert.equal((await exchange(issued)).json().error, 'invalid_grant');
    });
  });
}

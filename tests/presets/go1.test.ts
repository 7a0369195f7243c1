/**
 * The go1 preset replays seeds/000_d36d39ffaba9d75f.txt ("OAuth Connect flow")
 * request by request, over every dialect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Partner } from '../../src/core/model.js';
import { Agent, REDIRECT_URI, location, multipart, runBrowserFlow } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { useServer } from '../support/server.js';

for (const dialect of await dialects()) {
  describe(`go1 preset (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { preset: 'go1' });
    let partner: Partner;

    async function connect(state = 'STATE_STRING') {
      partner ??= await server.store.createPartner({ name: 'Acme LMS', partnerPortalId: '1234567' }, Date.now());
      // Step 1: "https://auth.go1.com/oauth/authorize?client_id=<CLIENT_ID>&response_type=code&redirect_uri=<REDIRECT_URL>
      //          &scope=<SCOPES>&partner_portal_id=<PARTNER_PORTAL_ID>&state=<STATE_STRING>"
      const redirect = await runBrowserFlow(new Agent(server.app), {
        clientId: server.client.id,
        scope: 'read write',
        state,
        pkce: false,
        extra: { partner_portal_id: partner.partnerPortalId },
      });
      // Step 3: "<REDIRECT_URL>/?code=<AUTHORIZATION_CODE>"
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
      assert.equal(redirect.searchParams.get('state'), state);
      return redirect.searchParams.get('code') as string;
    }

    /** "curl --location --request POST 'https://auth.go1.com/oauth/token' --form ..." */
    function form(fields: Record<string, string>) {
      const { payload, headers } = multipart(fields);
      return server.app.inject({ method: 'POST', url: '/oauth/token', headers, payload });
    }

    function assertDocumentedResponse(response: Awaited<ReturnType<typeof form>>) {
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      // { "token_type": "Bearer", "expires_in": 43200, "access_token": "...", "refresh_token": "..." }
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 43200);
      return body as { access_token: string; refresh_token: string };
    }

    test('the documented flow: authorize with partner_portal_id, multipart code exchange, multipart refresh', async () => {
      const code = await connect();
      // Step 4: the code exchange, exactly as the curl example sends it.
      const tokens = assertDocumentedResponse(
        await form({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }),
      );
      // "This token is valid for up to 12 hours" — the API accepts it.
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(me.statusCode, 200);
      // The connected portal is linked to the partner "for reporting and billing purposes".
      const account = await server.store.findAccount(me.json().account.id);
      assert.equal(account?.partnerId, partner.id);
      const grant = (await server.store.listGrantsOfUser(me.json().user.id)).find((row) => row.clientId === server.client.id);
      assert.equal(grant?.partnerId, partner.id);

      // Refreshing: "client_id, client_secret, grant_type (refresh_token), a refresh_token".
      const refreshed = assertDocumentedResponse(
        await form({ client_id: server.client.id, client_secret: server.secret, grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
      );
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      // "the refresh token is a single-use token"
      const reuse = await form({ client_id: server.client.id, client_secret: server.secret, grant_type: 'refresh_token', refresh_token: tokens.refresh_token });
      assert.equal(reuse.statusCode, 400);
      assert.equal(reuse.json().error, 'invalid_grant');
    });

    test('refresh tokens last 90 days and are single use', async () => {
      const code = await connect();
      const tokens = assertDocumentedResponse(
        await form({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }),
      );
      server.clock.advance(89 * 24 * 3600 * 1000);
      try {
        const refreshed = assertDocumentedResponse(
          await form({ client_id: server.client.id, client_secret: server.secret, grant_type: 'refresh_token', refresh_token: tokens.refresh_token }),
        );
        server.clock.advance(91 * 24 * 3600 * 1000);
        const expired = await form({ client_id: server.client.id, client_secret: server.secret, grant_type: 'refresh_token', refresh_token: refreshed.refresh_token });
        assert.equal(expired.json().error, 'invalid_grant');
      } finally {
        server.clock.advance(-180 * 24 * 3600 * 1000);
      }
    });

    test('urlencoded token requests work as well as multipart', async () => {
      const code = await connect();
      const response = await server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }).toString(),
      });
      assertDocumentedResponse(response);
    });

    test('an unknown partner_portal_id is refused clearly, back at the partner with invalid_request', async () => {
      const agent = new Agent(server.app);
      const response = await agent.get(
        `/oauth/authorize?client_id=${server.client.id}&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=read&partner_portal_id=999999&state=s`,
      );
      assert.equal(response.statusCode, 303);
      const url = new URL(location(response));
      assert.equal(url.searchParams.get('error'), 'invalid_request');
      assert.match(url.searchParams.get('error_description') ?? '', /partner_portal_id/);
      assert.equal(url.searchParams.get('state'), 's');
    });

    test('the negative cases the document implies', async () => {
      const code = await connect();
      const get = await server.app.inject({ method: 'GET', url: `/oauth/token?grant_type=authorization_code&code=${code}` });
      assert.equal(get.statusCode, 405);
      const json = await server.app.inject({
        method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }),
      });
      assert.equal(json.statusCode, 415);
      const mismatch = await form({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: `${REDIRECT_URI}x` });
      assert.equal(mismatch.json().error, 'invalid_grant');
      const repeated = multipart({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI });
      const twice = await server.app.inject({
        method: 'POST', url: '/oauth/token', headers: repeated.headers,
        payload: repeated.payload.replace('--\r\n', `\r\nContent-Disposition: form-data; name="code"\r\n\r\nother\r\n--------------------------latchkeytestboundary--\r\n`),
      });
      assert.equal(twice.statusCode, 400);
      assert.equal(twice.json().error, 'invalid_request');
      assertDocumentedResponse(
        await form({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI }),
      );
      const reused = await form({ client_id: server.client.id, client_secret: server.secret, code, grant_type: 'authorization_code', redirect_uri: REDIRECT_URI });
      assert.equal(reused.json().error, 'invalid_grant');
      const file = await server.app.inject({
        method: 'POST', url: '/oauth/token', headers: repeated.headers,
        payload: repeated.payload.replace('name="code"', 'name="code"; filename="code.txt"'),
      });
      assert.ok(file.statusCode >= 400 && file.statusCode < 500, String(file.statusCode));
      assert.equal(file.json().error, 'invalid_request');
    });

    test('multipart is parsed only by the token endpoint, the one route the document sends it to', async () => {
      // The parser's hooks run on every request of the routes it is registered for.
      const { payload, headers } = multipart({ token: 'anything', client_id: 'a', client_secret: 'b' });
      for (const url of ['/oauth/revoke', '/oauth/introspect', '/admin/api/clients']) {
        const response = await server.app.inject({ method: 'POST', url, headers, payload });
        assert.equal(response.statusCode, 415, url);
        assert.deepEqual(response.json(), { error: 'invalid_request', error_description: 'The request content type is not supported here.' }, url);
      }
    });
  });
}

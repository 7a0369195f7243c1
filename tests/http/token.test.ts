/** The token endpoint's rules (RFC 6749 §3.2, §4.1.3, §5, §6; RFC 9700 §4.14), over every dialect. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDIRECT_URI, VERIFIER, basic, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { useServer } from '../support/server.js';

for (const dialect of await dialects()) {
  describe(`token endpoint (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    const auth = () => ({ authorization: basic(server.client.id, server.secret) });
    const exchange = (code: string, extra: Record<string, string> = {}, headers = auth()) =>
      tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, ...extra }, headers);

    test('client_secret_post authenticates as well as client_secret_basic', async () => {
      const code = await server.code();
      const response = await tokenRequest(server.app, {
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT_URI,
        code_verifier: VERIFIER,
        client_id: server.client.id,
        client_secret: server.secret,
      });
      assert.equal(response.statusCode, 200, response.body);
    });

    test('RFC 6749 §4.1.2: a reused code is refused and the tokens issued from it are revoked', async () => {
      const code = await server.code();
      const first = await exchange(code);
      assert.equal(first.statusCode, 200);
      const { access_token: accessToken, refresh_token: refreshToken } = first.json();
      const second = await exchange(code);
      assert.equal(second.statusCode, 400);
      assert.equal(second.json().error, 'invalid_grant');
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(me.statusCode, 401);
      const refresh = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken }, auth());
      assert.equal(refresh.json().error, 'invalid_grant');
    });

    test('a code expires after 60 seconds', async () => {
      const code = await server.code();
      server.clock.advance(61_000);
      try {
        const response = await exchange(code);
        assert.equal(response.statusCode, 400);
        assert.equal(response.json().error, 'invalid_grant');
      } finally {
        server.clock.advance(-61_000);
      }
    });

    test('RFC 6749 §4.1.3: redirect_uri must repeat the one sent to /authorize', async () => {
      const code = await server.code();
      const missing = await tokenRequest(server.app, { grant_type: 'authorization_code', code, code_verifier: VERIFIER }, auth());
      assert.equal(missing.json().error, 'invalid_grant');
      const other = await exchange(code, { redirect_uri: `${REDIRECT_URI}/other` });
      assert.equal(other.json().error, 'invalid_grant');
      assert.equal((await exchange(code)).statusCode, 200);
    });

    test('RFC 7636 §4.6: a wrong or missing code_verifier is refused', async () => {
      const code = await server.code();
      const wrong = await exchange(code, { code_verifier: `${VERIFIER.slice(0, -1)}x` });
      assert.equal(wrong.json().error, 'invalid_grant');
      const missing = await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, auth());
      assert.equal(missing.json().error, 'invalid_grant');
      assert.equal((await exchange(code)).statusCode, 200);
    });

    test('RFC 9700 §2.1.1: a code_verifier for a code issued without a challenge is refused (downgrade)', async () => {
      const code = await server.code({ pkce: false });
      const response = await exchange(code);
      assert.equal(response.json().error, 'invalid_grant');
      const withoutVerifier = await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, auth());
      assert.equal(withoutVerifier.statusCode, 200);
    });

    test('a public client redeems its code with PKCE and no secret', async () => {
      const code = await server.code({ clientId: server.publicClient.id });
      const withSecret = await tokenRequest(server.app, {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER,
        client_id: server.publicClient.id, client_secret: 'anything',
      });
      assert.equal(withSecret.statusCode, 401);
      const response = await tokenRequest(server.app, {
        grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, client_id: server.publicClient.id,
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.ok(response.json().refresh_token);
    });

    test("a code issued to one client cannot be redeemed by another", async () => {
      const code = await server.code({ clientId: server.publicClient.id });
      const response = await exchange(code);
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error, 'invalid_grant');
    });

    test('RFC 9700 §4.14.2: refresh tokens rotate and a replayed one revokes the whole grant', async () => {
      const first = (await exchange(await server.code())).json();
      const second = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth());
      assert.equal(second.statusCode, 200);
      const newest = second.json();
      const replay = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: first.refresh_token }, auth());
      assert.equal(replay.statusCode, 400);
      assert.equal(replay.json().error, 'invalid_grant');
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${newest.access_token}` } });
      assert.equal(me.statusCode, 401, 'the newest access token is revoked too');
      const newestRefresh = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: newest.refresh_token }, auth());
      assert.equal(newestRefresh.json().error, 'invalid_grant', 'the newest refresh token is revoked too');
    });

    test('RFC 6749 §6: refresh may narrow the scope but not widen it', async () => {
      const tokens = (await exchange(await server.code({ scope: 'profile read' }))).json();
      const wider = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'profile read write' }, auth());
      assert.equal(wider.statusCode, 400);
      assert.equal(wider.json().error, 'invalid_scope');
      const narrower = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'profile' }, auth());
      assert.equal(narrower.statusCode, 200, narrower.body);
      assert.equal(narrower.json().scope, 'profile');
    });

    test("a refresh token cannot be used by another client", async () => {
      const tokens = (await exchange(await server.code())).json();
      const response = await tokenRequest(server.app, {
        grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: server.publicClient.id,
      });
      assert.equal(response.json().error, 'invalid_grant');
      // ...and the legitimate client can still use it.
      assert.equal((await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, auth())).statusCode, 200);
    });

    test('RFC 6749 §5.2: unknown client and wrong secret give the same 401 with WWW-Authenticate', async () => {
      const fields = { grant_type: 'refresh_token', refresh_token: 'lk_rt_nothing' };
      const unknown = await tokenRequest(server.app, fields, { authorization: basic('lkc_doesnotexist', server.secret) });
      const wrong = await tokenRequest(server.app, fields, { authorization: basic(server.client.id, `${server.secret}x`) });
      for (const response of [unknown, wrong]) {
        assert.equal(response.statusCode, 401);
        assert.match(String(response.headers['www-authenticate']), /^Basic realm=/);
        assert.equal(response.headers['cache-control'], 'no-store');
      }
      assert.equal(unknown.body, wrong.body);
      assert.equal(unknown.json().error, 'invalid_client');
      const post = await tokenRequest(server.app, { ...fields, client_id: server.client.id, client_secret: 'wrong' });
      assert.equal(post.statusCode, 401);
      assert.equal(post.json().error, 'invalid_client');
    });

    test('RFC 6749 §2.3: two client authentication methods at once are refused', async () => {
      const response = await tokenRequest(
        server.app,
        { grant_type: 'refresh_token', refresh_token: 'x', client_id: server.client.id, client_secret: server.secret },
        auth(),
      );
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error, 'invalid_request');
    });

    test('a confidential client cannot authenticate with client_id alone', async () => {
      const response = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x', client_id: server.client.id });
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().error, 'invalid_client');
    });

    test('malformed Basic credentials are invalid_client', async () => {
      for (const header of ['Basic !!!', 'Basic ' + Buffer.from('no-colon').toString('base64'), 'Basic']) {
        const response = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: header });
        assert.equal(response.statusCode, 401, header);
        assert.equal(response.json().error, 'invalid_client');
      }
    });

    test('RFC 6749 §5.2: grant type errors', async () => {
      const missing = await tokenRequest(server.app, { code: 'x' }, auth());
      assert.deepEqual([missing.statusCode, missing.json().error], [400, 'invalid_request']);
      const unknown = await tokenRequest(server.app, { grant_type: 'urn:example:magic' }, auth());
      assert.deepEqual([unknown.statusCode, unknown.json().error], [400, 'unsupported_grant_type']);
      const password = await tokenRequest(server.app, { grant_type: 'password', username: 'a', password: 'b' }, auth());
      // The password grant exists only for clients flagged legacy (DESIGN.md, RFC 9700 §2.4).
      assert.deepEqual([password.statusCode, password.json().error], [400, 'unauthorized_client']);
      const badCode = await tokenRequest(server.app, { grant_type: 'authorization_code', code: 'lk_ac_forged', redirect_uri: REDIRECT_URI }, auth());
      assert.deepEqual([badCode.statusCode, badCode.json().error], [400, 'invalid_grant']);
      const noCode = await tokenRequest(server.app, { grant_type: 'authorization_code' }, auth());
      assert.deepEqual([noCode.statusCode, noCode.json().error], [400, 'invalid_request']);
      for (const response of [missing, unknown, badCode]) {
        assert.equal(response.headers['cache-control'], 'no-store');
        assert.match(String(response.headers['content-type']), /^application\/json/);
        assert.equal(typeof response.json().error_description, 'string');
      }
    });

    test('RFC 6749 §3.2: repeated parameters are refused', async () => {
      const response = await server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        payload: 'grant_type=refresh_token&refresh_token=a&refresh_token=b',
      });
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error, 'invalid_request');
      assert.match(response.json().error_description, /refresh_token/);
    });

    test('only POST with application/x-www-form-urlencoded is accepted', async () => {
      const get = await server.app.inject({ method: 'GET', url: '/oauth/token?grant_type=refresh_token' });
      assert.equal(get.statusCode, 405);
      assert.equal(get.headers.allow, 'POST');
      assert.equal(get.json().error, 'invalid_request');
      const json = await server.app.inject({
        method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json', ...auth() },
        payload: JSON.stringify({ grant_type: 'refresh_token', refresh_token: 'x' }),
      });
      assert.equal(json.statusCode, 415);
      assert.equal(json.json().error, 'invalid_request');
      const xml = await server.app.inject({ method: 'POST', url: '/oauth/token', headers: { 'content-type': 'text/xml' }, payload: '<a/>' });
      assert.equal(xml.statusCode, 415);
      assert.equal(xml.json().error, 'invalid_request');
      const none = await server.app.inject({ method: 'POST', url: '/oauth/token', payload: '' });
      assert.equal(none.statusCode, 415);
      assert.equal(none.json().error, 'invalid_request');
    });

    test('an oversized body is refused with 413 and a JSON error', async () => {
      const response = await server.app.inject({
        method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=refresh_token&refresh_token=${'a'.repeat(200_000)}`,
      });
      assert.equal(response.statusCode, 413);
      assert.equal(response.json().error, 'invalid_request');
    });

    test('per-client access token lifetime is honoured', async () => {
      await server.store.updateClient(server.client.id, { accessTokenTtlSeconds: 120 }, Date.now());
      try {
        const response = await exchange(await server.code());
        assert.equal(response.json().expires_in, 120);
      } finally {
        await server.store.updateClient(server.client.id, { accessTokenTtlSeconds: null }, Date.now());
      }
    });

    test('a client without the refresh_token grant gets no refresh token', async () => {
      await server.store.updateClient(server.client.id, { grantTypes: ['authorization_code'] }, Date.now());
      try {
        const response = await exchange(await server.code());
        assert.equal(response.statusCode, 200);
        assert.equal(response.json().refresh_token, undefined);
      } finally {
        await server.store.updateClient(server.client.id, { grantTypes: ['authorization_code', 'refresh_token'] }, Date.now());
      }
    });
  });
}

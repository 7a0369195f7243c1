/** Token revocation, RFC 7009, over every dialect. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { hashCredential } from '../../src/core/secrets.js';
import { REDIRECT_URI, VERIFIER, basic, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

for (const dialect of await dialects()) {
  describe(`token revocation (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    let other: { id: string; secret: string };
    const auth = () => ({ authorization: basic(server.client.id, server.secret) });

    before(async () => {
      const made = await makeClient(server.store, { name: 'Other App' });
      other = { id: made.client.id, secret: made.secret };
    });

    const revoke = (fields: Record<string, string>, headers: Record<string, string> = auth()) =>
      tokenRequest(server.app, fields, headers, '/oauth/revoke');
    const me = (token: string) => server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });
    const refresh = (token: string, headers = auth()) => tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: token }, headers);

    async function tokens(clientId = server.client.id, secret = server.secret) {
      const code = await server.code({ clientId });
      const response = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(clientId, secret) },
      );
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { access_token: string; refresh_token: string };
    }

    test('§2.1: an access token revokes only itself; the refresh token and the grant live on', async () => {
      const issued = await tokens();
      const response = await revoke({ token: issued.access_token, token_type_hint: 'access_token' });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, '');
      assert.equal(response.headers['cache-control'], 'no-store');
      assert.equal((await me(issued.access_token)).statusCode, 401);
      const refreshed = await refresh(issued.refresh_token);
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal((await me(refreshed.json().access_token)).statusCode, 200);
    });

    test('§2.1: a refresh token revokes the grant, and with it every access token issued on it', async () => {
      const first = await tokens();
      const second = (await refresh(first.refresh_token)).json();
      const response = await revoke({ token: second.refresh_token, token_type_hint: 'refresh_token' });
      assert.equal(response.statusCode, 200);
      for (const token of [first.access_token, second.access_token]) assert.equal((await me(token)).statusCode, 401);
      assert.equal((await refresh(second.refresh_token)).json().error, 'invalid_grant');
      const found = await server.store.findRefreshToken(hashCredential(second.refresh_token));
      assert.notEqual(found?.grant.revokedAt ?? null, null, 'the grant is revoked');
      const events = await server.store.db.selectFrom('audit_events').selectAll().where('type', '=', 'token.revoked').execute();
      assert.ok(events.some((event) => event.actor === server.client.id && JSON.parse(event.detail).revoked === 'grant'));
    });

    test('§2.1: the hint only orders the search: a wrong or unknown hint still finds the token', async () => {
      const wrongHint = await tokens();
      assert.equal((await revoke({ token: wrongHint.refresh_token, token_type_hint: 'access_token' })).statusCode, 200);
      assert.equal((await me(wrongHint.access_token)).statusCode, 401);
      const unknownHint = await tokens();
      // "An invalid token type hint value is ignored by the authorization server".
      const response = await revoke({ token: unknownHint.access_token, token_type_hint: 'urn:example:mystery' });
      assert.equal(response.statusCode, 200);
      assert.equal((await me(unknownHint.access_token)).statusCode, 401);
    });

    test('§2.2: an unknown, already revoked or malformed token is answered with 200', async () => {
      for (const token of ['lk_at_unknown', 'lk_rt_unknown', 'not a token at all', 'a.b.c']) {
        const response = await revoke({ token });
        assert.equal(response.statusCode, 200, token);
      }
      const issued = await tokens();
      assert.equal((await revoke({ token: issued.access_token })).statusCode, 200);
      assert.equal((await revoke({ token: issued.access_token })).statusCode, 200);
    });

    test("§2.1: another client's token is not revoked (and the answer is the same 200)", async () => {
      const theirs = await tokens(other.id, other.secret);
      for (const token of [theirs.access_token, theirs.refresh_token]) {
        assert.equal((await revoke({ token })).statusCode, 200);
      }
      assert.equal((await me(theirs.access_token)).statusCode, 200);
      assert.equal((await refresh(theirs.refresh_token, { authorization: basic(other.id, other.secret) })).statusCode, 200);
    });

    test('§2.1: the client authenticates; without it, or with a wrong secret, 401 invalid_client', async () => {
      const issued = await tokens();
      const none = await revoke({ token: issued.access_token }, {});
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'invalid_client');
      const wrong = await revoke({ token: issued.access_token }, { authorization: basic(server.client.id, 'wrong') });
      assert.equal(wrong.statusCode, 401);
      assert.match(String(wrong.headers['www-authenticate']), /^Basic realm=/);
      const post = await revoke({ token: issued.access_token, client_id: server.client.id, client_secret: 'wrong' }, {});
      assert.equal(post.statusCode, 401);
      assert.equal((await me(issued.access_token)).statusCode, 200, 'a failed request revokes nothing');
      // client_secret_post works as well as Basic.
      assert.equal((await revoke({ token: issued.access_token, client_id: server.client.id, client_secret: server.secret }, {})).statusCode, 200);
      assert.equal((await me(issued.access_token)).statusCode, 401);
    });

    test('a public client revokes its own token by client_id', async () => {
      const code = await server.code({ clientId: server.publicClient.id });
      const issued = (
        await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, client_id: server.publicClient.id })
      ).json();
      assert.equal((await revoke({ token: issued.refresh_token, client_id: server.publicClient.id }, {})).statusCode, 200);
      assert.equal((await me(issued.access_token)).statusCode, 401);
    });

    test('§2.1: token is required; the request is a form POST with each parameter once', async () => {
      const missing = await revoke({});
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error, 'invalid_request');
      const repeated = await server.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        payload: 'token=a&token=b',
      });
      assert.equal(repeated.statusCode, 400);
      const get = await server.app.inject({ method: 'GET', url: '/oauth/revoke?token=x', headers: auth() });
      assert.equal(get.statusCode, 405);
      assert.equal(get.headers.allow, 'POST');
      const json = await server.app.inject({ method: 'POST', url: '/oauth/revoke', headers: { 'content-type': 'application/json', ...auth() }, payload: '{"token":"x"}' });
      assert.equal(json.statusCode, 415);
      assert.equal(json.json().error, 'invalid_request');
    });
  });
}

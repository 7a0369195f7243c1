/** Token introspection, RFC 7662, over every dialect. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ISSUER, REDIRECT_URI, VERIFIER, basic, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

type Credentials = { id: string; secret: string };

for (const dialect of await dialects()) {
  describe(`token introspection (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    let other: Credentials;
    let resourceServer: Credentials;
    let machine: Credentials;
    let jwtClient: Credentials;
    let userId: string;
    let accountId: string;

    before(async () => {
      const made = async (overrides: Parameters<typeof makeClient>[1]) => {
        const { client, secret } = await makeClient(server.store, overrides);
        return { id: client.id, secret };
      };
      other = await made({ name: 'Other App' });
      resourceServer = await made({ name: 'Platform API', isResourceServer: true, grantTypes: [], redirectUris: [] });
      machine = await made({ name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      jwtClient = await made({ name: 'JWT App', accessTokenFormat: 'jwt' });
      const user = await server.store.findUserByEmail('ada@example.com');
      userId = user?.id as string;
      accountId = (await server.store.listAccountsOfUser(userId))[0]?.id as string;
    });

    const own = (): Credentials => ({ id: server.client.id, secret: server.secret });
    /** null: no credentials at all. */
    const introspect = (fields: Record<string, string>, as: Credentials | null = own()) =>
      tokenRequest(server.app, fields, as ? { authorization: basic(as.id, as.secret) } : {}, '/oauth/introspect');

    async function tokens(as: Credentials = own()) {
      const code = await server.code({ clientId: as.id });
      const response = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(as.id, as.secret) },
      );
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { access_token: string; refresh_token: string; expires_in: number };
    }

    test('§2.2: an active access token: scope, client_id, username, sub, exp, iat, token_type, iss, aud and account_id', async () => {
      const issued = await tokens();
      const before = Math.floor(server.clock.now() / 1000);
      const response = await introspect({ token: issued.access_token });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      assert.equal(response.headers['cache-control'], 'no-store');
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), ['account_id', 'active', 'aud', 'client_id', 'exp', 'iat', 'iss', 'scope', 'sub', 'token_type', 'username']);
      assert.equal(body.active, true);
      assert.equal(body.scope, 'profile read');
      assert.equal(body.client_id, server.client.id);
      assert.equal(body.username, 'ada@example.com');
      assert.equal(body.sub, userId);
      assert.equal(body.account_id, accountId);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.iss, ISSUER);
      assert.equal(body.aud, ISSUER);
      assert.ok(Math.abs(body.iat - before) <= 2);
      assert.equal(body.exp - body.iat, issued.expires_in);
    });

    test('§2.2: anything not active is { active: false } and nothing else', async () => {
      const revoked = await tokens();
      await tokenRequest(server.app, { token: revoked.access_token }, { authorization: basic(server.client.id, server.secret) }, '/oauth/revoke');
      const rotated = await tokens();
      await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: rotated.refresh_token }, { authorization: basic(server.client.id, server.secret) });
      const theirs = await tokens(other);
      const cases: Record<string, string> = {
        unknown: 'lk_at_unknown',
        garbage: 'a.b.c',
        revoked: revoked.access_token,
        'rotated refresh token': rotated.refresh_token,
        "another client's access token": theirs.access_token,
        "another client's refresh token": theirs.refresh_token,
      };
      for (const [what, token] of Object.entries(cases)) {
        const response = await introspect({ token });
        assert.equal(response.statusCode, 200, what);
        assert.deepEqual(response.json(), { active: false }, what);
      }
      const expiring = await tokens();
      server.clock.advance(3600_000);
      try {
        assert.deepEqual((await introspect({ token: expiring.access_token })).json(), { active: false });
      } finally {
        server.clock.advance(-3600_000);
      }
    });

    test('a resource server, with its own credentials, introspects any access token but no refresh token', async () => {
      const issued = await tokens(other);
      const response = await introspect({ token: issued.access_token }, resourceServer);
      assert.equal(response.json().active, true);
      assert.equal(response.json().client_id, other.id);
      assert.equal(response.json().username, 'ada@example.com');
      assert.deepEqual((await introspect({ token: issued.refresh_token }, resourceServer)).json(), { active: false });
    });

    test('a client introspects its own refresh token (no token_type: it is not an access token)', async () => {
      const issued = await tokens();
      const body = (await introspect({ token: issued.refresh_token, token_type_hint: 'refresh_token' })).json();
      assert.equal(body.active, true);
      assert.equal(body.token_type, undefined);
      assert.equal(body.client_id, server.client.id);
      assert.equal(body.sub, userId);
      assert.equal(body.account_id, accountId);
      assert.equal(body.scope, 'profile read');
    });

    test('§2.1: the hint only orders the search', async () => {
      const issued = await tokens();
      assert.equal((await introspect({ token: issued.access_token, token_type_hint: 'refresh_token' })).json().active, true);
      assert.equal((await introspect({ token: issued.refresh_token, token_type_hint: 'access_token' })).json().active, true);
      assert.equal((await introspect({ token: issued.access_token, token_type_hint: 'bogus' })).json().active, true);
    });

    test("a client credentials token: sub is the client, no username or account", async () => {
      const issued = await tokenRequest(server.app, { grant_type: 'client_credentials' }, { authorization: basic(machine.id, machine.secret) });
      const body = (await introspect({ token: issued.json().access_token }, machine)).json();
      assert.equal(body.active, true);
      assert.equal(body.sub, machine.id);
      assert.equal(body.client_id, machine.id);
      assert.equal(body.scope, 'read');
      assert.equal(body.username, undefined);
      assert.equal(body.account_id, undefined);
    });

    test('a JWT access token is introspected like an opaque one, and its revocation is honoured', async () => {
      const issued = await tokens(jwtClient);
      assert.equal(issued.access_token.split('.').length, 3);
      const body = (await introspect({ token: issued.access_token }, jwtClient)).json();
      assert.equal(body.active, true);
      assert.equal(body.sub, userId);
      assert.equal(body.token_type, 'Bearer');
      await tokenRequest(server.app, { token: issued.access_token }, { authorization: basic(jwtClient.id, jwtClient.secret) }, '/oauth/revoke');
      assert.deepEqual((await introspect({ token: issued.access_token }, resourceServer)).json(), { active: false });
    });

    test('§2.1: callers must authenticate; a public client cannot', async () => {
      const issued = await tokens();
      const none = await introspect({ token: issued.access_token }, null);
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().error, 'invalid_client');
      const wrong = await introspect({ token: issued.access_token }, { id: server.client.id, secret: 'nope' });
      assert.equal(wrong.statusCode, 401);
      assert.match(String(wrong.headers['www-authenticate']), /^Basic /);
      const publicClient = await tokenRequest(server.app, { token: issued.access_token, client_id: server.publicClient.id }, {}, '/oauth/introspect');
      assert.equal(publicClient.statusCode, 401);
      assert.equal(publicClient.json().error, 'invalid_client');
      const missing = await introspect({});
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().error, 'invalid_request');
      const get = await server.app.inject({ method: 'GET', url: `/oauth/introspect?token=${issued.access_token}` });
      assert.equal(get.statusCode, 405);
    });
  });
}

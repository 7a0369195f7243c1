/** The client credentials grant (RFC 6749 §4.4) and the scope model (§3.3, §6), over every dialect. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { hashCredential } from '../../src/core/secrets.js';
import { REDIRECT_URI, VERIFIER, basic, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

type Credentials = { id: string; secret: string };

for (const dialect of await dialects()) {
  describe(`client credentials and the scope model (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    let machine: Credentials;
    let withDefaults: Credentials;

    before(async () => {
      const made = async (overrides: Parameters<typeof makeClient>[1]) => {
        const { client, secret } = await makeClient(server.store, overrides);
        return { id: client.id, secret };
      };
      machine = await made({ name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read', 'write'] });
      withDefaults = await made({ name: 'Reporter', grantTypes: ['client_credentials', 'refresh_token'], redirectUris: [], scopes: ['profile', 'read'] });
    });

    const grant = (as: Credentials, fields: Record<string, string> = {}) =>
      tokenRequest(server.app, { grant_type: 'client_credentials', ...fields }, { authorization: basic(as.id, as.secret) });
    const machineGrants = (clientId: string) =>
      server.store.db.selectFrom('grants').selectAll().where('client_id', '=', clientId).where('user_id', 'is', null).execute();

    test('§4.4.3: an access token and no refresh token, even for a client allowed to refresh', async () => {
      for (const as of [machine, withDefaults]) {
        const response = await grant(as);
        assert.equal(response.statusCode, 200, response.body);
        assert.equal(response.headers['cache-control'], 'no-store');
        const body = response.json();
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
        assert.match(body.access_token, /^lk_at_/);
        assert.equal(body.token_type, 'Bearer');
      }
    });

    test("§3.3: without scope, the registry's defaults the client may use, else all the client may use", async () => {
      // withDefaults may use profile (a registry default) and read: it gets profile.
      assert.equal((await grant(withDefaults)).json().scope, 'profile');
      // machine may use read and write, neither a default: it gets both.
      assert.equal((await grant(machine)).json().scope, 'read write');
    });

    test('§3.3: a requested scope must be within the client\'s allowed scopes', async () => {
      assert.equal((await grant(machine, { scope: 'write' })).json().scope, 'write');
      assert.equal((await grant(machine, { scope: 'write read' })).json().scope, 'write read');
      for (const scope of ['profile', 'read admin', 'read "quoted"']) {
        const response = await grant(machine, { scope });
        assert.equal(response.statusCode, 400, scope);
        assert.equal(response.json().error, 'invalid_scope', scope);
      }
    });

    test('one machine connection per client: no user, no account, scopes accumulate', async () => {
      await grant(machine, { scope: 'read' });
      await grant(machine, { scope: 'write' });
      const rows = await machineGrants(machine.id);
      assert.equal(rows.length, 1);
      assert.equal(rows[0]?.account_id, null);
      assert.deepEqual(rows[0]?.scopes.split(' ').sort(), ['read', 'write']);
      const token = (await grant(machine, { scope: 'read' })).json().access_token as string;
      const record = await server.store.findAccessToken(hashCredential(token));
      assert.equal(record?.userId, null);
      assert.equal(record?.accountId, null);
      assert.equal(record?.grantId, rows[0]?.id);
      // Revoking the machine connection revokes its tokens; the next request opens a new one.
      await server.store.revokeGrant(rows[0]?.id as string, server.clock.now(), 'test');
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(me.statusCode, 401);
      assert.equal((await grant(machine)).statusCode, 200);
      assert.equal((await machineGrants(machine.id)).filter((row) => row.revoked_at === null).length, 1);
    });

    test('§5.2: a client not registered for the grant is unauthorized_client; bad credentials are invalid_client', async () => {
      const web = await grant({ id: server.client.id, secret: server.secret });
      assert.equal(web.statusCode, 400);
      assert.equal(web.json().error, 'unauthorized_client');
      const wrong = await grant({ id: machine.id, secret: 'wrong' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().error, 'invalid_client');
    });

    test('§4.4: a public client can never use the grant', async () => {
      // The service refuses to register one; a row made behind its back is refused at the token endpoint.
      const rogue = await server.store.createClient(
        { name: 'Rogue', redirectUris: [], scopes: ['read'], grantTypes: ['client_credentials'], isPublic: true, isLegacy: false },
        null,
        server.clock.now(),
      );
      const response = await tokenRequest(server.app, { grant_type: 'client_credentials', client_id: rogue.id });
      assert.equal(response.statusCode, 400);
      assert.equal(response.json().error, 'unauthorized_client');
      await assert.rejects(makeClient(server.store, { name: 'Public machine', isPublic: true, grantTypes: ['client_credentials'] }), /public client/);
    });

    test('§6: a refresh may narrow the scope, never widen it; the refresh token keeps the original scope', async () => {
      const code = await server.code({ scope: 'profile read' });
      const auth = { authorization: basic(server.client.id, server.secret) };
      const issued = (await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, auth)).json();
      const refresh = (refreshToken: string, scope?: string) =>
        tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...(scope === undefined ? {} : { scope }) }, auth);
      const wider = await refresh(issued.refresh_token, 'profile read write');
      assert.equal(wider.statusCode, 400);
      assert.equal(wider.json().error, 'invalid_scope');
      const narrow = await refresh(issued.refresh_token, 'read');
      assert.equal(narrow.statusCode, 200, narrow.body);
      assert.equal(narrow.json().scope, 'read');
      const introspected = await tokenRequest(server.app, { token: narrow.json().access_token }, auth, '/oauth/introspect');
      assert.equal(introspected.json().scope, 'read');
      // The new refresh token carries the original grant's scope (§6), so the full scope can come back, no more.
      assert.equal((await refresh(narrow.json().refresh_token, 'profile read write')).json().error, 'invalid_scope');
      const back = await refresh(narrow.json().refresh_token);
      assert.equal(back.json().scope, 'profile read');
    });
  });
}

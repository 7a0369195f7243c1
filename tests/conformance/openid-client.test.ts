/**
 * openid-client against a running Latchkey over real HTTP: discovery at both
 * well-known addresses, the authorization code flow with PKCE, refresh,
 * introspection, revocation, a protected resource and client credentials.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as client from 'openid-client';
import { REDIRECT_URI } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';
import { type RunningLatchkey, signInAndConsent, startLatchkey } from './support.js';

for (const dialect of await dialects()) {
  describe(`openid-client against Latchkey (${dialect.name})`, { skip: dialect.skip }, () => {
    let server: RunningLatchkey;
    let web: client.Configuration;
    let machine: client.Configuration;

    before(async () => {
      server = await startLatchkey(dialect);
      await seedScopes(server.store);
      await makeUser(server.store);
      const webClient = await makeClient(server.store, { name: 'Web App' });
      const machineClient = await makeClient(server.store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read', 'write'] });
      // RFC 8414 metadata for one, the OpenID Connect discovery address for the other.
      web = await client.discovery(new URL(server.url), webClient.client.id, webClient.secret, client.ClientSecretPost(webClient.secret), {
        algorithm: 'oauth2',
        execute: [client.allowInsecureRequests],
      });
      machine = await client.discovery(new URL(server.url), machineClient.client.id, machineClient.secret, undefined, {
        execute: [client.allowInsecureRequests],
      });
    });
    after(async () => server?.close());

    test('both discovery documents validate and agree', () => {
      assert.deepEqual(web.serverMetadata(), machine.serverMetadata());
      assert.equal(web.serverMetadata().issuer, server.url);
    });

    test('code flow with PKCE, refresh, introspection, a protected resource and revocation', async () => {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const authorizationUrl = client.buildAuthorizationUrl(web, {
        redirect_uri: REDIRECT_URI,
        scope: 'profile read',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const callback = await signInAndConsent(authorizationUrl, server.url);
      const tokens = await client.authorizationCodeGrant(web, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.scope, 'profile read');
      assert.ok(tokens.refresh_token);
      assert.ok((tokens.expiresIn() ?? 0) > 3500);

      // RFC 6749 §6: a narrower scope on refresh.
      const refreshed = await client.refreshTokenGrant(web, tokens.refresh_token, { scope: 'profile' });
      assert.equal(refreshed.scope, 'profile');
      assert.ok(refreshed.refresh_token);

      const introspected = await client.tokenIntrospection(web, refreshed.access_token);
      assert.equal(introspected.active, true);
      assert.equal(introspected.scope, 'profile');
      assert.equal(introspected.username, 'ada@example.com');
      assert.equal(typeof introspected.exp, 'number');

      const me = await client.fetchProtectedResource(web, refreshed.access_token, new URL('/api/me', server.url), 'GET');
      assert.equal(me.status, 200);
      assert.equal(((await me.json()) as { account: { name: string } }).account.name, 'Ada Co');

      // An access token revokes only itself: the refresh token still works.
      await client.tokenRevocation(web, refreshed.access_token, { token_type_hint: 'access_token' });
      assert.deepEqual(await client.tokenIntrospection(web, refreshed.access_token), { active: false });
      const again = await client.refreshTokenGrant(web, refreshed.refresh_token as string);
      assert.ok(again.access_token);

      // A refresh token revokes the grant: its access tokens too.
      await client.tokenRevocation(web, again.refresh_token as string);
      assert.deepEqual(await client.tokenIntrospection(web, again.access_token), { active: false });
      await assert.rejects(client.refreshTokenGrant(web, again.refresh_token as string), (error: unknown) => {
        assert.ok(error instanceof client.ResponseBodyError);
        assert.equal(error.error, 'invalid_grant');
        return true;
      });
      // RFC 7009 §2.2: an unknown token is answered with 200.
      await client.tokenRevocation(web, 'lk_at_unknown');
    });

    test('client credentials with the default and a narrower scope', async () => {
      const all = await client.clientCredentialsGrant(machine);
      assert.equal(all.scope, 'read write');
      assert.equal(all.refresh_token, undefined);
      const narrow = await client.clientCredentialsGrant(machine, { scope: 'write' });
      assert.equal(narrow.scope, 'write');
      const me = await client.fetchProtectedResource(machine, narrow.access_token, new URL('/api/me', server.url), 'GET');
      assert.deepEqual(await me.json(), { user: null, account: null, client_id: machine.clientMetadata().client_id, scope: 'write' });
      await assert.rejects(client.clientCredentialsGrant(machine, { scope: 'profile' }), (error: unknown) => {
        assert.ok(error instanceof client.ResponseBodyError);
        assert.equal(error.error, 'invalid_scope');
        return true;
      });
    });
  });
}

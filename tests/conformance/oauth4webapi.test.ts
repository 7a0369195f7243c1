/**
 * oauth4webapi, a strict RFC client, against a running Latchkey over real HTTP:
 * discovery (RFC 8414), the authorization code flow with PKCE and iss (RFC 9207),
 * refresh, introspection (RFC 7662), revocation (RFC 7009), a protected resource
 * (RFC 6750), client credentials, and JWT access tokens validated as a resource
 * server would (RFC 9068). Every response must pass the library's validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import * as oauth from 'oauth4webapi';
import { REDIRECT_URI } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';
import { type RunningLatchkey, signInAndConsent, startLatchkey } from './support.js';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

for (const dialect of await dialects()) {
  describe(`oauth4webapi against Latchkey (${dialect.name})`, { skip: dialect.skip }, () => {
    let server: RunningLatchkey;
    let as: oauth.AuthorizationServer;
    const clients = {} as Record<'web' | 'jwt' | 'machine' | 'resourceServer', { client: oauth.Client; auth: oauth.ClientAuth }>;

    before(async () => {
      server = await startLatchkey(dialect);
      await seedScopes(server.store);
      await makeUser(server.store);
      const register = async (overrides: Parameters<typeof makeClient>[1]) => {
        const { client, secret } = await makeClient(server.store, overrides);
        return { client: { client_id: client.id } as oauth.Client, auth: oauth.ClientSecretBasic(secret) };
      };
      clients.web = await register({ name: 'Web App' });
      clients.jwt = await register({ name: 'JWT App', accessTokenFormat: 'jwt' });
      clients.machine = await register({ name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      clients.resourceServer = await register({ name: 'Platform API', isResourceServer: true, grantTypes: [], redirectUris: [] });
      const issuer = new URL(server.url);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    });
    after(async () => server?.close());

    /** The authorization code flow with PKCE, as the library drives it; returns the token response. */
    async function codeFlow(which: 'web' | 'jwt') {
      const { client, auth } = clients[which];
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const authorizationUrl = new URL(as.authorization_endpoint as string);
      authorizationUrl.search = new URLSearchParams({
        response_type: 'code',
        client_id: client.client_id,
        redirect_uri: REDIRECT_URI,
        scope: 'profile read',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      }).toString();
      const callback = await signInAndConsent(authorizationUrl, server.url);
      // RFC 9207: the library checks iss against the discovered issuer.
      const params = oauth.validateAuthResponse(as, client, callback, state);
      const response = await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT_URI, verifier, insecure);
      return oauth.processAuthorizationCodeResponse(as, client, response);
    }

    test('discovery: the metadata document validates and names every endpoint', () => {
      assert.equal(as.issuer, server.url);
      assert.equal(as.authorization_endpoint, `${server.url}/oauth/authorize`);
      assert.equal(as.token_endpoint, `${server.url}/oauth/token`);
      assert.equal(as.revocation_endpoint, `${server.url}/oauth/revoke`);
      assert.equal(as.introspection_endpoint, `${server.url}/oauth/introspect`);
      assert.equal(as.jwks_uri, `${server.url}/oauth/jwks.json`);
      assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
      assert.equal(as.authorization_response_iss_parameter_supported, true);
    });

    test('code flow with PKCE, refresh, introspection, a protected resource and revocation all validate', async () => {
      const { client, auth } = clients.web;
      const tokens = await codeFlow('web');
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.scope, 'profile read');
      assert.ok(tokens.refresh_token);

      const refreshResponse = await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, insecure);
      const refreshed = await oauth.processRefreshTokenResponse(as, client, refreshResponse);
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.ok(refreshed.refresh_token);

      const introspected = await oauth.processIntrospectionResponse(
        as,
        client,
        await oauth.introspectionRequest(as, client, auth, refreshed.access_token, insecure),
      );
      assert.equal(introspected.active, true);
      assert.equal(introspected.client_id, client.client_id);
      assert.equal(introspected.username, 'ada@example.com');
      assert.equal(introspected.token_type, 'Bearer');
      assert.equal(introspected.iss, server.url);

      const resource = await oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL('/api/me', server.url), new Headers(), null, insecure);
      assert.equal(resource.status, 200);
      assert.equal(((await resource.json()) as { user: { email: string } }).user.email, 'ada@example.com');

      await oauth.processRevocationResponse(
        await oauth.revocationRequest(as, client, auth, refreshed.refresh_token as string, { ...insecure, additionalParameters: { token_type_hint: 'refresh_token' } }),
      );
      for (const token of [refreshed.access_token, refreshed.refresh_token as string]) {
        const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, token, insecure));
        assert.deepEqual(after, { active: false });
      }
      // The library parses the RFC 6750 challenge of the refusal and reports it.
      await assert.rejects(
        oauth.protectedResourceRequest(refreshed.access_token, 'GET', new URL('/api/me', server.url), new Headers(), null, insecure),
        (error: unknown) => {
          assert.ok(error instanceof oauth.WWWAuthenticateChallengeError);
          assert.equal(error.status, 401);
          assert.equal(error.cause[0]?.scheme, 'bearer');
          assert.equal(error.cause[0]?.parameters.realm, 'latchkey');
          assert.equal(error.cause[0]?.parameters.error, 'invalid_token');
          return true;
        },
      );
    });

    test('a resource server introspects with its own credentials', async () => {
      const tokens = await codeFlow('web');
      const { client, auth } = clients.resourceServer;
      const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
      assert.equal(introspected.active, true);
      assert.equal(introspected.client_id, clients.web.client.client_id);
      assert.equal(introspected.scope, 'profile read');
    });

    test('client credentials: a token without a refresh token, for the client itself', async () => {
      const { client, auth } = clients.machine;
      const response = await oauth.clientCredentialsGrantRequest(as, client, auth, new URLSearchParams({ scope: 'read' }), insecure);
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(tokens.scope, 'read');
      assert.equal(tokens.refresh_token, undefined);
      const introspected = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
      assert.equal(introspected.active, true);
      assert.equal(introspected.sub, client.client_id);
      assert.equal(introspected.username, undefined);
    });

    test('RFC 9068: a JWT access token passes validateJwtAccessToken, as a resource server checks it', async () => {
      const tokens = await codeFlow('jwt');
      const request = new Request(new URL('/api/me', server.url), { headers: { authorization: `Bearer ${tokens.access_token}` } });
      const claims = await oauth.validateJwtAccessToken(as, request, server.url, insecure);
      assert.equal(claims.client_id, clients.jwt.client.client_id);
      assert.equal(claims.scope, 'profile read');
      assert.match(claims.sub, /^usr_/);
      const resource = await oauth.protectedResourceRequest(tokens.access_token, 'GET', new URL('/api/me', server.url), new Headers(), null, insecure);
      assert.equal(resource.status, 200);
      // Revocation of a JWT is honoured by introspection.
      const { client, auth } = clients.jwt;
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, tokens.access_token, insecure));
      const after = await oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, auth, tokens.access_token, insecure));
      assert.equal(after.active, false);
    });
  });
}

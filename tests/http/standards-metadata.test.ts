/** Authorization server metadata (RFC 8414), iss (RFC 9207) and the JWK Set, over every dialect. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { presets } from '../../src/config/presets/index.js';
import { grantHandlers } from '../../src/core/grants/index.js';
import { rotateKeys } from '../../src/services/keys.js';
import { Agent, ISSUER, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, testApp, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

const WELL_KNOWN = ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration'];

for (const dialect of await dialects()) {
  describe(`metadata and JWKS (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);

    test('RFC 8414 §3: both well-known addresses serve the same document, true to the default preset', async () => {
      const [oauth, openid] = await Promise.all(WELL_KNOWN.map((url) => server.app.inject({ url })));
      assert.equal(oauth?.statusCode, 200);
      assert.match(String(oauth?.headers['content-type']), /^application\/json/);
      assert.deepEqual(openid?.json(), oauth?.json());
      assert.deepEqual(oauth?.json(), {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/oauth/authorize`,
        token_endpoint: `${ISSUER}/oauth/token`,
        jwks_uri: `${ISSUER}/oauth/jwks.json`,
        scopes_supported: ['profile', 'read', 'write'],
        response_types_supported: ['code'],
        response_modes_supported: ['query'],
        grant_types_supported: Object.keys(presets.default?.tokenEndpoints[0]?.grantTypes ?? {}),
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        revocation_endpoint: `${ISSUER}/oauth/revoke`,
        revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
        introspection_endpoint: `${ISSUER}/oauth/introspect`,
        introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        code_challenge_methods_supported: ['S256'],
        authorization_response_iss_parameter_supported: true,
      });
      for (const grantType of ['authorization_code', 'refresh_token', 'client_credentials']) {
        assert.ok(oauth?.json().grant_types_supported.includes(grantType), grantType);
      }
    });

    test('scopes_supported is the scope registry', async () => {
      await server.store.upsertScope({ name: 'invoices:read', description: 'Read invoices', isDefault: false });
      const document = (await server.app.inject({ url: WELL_KNOWN[0] })).json();
      assert.ok(document.scopes_supported.includes('invoices:read'));
    });

    test('RFC 9207: the authorization response carries iss equal to the metadata issuer', async () => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: server.client.id });
      const document = (await server.app.inject({ url: WELL_KNOWN[0] })).json();
      assert.equal(redirect.searchParams.get('iss'), document.issuer);
    });

    test('RFC 7517: the JWK Set publishes the public half of every signing key, and no private member', async () => {
      const jwt = await makeClient(server.store, { name: 'JWT App', accessTokenFormat: 'jwt' });
      const code = await server.code({ clientId: jwt.client.id });
      const token = (
        await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { authorization: basic(jwt.client.id, jwt.secret) })
      ).json().access_token as string;
      const kid = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()).kid;
      const response = await server.app.inject({ url: '/oauth/jwks.json' });
      assert.equal(response.statusCode, 200);
      assert.match(String(response.headers['content-type']), /^application\/jwk-set\+json/);
      const { keys } = response.json() as { keys: Array<Record<string, string>> };
      const key = keys.find((candidate) => candidate.kid === kid);
      assert.deepEqual(Object.keys(key ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
      assert.deepEqual({ kty: key?.kty, crv: key?.crv, alg: key?.alg, use: key?.use }, { kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
      // After a rotation the old key stays published (its token is still live) next to the new one.
      const { kid: next } = await rotateKeys(server.store, Date.now());
      const after = (await server.app.inject({ url: '/oauth/jwks.json' })).json() as { keys: Array<{ kid: string }> };
      assert.deepEqual(after.keys.map((candidate) => candidate.kid).sort(), [kid, next].sort());
    });
  });
}

describe('metadata follows the running preset (sqlite)', async () => {
  const [sqlite] = await dialects();
  for (const [name, preset] of Object.entries(presets)) {
    test(`${name}: endpoints, grant types, auth methods and PKCE methods are the preset's own`, async () => {
      const database = await (sqlite as NonNullable<typeof sqlite>).create();
      try {
        const app = await testApp(await database.open(), { config: { preset: name } });
        const document = (await app.inject({ url: WELL_KNOWN[0] })).json();
        await app.close();
        const token = preset.tokenEndpoints[0];
        assert.equal(document.authorization_endpoint, `${ISSUER}${preset.authorizeEndpoints[0]?.path}`);
        assert.equal(document.token_endpoint, `${ISSUER}${token?.path}`);
        assert.deepEqual(document.token_endpoint_auth_methods_supported, token?.clientAuthMethods);
        assert.deepEqual(
          document.grant_types_supported,
          Object.entries(token?.grantTypes ?? {})
            .filter(([, canonical]) => grantHandlers.has(canonical))
            .map(([wire]) => wire),
        );
        assert.deepEqual(document.code_challenge_methods_supported, preset.protocol.pkce.allowPlain ? ['S256', 'plain'] : ['S256']);
        assert.ok(!document.introspection_endpoint_auth_methods_supported.includes('none'));
      } finally {
        await database.drop();
      }
    });
  }
});

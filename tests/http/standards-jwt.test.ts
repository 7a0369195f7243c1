/** JWT access tokens (RFC 9068) and their signing keys, over every dialect. */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { hashCredential } from '../../src/core/secrets.js';
import { pruneSigningKeys, RETIRED_KEY_MIN_PUBLICATION_MS } from '../../src/core/signing-keys.js';
import { rotateKeys } from '../../src/services/keys.js';
import { ISSUER, REDIRECT_URI, VERIFIER, basic, testApp, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';
import { type TestServer, useServer } from '../support/server.js';

type Credentials = { id: string; secret: string };

async function codeTokens(server: TestServer, as: Credentials, scope = 'profile read') {
  const code = await server.code({ clientId: as.id, scope });
  const response = await tokenRequest(
    server.app,
    { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
    { authorization: basic(as.id, as.secret) },
  );
  assert.equal(response.statusCode, 200, response.body);
  return response.json() as { access_token: string; refresh_token: string; expires_in: number };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
const me = (server: TestServer, token: string) => server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token}` } });

for (const dialect of await dialects()) {
  describe(`JWT access tokens, per client (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    let jwtClient: Credentials;

    before(async () => {
      const made = await makeClient(server.store, { name: 'JWT App', accessTokenFormat: 'jwt' });
      jwtClient = { id: made.client.id, secret: made.secret };
    });

    test('RFC 9068 §2: typ at+jwt, ES256, a kid, and iss, exp, iat, aud, sub, client_id, jti, scope, account_id', async () => {
      const tokens = await codeTokens(server, jwtClient);
      const header = decodeProtectedHeader(tokens.access_token);
      assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      const claims = claimsOf(tokens.access_token);
      assert.deepEqual(Object.keys(claims).sort(), ['account_id', 'aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
      const user = await server.store.findUserByEmail('ada@example.com');
      const [account] = await server.store.listAccountsOfUser(user?.id as string);
      assert.equal(claims.iss, ISSUER);
      assert.equal(claims.aud, ISSUER);
      assert.equal(claims.sub, user?.id);
      assert.equal(claims.client_id, jwtClient.id);
      assert.equal(claims.scope, 'profile read');
      assert.equal(claims.account_id, account?.id);
      assert.equal((claims.exp as number) - (claims.iat as number), tokens.expires_in);
      assert.match(claims.jti as string, /^[A-Za-z0-9_-]{22}$/);
      // A verifier with only the published JWK Set accepts it.
      const jwks = createLocalJWKSet((await server.app.inject({ url: '/oauth/jwks.json' })).json());
      const verified = await jwtVerify(tokens.access_token, jwks, { issuer: ISSUER, audience: ISSUER, typ: 'at+jwt', algorithms: ['ES256'] });
      assert.equal(verified.payload.client_id, jwtClient.id);
      // The platform's own guard accepts it too.
      const response = await me(server, tokens.access_token);
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().user.email, 'ada@example.com');
    });

    test('the JWT is stored by its hash, with the kid that signed it, so revocation works', async () => {
      const tokens = await codeTokens(server, jwtClient);
      const record = await server.store.findAccessToken(hashCredential(tokens.access_token));
      assert.ok(record);
      assert.equal(record.signingKeyId, decodeProtectedHeader(tokens.access_token).kid);
      assert.equal(record.clientId, jwtClient.id);
    });

    test('refreshing keeps the format; other clients keep opaque tokens', async () => {
      const tokens = await codeTokens(server, jwtClient);
      assert.match(tokens.refresh_token, /^lk_rt_/);
      const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, scope: 'profile' }, { authorization: basic(jwtClient.id, jwtClient.secret) });
      assert.equal(claimsOf(refreshed.json().access_token).scope, 'profile');
      const opaque = await codeTokens(server, { id: server.client.id, secret: server.secret });
      assert.match(opaque.access_token, /^lk_at_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
    });

    test('rotation: new tokens use the new key; the old key stays published while its tokens live, then is pruned', async () => {
      const old = await codeTokens(server, jwtClient);
      const oldKid = decodeProtectedHeader(old.access_token).kid as string;
      const { kid: newKid, retired } = await rotateKeys(server.store, server.clock.now());
      assert.ok(retired.includes(oldKid));
      const fresh = await codeTokens(server, jwtClient);
      assert.equal(decodeProtectedHeader(fresh.access_token).kid, newKid);
      // Both verify at the guard (the old kid is known, the new one is loaded on sight).
      assert.equal((await me(server, old.access_token)).statusCode, 200);
      assert.equal((await me(server, fresh.access_token)).statusCode, 200);
      const published = async () => ((await server.app.inject({ url: '/oauth/jwks.json' })).json().keys as Array<{ kid: string }>).map((key) => key.kid);

      // Long after the rotation but while a token it signed is live: kept.
      const later = server.clock.now() + RETIRED_KEY_MIN_PUBLICATION_MS + 1000;
      const lastExpiry = Math.max(
        ...(await server.store.db.selectFrom('access_tokens').select('expires_at').where('signing_key_id', '=', oldKid).execute()).map((row) => row.expires_at),
      );
      assert.ok(lastExpiry > server.clock.now());
      assert.deepEqual(await pruneSigningKeys(server.store, Math.min(later, lastExpiry - 1)), []);
      assert.ok((await published()).includes(oldKid));
      // Once every token it signed has expired: removed from the JWK Set.
      assert.deepEqual(await pruneSigningKeys(server.store, Math.max(later, lastExpiry)), [oldKid]);
      assert.deepEqual(await published(), [newKid]);
      assert.equal((await me(server, fresh.access_token)).statusCode, 200);
    });
  });

  describe(`JWT access tokens as the server default (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { accessTokenFormat: 'jwt', accessTokenAudience: 'https://api.example.com/' });

    test('clients without a format get JWTs with the configured audience; a client may keep opaque tokens', async () => {
      const tokens = await codeTokens(server, { id: server.client.id, secret: server.secret });
      assert.equal(claimsOf(tokens.access_token).aud, 'https://api.example.com/');
      assert.equal((await me(server, tokens.access_token)).statusCode, 200);
      const opaque = await makeClient(server.store, { name: 'Opaque App', accessTokenFormat: 'opaque' });
      const theirs = await codeTokens(server, { id: opaque.client.id, secret: opaque.secret });
      assert.match(theirs.access_token, /^lk_at_/);
    });

    test('client credentials JWT: sub is the client id, no account_id', async () => {
      const machine = await makeClient(server.store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      const response = await tokenRequest(server.app, { grant_type: 'client_credentials' }, { authorization: basic(machine.client.id, machine.secret) });
      const claims = claimsOf(response.json().access_token);
      assert.equal(claims.sub, machine.client.id);
      assert.equal(claims.client_id, machine.client.id);
      assert.equal(claims.account_id, undefined);
      const answer = await me(server, response.json().access_token);
      assert.deepEqual(answer.json(), { user: null, account: null, client_id: machine.client.id, scope: 'read' });
    });
  });

  describe(`the rotation schedule (${dialect.name})`, { skip: dialect.skip }, () => {
    test('a server timer creates the first key and rotates it when it is older than the interval', async () => {
      const database = await dialect.create();
      const store = await database.open();
      try {
        await seedScopes(store);
        await makeUser(store);
        const app = await testApp(store, { config: { signingKeyRotationSeconds: 1 } });
        await app.ready();
        try {
          const deadline = Date.now() + 15_000;
          let keys = await store.listSigningKeys();
          while (keys.length < 2 && Date.now() < deadline) {
            await sleep(250);
            keys = await store.listSigningKeys();
          }
          assert.ok(keys.length >= 2, `expected a rotation, got ${keys.length} key(s)`);
          assert.equal(keys.filter((key) => key.retiredAt === null).length, 1, 'one active key');
          const events = await store.db.selectFrom('audit_events').select('type').where('type', '=', 'signing_key.rotated').execute();
          assert.ok(events.length >= 1);
        } finally {
          await app.close();
        }
      } finally {
        await database.drop();
      }
    });
  });
}

/** Finding and validating access tokens at a protected resource (RFC 6750, RFC 9068), and RFC 8414 metadata, in the core. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { importJWK, type JWK } from 'jose';
import { authenticateAccessToken, findAccessToken, type ResourcePolicy, type ResourceRequestParts } from '../../src/core/bearer.js';
import { AccessTokenRequired, InvalidRequest, InvalidToken } from '../../src/core/errors.js';
import { generateSigningKey, signAccessToken } from '../../src/core/jwt.js';
import { authorizationServerMetadata } from '../../src/core/metadata.js';
import type { SigningKey } from '../../src/core/model.js';
import { hashCredential } from '../../src/core/secrets.js';
import { caught } from './core-fixtures.js';

const STRICT: ResourcePolicy = { schemes: ['bearer'], formBodyToken: false, queryToken: false };
const LENIENT: ResourcePolicy = { schemes: ['bearer', 'token'], formBodyToken: true, queryToken: true };
const EMPTY = { params: {}, repeated: [] };

function parts(overrides: Partial<ResourceRequestParts> = {}): ResourceRequestParts {
  return { authorization: undefined, method: 'GET', mediaType: undefined, query: EMPTY, form: undefined, ...overrides };
}

function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('findAccessToken (RFC 6750 §2)', () => {
  test('§2.1: the Authorization header in the Bearer scheme, case-insensitively', () => {
    for (const authorization of ['Bearer abc', 'bearer abc', 'BEARER  abc', ' Bearer a-b.c_d~e+f/g== ']) {
      assert.equal(findAccessToken(parts({ authorization }), STRICT).location, 'bearer', authorization);
    }
    assert.equal(findAccessToken(parts({ authorization: 'Bearer a-b.c_d~e+f/g==' }), STRICT).token, 'a-b.c_d~e+f/g==');
  });

  test('§3: no token, or only another scheme, is AccessTokenRequired (a bare challenge)', () => {
    for (const authorization of [undefined, '', 'Basic YTpi', 'Token token="abc"', 'Negotiate xyz']) {
      const error = errorOf(() => findAccessToken(parts({ authorization }), STRICT));
      assert.ok(error instanceof AccessTokenRequired, String(authorization));
      assert.ok(error instanceof InvalidToken);
    }
  });

  test('§3.1: a malformed credential in an accepted scheme is invalid_request', () => {
    for (const authorization of ['Bearer', 'Bearer a b', 'Bearer a=b', 'Bearer "a"', 'Bearer é']) {
      assert.ok(errorOf(() => findAccessToken(parts({ authorization }), STRICT)) instanceof InvalidRequest, authorization);
    }
    for (const authorization of ['Token abc', 'Token token=', 'Token token="a b"', 'Token secret="abc"']) {
      assert.ok(errorOf(() => findAccessToken(parts({ authorization }), LENIENT)) instanceof InvalidRequest, authorization);
    }
  });

  test('GoCD: Token token="..." (quoted or not) where the preset lists the scheme', () => {
    assert.deepEqual(findAccessToken(parts({ authorization: 'Token token="abc"' }), LENIENT), { token: 'abc', location: 'token' });
    assert.deepEqual(findAccessToken(parts({ authorization: 'token token=abc' }), LENIENT), { token: 'abc', location: 'token' });
  });

  test('§2.2, §2.3: the form-body and query parameters are refused unless allowed', () => {
    const form = { params: { access_token: 'abc' }, repeated: [] };
    const post = parts({ method: 'POST', mediaType: 'application/x-www-form-urlencoded', form });
    assert.ok(errorOf(() => findAccessToken(post, STRICT)) instanceof InvalidRequest);
    assert.deepEqual(findAccessToken(post, LENIENT), { token: 'abc', location: 'form' });
    const query = parts({ query: { params: { access_token: 'abc' }, repeated: [] } });
    assert.ok(errorOf(() => findAccessToken(query, STRICT)) instanceof InvalidRequest);
    assert.deepEqual(findAccessToken(query, LENIENT), { token: 'abc', location: 'query' });
  });

  test('§2.2: the body form needs a form-encoded body and a method with body semantics (never GET)', () => {
    const form = { params: { access_token: 'abc' }, repeated: [] };
    assert.ok(errorOf(() => findAccessToken(parts({ method: 'GET', mediaType: 'application/x-www-form-urlencoded', form }), LENIENT)) instanceof InvalidRequest);
    assert.ok(errorOf(() => findAccessToken(parts({ method: 'POST', mediaType: 'multipart/form-data', form }), LENIENT)) instanceof InvalidRequest);
  });

  test('§2: more than one method, or a repeated parameter, is invalid_request', () => {
    const form = { params: { access_token: 'abc' }, repeated: [] };
    const both = parts({ authorization: 'Bearer abc', method: 'POST', mediaType: 'application/x-www-form-urlencoded', form });
    assert.ok(errorOf(() => findAccessToken(both, LENIENT)) instanceof InvalidRequest);
    const twice = parts({ query: { params: { access_token: 'abc' }, repeated: ['access_token'] } });
    assert.ok(errorOf(() => findAccessToken(twice, LENIENT)) instanceof InvalidRequest);
    assert.ok(errorOf(() => findAccessToken(parts({ query: { params: { access_token: '' }, repeated: [] } }), LENIENT)) instanceof InvalidToken);
  });
});

describe('authenticateAccessToken', () => {
  const ISSUER = 'https://latchkey.test';
  const now = Date.now();
  let key: SigningKey;
  const records = new Map<string, unknown>();
  const store = { findAccessToken: async (hash: string) => records.get(hash) as never };
  const deps = (online = false) => ({
    store,
    keys: async (kid: string) => (kid === key.kid ? importJWK(key.publicJwk as JWK, 'ES256') : undefined),
    issuer: ISSUER,
    audience: ISSUER,
    now,
    online,
  });
  const sign = (overrides: Partial<Parameters<typeof signAccessToken>[0]> = {}) =>
    signAccessToken(
      { issuer: ISSUER, audience: ISSUER, subject: 'usr_1', clientId: 'lkc_1', scopes: ['read'], accountId: 'acc_1', issuedAt: now, expiresAt: now + 60_000, ...overrides },
      key,
    );

  before(async () => {
    key = await generateSigningKey(now);
  });

  test('an opaque token: its record, by one lookup of its hash', async () => {
    records.set(hashCredential('lk_at_live'), {
      tokenHash: hashCredential('lk_at_live'), grantId: 'g', clientId: 'lkc_1', userId: null, accountId: null, scopes: ['read'], createdAt: now - 10, expiresAt: now + 10, revokedAt: null,
    });
    const principal = await authenticateAccessToken('lk_at_live', deps());
    assert.deepEqual(principal, { userId: null, accountId: null, clientId: 'lkc_1', scopes: ['read'], format: 'opaque', issuedAt: now - 10, expiresAt: now + 10 });
  });

  test("a user's JWT and a client's own JWT", async () => {
    assert.deepEqual(await authenticateAccessToken(await sign(), deps()), {
      userId: 'usr_1', accountId: 'acc_1', clientId: 'lkc_1', scopes: ['read'], format: 'jwt', issuedAt: Math.floor(now / 1000) * 1000, expiresAt: Math.floor((now + 60_000) / 1000) * 1000,
    });
    const machine = await authenticateAccessToken(await sign({ subject: 'lkc_1', accountId: null }), deps());
    assert.equal(machine.userId, null);
    assert.equal(machine.accountId, null);
    // A user's token always names the account: without it, the token is not one Latchkey issues.
    assert.ok((await caught(() => sign({ accountId: null }).then((token) => authenticateAccessToken(token, deps())))) instanceof InvalidToken);
  });

  test('online: a JWT must also be on record, unrevoked', async () => {
    const token = await sign();
    const offline = await authenticateAccessToken(token, deps(false));
    assert.equal(offline.format, 'jwt');
    assert.ok((await caught(() => authenticateAccessToken(token, deps(true)))) instanceof InvalidToken, 'not on record');
    records.set(hashCredential(token), { tokenHash: hashCredential(token), grantId: 'g', clientId: 'lkc_1', userId: 'usr_1', accountId: 'acc_1', scopes: ['read'], createdAt: now, expiresAt: now + 60_000, revokedAt: null });
    assert.equal((await authenticateAccessToken(token, deps(true))).userId, 'usr_1');
    records.set(hashCredential(token), { ...(records.get(hashCredential(token)) as object), revokedAt: now });
    const revoked = await caught(() => authenticateAccessToken(token, deps(true)));
    assert.equal((revoked as InvalidToken).detail, 'access token revoked');
  });
});

describe('authorizationServerMetadata (RFC 8414 §2)', () => {
  const input = {
    issuer: 'https://as.example',
    authorizationPath: '/authorize',
    tokenPath: '/token',
    revocationPath: '/revoke',
    introspectionPath: '/introspect',
    jwksPath: '/jwks',
    grantTypes: ['authorization_code'],
    tokenEndpointAuthMethods: ['client_secret_post' as const, 'none' as const],
    introspectionAuthMethods: ['client_secret_post' as const],
    scopes: ['a'],
  };

  test('"plain" is advertised only where the preset allows it', () => {
    assert.deepEqual(authorizationServerMetadata({ ...input, pkce: { requiredFor: 'all', allowPlain: false } }).code_challenge_methods_supported, ['S256']);
    assert.deepEqual(authorizationServerMetadata({ ...input, pkce: { requiredFor: 'all', allowPlain: true } }).code_challenge_methods_supported, ['S256', 'plain']);
  });

  test('endpoints are absolute URLs on the issuer; iss in responses is announced', () => {
    const document = authorizationServerMetadata({ ...input, pkce: { requiredFor: 'public', allowPlain: false } });
    assert.equal(document.authorization_endpoint, 'https://as.example/authorize');
    assert.equal(document.token_endpoint, 'https://as.example/token');
    assert.equal(document.jwks_uri, 'https://as.example/jwks');
    assert.deepEqual(document.response_types_supported, ['code']);
    assert.equal(document.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(document.introspection_endpoint_auth_methods_supported, ['client_secret_post']);
  });
});

/** Bearer tokens at protected resources (RFC 6750). */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { bearerTokenFrom, findAccessToken, type ResourceRequestParts, requireScopes, validateAccessToken } from '../../src/core/bearer.js';
import { InsufficientScope, InvalidRequest, InvalidToken } from '../../src/core/errors.js';
import type { AccessToken, Client, Grant } from '../../src/core/model.js';
import { hashCredential } from '../../src/core/secrets.js';
import { issueTokens } from '../../src/core/tokens.js';
import { makeClient, makeUser } from '../support/fixtures.js';
import { caught, freshAccount, protocolSettings, useSqliteStore } from './core-fixtures.js';

function assertInvalidToken(error: unknown): void {
  assert.ok(error instanceof InvalidToken, `expected InvalidToken, got ${String(error)}`);
  assert.equal(error.error, 'invalid_token');
  assert.equal(error.status, 401);
}

describe('bearerTokenFrom', () => {
  test('RFC 6750 §2.1: the token is read from "Bearer <token>"', () => {
    assert.equal(bearerTokenFrom('Bearer lk_at_abc'), 'lk_at_abc');
  });

  test('RFC 7235 §2.1: the scheme name is case-insensitive', () => {
    assert.equal(bearerTokenFrom('bearer lk_at_abc'), 'lk_at_abc');
    assert.equal(bearerTokenFrom('BEARER lk_at_abc'), 'lk_at_abc');
    assert.equal(bearerTokenFrom('BeArEr lk_at_abc'), 'lk_at_abc');
  });

  test('RFC 6750 §2.1: every b64token character is accepted, with trailing "=" padding', () => {
    assert.equal(bearerTokenFrom('Bearer aZ09-._~+/=='), 'aZ09-._~+/==');
  });

  test('RFC 6750 §2.1: one or more spaces may follow the scheme; surrounding whitespace is ignored', () => {
    assert.equal(bearerTokenFrom('Bearer   abc'), 'abc');
    assert.equal(bearerTokenFrom('  Bearer abc  '), 'abc');
  });

  test('no header means no token', () => {
    assert.equal(bearerTokenFrom(undefined), undefined);
    assert.equal(bearerTokenFrom(''), undefined);
  });

  test('another scheme, or a scheme without a token, gives no token', () => {
    for (const header of ['Basic YTpi', 'Token abc', 'Bearer', 'Bearer ', 'Bearerabc', 'MAC abc', 'abc']) {
      assert.equal(bearerTokenFrom(header), undefined, header);
    }
  });

  test('RFC 6750 §2.1: characters outside b64token, or "=" before the end, give no token', () => {
    for (const header of ['Bearer a b', 'Bearer a=b', 'Bearer a,b', 'Bearer "abc"', 'Bearer a\tb', 'Bearer é']) {
      assert.equal(bearerTokenFrom(header), undefined, header);
    }
  });
});

describe('findAccessToken with the verified JWTs', () => {
  const policy = { schemes: ['bearer' as const], formBodyToken: false, queryToken: false };
  const jwt = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ1c3JfYWRhIn0.c2lnbmF0dXJl';
  const parts = (authorization: string): ResourceRequestParts => ({
    authorization,
    method: 'GET',
    mediaType: undefined,
    query: { params: {}, repeated: [] },
    form: undefined,
  });
  const verified = () => {
    const asked: string[] = [];
    const has = (token: string) => {
      asked.push(token);
      return token === jwt;
    };
    return { asked, has };
  };

  test('a JWT verified before, sent as "Bearer <token>", is read without the scan, as the scan reads it', () => {
    const known = verified();
    assert.deepEqual(findAccessToken(parts(`Bearer ${jwt}`), policy, known), { token: jwt, location: 'bearer' });
    assert.deepEqual(known.asked, [jwt]);
    assert.deepEqual(findAccessToken(parts(`Bearer ${jwt}`), policy), { token: jwt, location: 'bearer' });
  });

  test('any other header goes through the scan: another spelling of the scheme, more spaces, text after the token', async () => {
    for (const header of [`bearer ${jwt}`, `Bearer   ${jwt}`, `  Bearer ${jwt}  `]) {
      assert.deepEqual(findAccessToken(parts(header), policy, verified()), { token: jwt, location: 'bearer' });
    }
    for (const header of [`Bearer ${jwt} x`, `Bearer ${jwt},`, `Bearer ${jwt}"`]) {
      assert.ok((await caught(() => findAccessToken(parts(header), policy, verified()))) instanceof InvalidRequest, header);
    }
  });
});

describe('validateAccessToken (sqlite)', () => {
  const db = useSqliteStore();
  const settings = protocolSettings();
  let client: Client;
  let userId: string;

  before(async () => {
    ({ client } = await makeClient(db.store));
    ({
      user: { id: userId },
    } = await makeUser(db.store));
  });

  async function issue(now: number): Promise<{ token: string; grant: Grant; expiresAt: number }> {
    const accountId = await freshAccount(db.store, userId, now);
    const grant = await db.store.saveGrant({ clientId: client.id, userId, accountId, scopes: ['profile', 'read'], partnerId: null }, now);
    const issued = await issueTokens(db.store, { grant, client, scopes: ['profile', 'read'], settings, now });
    if (typeof issued === 'string') throw new Error(`not issued: ${issued}`);
    return { token: issued.accessToken, grant, expiresAt: now + issued.expiresIn * 1000 };
  }

  test('RFC 6750 §2: a live token is accepted and its record returned', async () => {
    const now = Date.now();
    const { token, grant } = await issue(now);
    const record = await validateAccessToken(token, db.store, now + 1000);
    assert.equal(record.grantId, grant.id);
    assert.equal(record.clientId, client.id);
    assert.equal(record.userId, userId);
    assert.deepEqual(record.scopes, ['profile', 'read']);
  });

  test('a token minted before tokens carried their time (prefix and 43 characters, stored by its hash alone) is still accepted', async () => {
    const now = Date.now();
    const { token, grant } = await issue(now);
    const stored = await db.store.findAccessToken(hashCredential(token));
    assert.ok(stored);
    const legacy = `lk_at_${token.slice(-43)}`;
    await db.store.insertAccessToken({ ...stored, tokenHash: createHash('sha256').update(legacy).digest('base64url') });
    assert.equal((await validateAccessToken(legacy, db.store, now + 1000)).grantId, grant.id);
  });

  test('RFC 6750 §3.1: no token is invalid_token', async () => {
    assertInvalidToken(await caught(() => validateAccessToken(undefined, db.store, Date.now())));
  });

  test('RFC 6750 §3.1: an unknown token is invalid_token', async () => {
    assertInvalidToken(await caught(() => validateAccessToken('lk_at_doesnotexist', db.store, Date.now())));
  });

  test('RFC 6750 §3.1: the stored hash is not itself a valid token', async () => {
    const now = Date.now();
    const { token } = await issue(now);
    assertInvalidToken(await caught(() => validateAccessToken(hashCredential(token), db.store, now)));
  });

  test('RFC 6750 §3.1: a revoked token is invalid_token', async () => {
    const now = Date.now();
    const { token, grant } = await issue(now);
    await db.store.revokeGrant(grant.id, now + 10, 'test');
    const error = await caught(() => validateAccessToken(token, db.store, now + 20));
    assertInvalidToken(error);
    assert.equal((error as InvalidToken).detail, 'access token revoked');
  });

  test('RFC 6750 §3.1: an expired token is invalid_token from the moment it expires', async () => {
    const now = Date.now();
    const { token, expiresAt } = await issue(now);
    assert.ok(await validateAccessToken(token, db.store, expiresAt - 1));
    const error = await caught(() => validateAccessToken(token, db.store, expiresAt));
    assertInvalidToken(error);
    assert.equal((error as InvalidToken).detail, 'access token expired');
  });

  test('the public description does not say why a token was refused', async () => {
    const now = Date.now();
    const { token, expiresAt } = await issue(now);
    const unknown = await caught(() => validateAccessToken('lk_at_unknown', db.store, now));
    const expired = await caught(() => validateAccessToken(token, db.store, expiresAt + 1));
    assert.equal((unknown as InvalidToken).description, (expired as InvalidToken).description);
  });
});

describe('requireScopes', () => {
  const token: AccessToken = {
    tokenHash: 'h',
    grantId: 'grt_x',
    clientId: 'lkc_x',
    userId: 'usr_x',
    accountId: 'acc_x',
    scopes: ['profile', 'read'],
    createdAt: 0,
    expiresAt: 1,
    revokedAt: null,
  };

  test('a token carrying every required scope passes', () => {
    assert.doesNotThrow(() => requireScopes(token, ['read']));
    assert.doesNotThrow(() => requireScopes(token, ['profile', 'read']));
    assert.doesNotThrow(() => requireScopes(token, []));
  });

  test('RFC 6750 §3.1: a missing scope is insufficient_scope (403) naming the scope the resource requires', () => {
    assert.throws(
      () => requireScopes(token, ['read', 'write']),
      (error: unknown) => {
        assert.ok(error instanceof InsufficientScope);
        assert.equal(error.error, 'insufficient_scope');
        assert.equal(error.status, 403);
        assert.equal(error.scope, 'read write');
        return true;
      },
    );
  });

  test('scope names are compared exactly', () => {
    assert.throws(() => requireScopes(token, ['READ']), InsufficientScope);
    assert.throws(() => requireScopes(token, ['rea']), InsufficientScope);
  });
});

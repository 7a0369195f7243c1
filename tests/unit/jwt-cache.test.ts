/** The verified-JWT cache of the resource guard: a hit skips the signature check, and only the signature check. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { importJWK, type JWK } from 'jose';
import { type AccessTokenValidation, authenticateAccessToken, knownJwtPrincipal } from '../../src/core/bearer.js';
import { InvalidToken } from '../../src/core/errors.js';
import { generateSigningKey, signAccessToken, VerifiedTokenCache, verifyAccessToken } from '../../src/core/jwt.js';
import type { SigningKey } from '../../src/core/model.js';
import { caught } from './core-fixtures.js';

const ISSUER = 'https://latchkey.test';
const AUDIENCE = 'https://api.latchkey.test';
const NOW = 1_750_000_000_000;

async function issue(key: SigningKey, subject = 'usr_ada'): Promise<string> {
  return signAccessToken(
    { issuer: ISSUER, audience: AUDIENCE, subject, clientId: 'lkc_app', scopes: ['read'], accountId: 'acc_1', issuedAt: NOW, expiresAt: NOW + 3600_000 },
    key,
  );
}

const publishing = (published: SigningKey, as: SigningKey = published) => async (kid: string) =>
  kid === as.kid ? importJWK(published.publicJwk as JWK, 'ES256') : undefined;

function verify(token: string, keys: ReturnType<typeof publishing>, now: number, cache: VerifiedTokenCache) {
  return verifyAccessToken(token, { keys, issuer: ISSUER, audience: AUDIENCE, now, cache });
}

test('a verified token is served from the cache: the signature is not checked again', async () => {
  const key = await generateSigningKey(NOW);
  const other = await generateSigningKey(NOW);
  const token = await issue(key);
  const cache = new VerifiedTokenCache();
  // Publishing the wrong public key under the token's kid makes a real check fail...
  assert.ok((await caught(() => verify(token, publishing(other, key), NOW + 1000, new VerifiedTokenCache()))) instanceof InvalidToken);
  // ...so a success with it proves the cached result was used.
  const first = await verify(token, publishing(key), NOW + 1000, cache);
  const again = await verify(token, publishing(other, key), NOW + 2000, cache);
  assert.deepEqual(again, first);
});

test('a cached token is refused once it expires, or once its key is no longer published', async () => {
  const key = await generateSigningKey(NOW);
  const token = await issue(key);
  const cache = new VerifiedTokenCache();
  await verify(token, publishing(key), NOW + 1000, cache);
  assert.equal(cache.has(token), true);
  const expired = await caught(() => verify(token, publishing(key), NOW + 3600_000, cache));
  assert.ok(expired instanceof InvalidToken);
  assert.equal(cache.get(token, NOW + 3600_000), undefined);
  // Gone, not just refused: the entry found last is forgotten with it.
  assert.equal(cache.has(token), false);

  const fresh = await issue(key, 'usr_grace');
  await verify(fresh, publishing(key), NOW + 1000, cache);
  const dropped = await caught(() => verify(fresh, async () => undefined, NOW + 2000, cache));
  assert.ok(dropped instanceof InvalidToken);
});

test('the cache is bounded: the oldest entry goes first', async () => {
  const key = await generateSigningKey(NOW);
  const cache = new VerifiedTokenCache(2);
  const tokens = await Promise.all(['a', 'b', 'c'].map((subject) => issue(key, subject)));
  for (const token of tokens) await verify(token, publishing(key), NOW + 1000, cache);
  assert.equal(cache.get(tokens[0] as string, NOW + 1000), undefined);
  assert.equal(cache.get(tokens[1] as string, NOW + 1000)?.subject, 'b');
  assert.equal(cache.get(tokens[2] as string, NOW + 1000)?.subject, 'c');
  assert.throws(() => new VerifiedTokenCache(0), TypeError);
});

test('an entry found just before it is pushed out is not served after', async () => {
  const key = await generateSigningKey(NOW);
  const cache = new VerifiedTokenCache(2);
  const [first, second, third] = (await Promise.all(['a', 'b', 'c'].map((subject) => issue(key, subject)))) as [string, string, string];
  await verify(first, publishing(key), NOW + 1000, cache);
  await verify(second, publishing(key), NOW + 1000, cache);
  // Found last: the cache remembers this entry...
  assert.equal(cache.get(first, NOW + 1000)?.subject, 'a');
  // ...until a third token pushes it out.
  await verify(third, publishing(key), NOW + 1000, cache);
  assert.equal(cache.has(first), false);
  assert.equal(cache.get(first, NOW + 1000), undefined);
  assert.equal(cache.get(third, NOW + 1000)?.subject, 'c');
});

test('the same text in another string is found; another token of the same length is not', async () => {
  const key = await generateSigningKey(NOW);
  const cache = new VerifiedTokenCache();
  const token = await issue(key, 'usr_ada');
  const other = await issue(key, 'usr_bob');
  assert.equal(other.length, token.length);
  await verify(token, publishing(key), NOW + 1000, cache);
  assert.equal(cache.get(token, NOW + 1000)?.subject, 'usr_ada');
  // A copy built character by character is a string of its own with the same text.
  const copy = [...token].join('');
  assert.equal(cache.get(copy, NOW + 1000)?.subject, 'usr_ada');
  assert.equal(cache.has(other), false);
  assert.equal(cache.get(other, NOW + 1000), undefined);
  // An opaque token (no dot) is never a hit.
  assert.equal(cache.has('lkat_0123456789abcdef'), false);
});

test('a token that copies a cached token\'s signature is not served from the cache: it is checked in full and refused', async () => {
  const key = await generateSigningKey(NOW);
  const token = await issue(key);
  const cache = new VerifiedTokenCache();
  await verify(token, publishing(key), NOW + 1000, cache);
  const [header, payload, signature] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, sub: 'usr_mallory' })).toString('base64url');
  const forged = `${header}.${forgedPayload}.${signature}`;
  assert.equal(cache.get(forged, NOW + 1000), undefined);
  assert.ok((await caught(() => verify(forged, publishing(key), NOW + 1000, cache))) instanceof InvalidToken);
  // The genuine token is still served.
  assert.equal(cache.get(token, NOW + 1000)?.subject, 'usr_ada');
});

test('concurrent requests with a token not yet cached share one verification, a success or a refusal; a refusal is not kept', async () => {
  const key = await generateSigningKey(NOW);
  const other = await generateSigningKey(NOW);
  const cache = new VerifiedTokenCache();
  // The key resolver runs once per verification (the signature's key) and once per cached hit (still published?).
  const counting = (resolve: ReturnType<typeof publishing>) => {
    const counted = async (kid: string) => {
      counted.calls += 1;
      return resolve(kid);
    };
    counted.calls = 0;
    return counted;
  };

  const token = await issue(key);
  const keys = counting(publishing(key));
  const results = await Promise.all(Array.from({ length: 8 }, () => verify(token, keys, NOW + 1000, cache)));
  assert.equal(keys.calls, 1);
  for (const result of results) assert.equal(result.subject, 'usr_ada');

  const refused = await issue(key, 'usr_refused');
  const wrong = counting(publishing(other, key));
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => verify(refused, wrong, NOW + 1000, cache)));
  assert.equal(wrong.calls, 1);
  for (const outcome of outcomes) assert.ok(outcome.status === 'rejected' && outcome.reason instanceof InvalidToken);
  // Once settled, the refusal is gone: with the right key published, the same text verifies.
  assert.equal((await verify(refused, publishing(key), NOW + 1000, cache)).subject, 'usr_refused');
});

test('a request that joins a running verification is refused if the token has expired by its own time', async () => {
  const key = await generateSigningKey(NOW);
  const cache = new VerifiedTokenCache();
  const token = await issue(key);
  // The first request verifies just before expiry; the second joins it just after.
  const first = verify(token, publishing(key), NOW + 3600_000 - 1, cache);
  const late = caught(() => verify(token, publishing(key), NOW + 3600_000, cache));
  assert.equal((await first).subject, 'usr_ada');
  assert.ok((await late) instanceof InvalidToken);
});

describe('knownJwtPrincipal: the guard\'s answer without a promise', () => {
  /** The validation a guard passes, with no database: an offline JWT check never reaches it. */
  function validation(key: SigningKey, cache: VerifiedTokenCache, overrides: Partial<AccessTokenValidation> = {}): AccessTokenValidation {
    return {
      store: {
        findAccessToken: () => {
          throw new Error('the database was used');
        },
      },
      keys: publishing(key),
      holdsKey: (kid) => kid === key.kid,
      issuer: ISSUER,
      audience: AUDIENCE,
      now: NOW + 1000,
      online: false,
      jwtCache: cache,
      ...overrides,
    };
  }

  test('a token verified before, its key still held: the principal authenticateAccessToken gave', async () => {
    const key = await generateSigningKey(NOW);
    const token = await issue(key);
    const cache = new VerifiedTokenCache();
    assert.equal(knownJwtPrincipal(token, validation(key, cache)), undefined, 'not verified yet');
    const checked = await authenticateAccessToken(token, validation(key, cache));
    assert.deepEqual(knownJwtPrincipal(token, validation(key, cache, { now: NOW + 2000 })), checked);
    assert.equal(checked.userId, 'usr_ada');
    assert.equal(checked.accountId, 'acc_1');
  });

  test('undefined whenever more is to be checked: key no longer held, expired, online, no key set or cache, an opaque token', async () => {
    const key = await generateSigningKey(NOW);
    const token = await issue(key);
    const cache = new VerifiedTokenCache();
    await authenticateAccessToken(token, validation(key, cache));
    assert.ok(knownJwtPrincipal(token, validation(key, cache)));
    assert.equal(knownJwtPrincipal(token, validation(key, cache, { holdsKey: () => false })), undefined, 'its key dropped');
    assert.equal(knownJwtPrincipal(token, validation(key, cache, { online: true })), undefined, 'the revocation check reads the database');
    assert.equal(knownJwtPrincipal(token, validation(key, cache, { holdsKey: undefined })), undefined);
    assert.equal(knownJwtPrincipal(token, validation(key, cache, { jwtCache: undefined })), undefined);
    assert.equal(knownJwtPrincipal('lk_at_opaque', validation(key, cache)), undefined);
    assert.equal(knownJwtPrincipal(token, validation(key, cache, { now: NOW + 3600_000 })), undefined, 'expired');
    assert.equal(cache.has(token), false, 'and forgotten');
  });

  test('a token refused after its signature is refused at once too: a user token without an account', async () => {
    const key = await generateSigningKey(NOW);
    const cache = new VerifiedTokenCache();
    const token = await signAccessToken(
      { issuer: ISSUER, audience: AUDIENCE, subject: 'usr_ada', clientId: 'lkc_app', scopes: ['read'], accountId: null, issuedAt: NOW, expiresAt: NOW + 3600_000 },
      key,
    );
    assert.ok((await caught(() => authenticateAccessToken(token, validation(key, cache)))) instanceof InvalidToken);
    assert.equal(cache.has(token), true, 'its signature was good');
    assert.ok((await caught(async () => knownJwtPrincipal(token, validation(key, cache)))) instanceof InvalidToken);
  });
});

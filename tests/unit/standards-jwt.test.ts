/** JWT access tokens (RFC 9068) and signing keys, in the core, without HTTP. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { calculateJwkThumbprint, importJWK, type JWK, SignJWT, UnsecuredJWT } from 'jose';
import { InvalidToken } from '../../src/core/errors.js';
import { generateSigningKey, jwkSet, looksLikeJwt, signAccessToken, verifyAccessToken } from '../../src/core/jwt.js';
import type { SigningKey } from '../../src/core/model.js';
import { hashCredential } from '../../src/core/secrets.js';
import {
  ensureSigningKey,
  pruneSigningKeys,
  RETIRED_KEY_MIN_PUBLICATION_MS,
  rotateIfDue,
  rotateSigningKey,
  VerificationKeys,
} from '../../src/core/signing-keys.js';
import { rotateKeys } from '../../src/services/keys.js';
import { makeClient } from '../support/fixtures.js';
import { caught, useSqliteStore } from './core-fixtures.js';

const ISSUER = 'https://latchkey.test';
const AUDIENCE = 'https://api.latchkey.test';
const NOW = 1_750_000_000_000;

function claims(overrides: Partial<Parameters<typeof signAccessToken>[0]> = {}): Parameters<typeof signAccessToken>[0] {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    subject: 'usr_ada',
    clientId: 'lkc_app',
    scopes: ['profile', 'read'],
    accountId: 'acc_1',
    issuedAt: NOW,
    expiresAt: NOW + 3600_000,
    ...overrides,
  };
}

async function refused(token: string, key: SigningKey, options: Partial<{ issuer: string; audience: string; now: number }> = {}): Promise<string> {
  const error = await caught(() =>
    verifyAccessToken(token, {
      keys: async (kid) => (kid === key.kid ? importJWK(key.publicJwk as JWK, 'ES256') : undefined),
      issuer: ISSUER,
      audience: AUDIENCE,
      now: NOW + 1000,
      ...options,
    }),
  );
  assert.ok(error instanceof InvalidToken, `expected InvalidToken, got ${String(error)}`);
  assert.equal(error.status, 401);
  return error.detail ?? '';
}

describe('signing keys and JWT access tokens', () => {
  let key: SigningKey;
  const resolver = (signing: SigningKey) => async (kid: string) => (kid === signing.kid ? importJWK(signing.publicJwk as JWK, 'ES256') : undefined);

  before(async () => {
    key = await generateSigningKey(NOW);
  });

  test('a key is ES256 on P-256; its kid is the RFC 7638 thumbprint; the public JWK has no private member', async () => {
    assert.equal(key.alg, 'ES256');
    assert.equal(key.publicJwk.crv, 'P-256');
    assert.equal(key.kid, await calculateJwkThumbprint(key.publicJwk as JWK));
    assert.equal('d' in key.publicJwk, false);
    assert.equal(typeof key.privateJwk.d, 'string');
    const published = jwkSet([key]);
    assert.deepEqual(Object.keys(published.keys[0] ?? {}).sort(), ['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    assert.ok(!JSON.stringify(published).includes(key.privateJwk.d as string));
  });

  test('RFC 9068 §4: a token signed and verified round trip gives back every claim', async () => {
    const token = await signAccessToken(claims(), key);
    assert.ok(looksLikeJwt(token));
    assert.equal(looksLikeJwt('lk_at_abc'), false);
    const verified = await verifyAccessToken(token, { keys: resolver(key), issuer: ISSUER, audience: AUDIENCE, now: NOW + 1000 });
    assert.deepEqual(
      { ...verified, jti: typeof verified.jti },
      {
        kid: key.kid,
        subject: 'usr_ada',
        clientId: 'lkc_app',
        scopes: ['profile', 'read'],
        accountId: 'acc_1',
        issuedAt: NOW,
        expiresAt: NOW + 3600_000,
        jti: 'string',
      },
    );
    const machine = await signAccessToken(claims({ subject: 'lkc_app', accountId: null, scopes: [] }), key);
    const payload = JSON.parse(Buffer.from(machine.split('.')[1] as string, 'base64url').toString());
    assert.equal('account_id' in payload, false);
    assert.equal('scope' in payload, false);
  });

  test('RFC 9068 §4: wrong issuer, wrong audience, expiry, an unknown or missing kid are refused', async () => {
    const token = await signAccessToken(claims(), key);
    assert.match(await refused(token, key, { issuer: 'https://other.test' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    assert.match(await refused(token, key, { audience: 'https://other.test' }), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    assert.match(await refused(token, key, { now: NOW + 3600_000 }), /ERR_JWT_EXPIRED/);
    const other = await generateSigningKey(NOW);
    assert.match(await refused(token, other), /unknown key/);
    const noKid = await new SignJWT({ client_id: 'lkc_app' })
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('usr_ada')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .setJti('x')
      .sign(await importJWK(key.privateJwk as JWK, 'ES256'));
    assert.match(await refused(noKid, key), /unknown key/);
  });

  test('RFC 9068 §4: "typ" must be at+jwt (an ID token or other JWT signed by the same key is refused)', async () => {
    const privateKey = await importJWK(key.privateJwk as JWK, 'ES256');
    const build = (typ: string | undefined) =>
      new SignJWT({ client_id: 'lkc_app' })
        .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...(typ ? { typ } : {}) })
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setSubject('usr_ada')
        .setIssuedAt(NOW / 1000)
        .setExpirationTime(NOW / 1000 + 60)
        .setJti('x')
        .sign(privateKey);
    assert.match(await refused(await build('JWT'), key), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    assert.match(await refused(await build(undefined), key), /ERR_JWT_CLAIM_VALIDATION_FAILED/);
    // "application/at+jwt" is the same media type.
    const full = await build('application/at+jwt');
    assert.equal((await verifyAccessToken(full, { keys: resolver(key), issuer: ISSUER, audience: AUDIENCE, now: NOW + 1000 })).clientId, 'lkc_app');
  });

  test('only ES256 is accepted: "none" and HMAC tokens are refused', async () => {
    const unsecured = new UnsecuredJWT({ client_id: 'lkc_app', sub: 'usr_ada', jti: 'x', iat: NOW / 1000, exp: NOW / 1000 + 60 })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .encode();
    assert.match(await refused(unsecured.replace(/\.$/, '.e30'), key), /./);
    const hmac = await new SignJWT({ client_id: 'lkc_app' })
      .setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('usr_ada')
      .setIssuedAt(NOW / 1000)
      .setExpirationTime(NOW / 1000 + 60)
      .setJti('x')
      .sign(new TextEncoder().encode('a'.repeat(32)));
    assert.match(await refused(hmac, key), /ERR_JOSE_ALG_NOT_ALLOWED/);
  });

  test('a payload changed after signing is refused', async () => {
    const [header, payload, signature] = (await signAccessToken(claims(), key)).split('.') as [string, string, string];
    const widened = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), scope: 'admin' })).toString('base64url');
    assert.match(await refused(`${header}.${widened}.${signature}`, key), /ERR_JWS_SIGNATURE_VERIFICATION_FAILED/);
  });
});

describe('VerificationKeys: public keys in memory', () => {
  /** A key set over a source whose keys the test sets, counting its lookups, on a clock the test moves. */
  async function keySet() {
    const source = {
      first: await generateSigningKey(NOW),
      second: await generateSigningKey(NOW),
      stored: [] as SigningKey[],
      lists: 0,
      now: NOW,
    };
    source.stored = [source.first];
    const keys = new VerificationKeys(
      {
        listSigningKeys: async () => {
          source.lists += 1;
          return source.stored;
        },
      },
      { now: () => source.now, refreshMs: 60_000 },
    );
    return { source, keys };
  }

  test('a known kid costs no lookup; an unknown kid reloads; the background refresh drops removed keys', async () => {
    const { source, keys } = await keySet();
    const { first, second } = source;
    assert.ok(await keys.get(first.kid));
    assert.equal(source.lists, 1);
    for (let i = 0; i < 5; i++) assert.ok(await keys.get(first.kid));
    assert.equal(source.lists, 1, 'a known kid needs no database');
    assert.equal(await keys.get(second.kid), undefined);
    assert.equal(source.lists, 2);
    source.stored = [first, second];
    assert.ok(await keys.get(second.kid), 'a key added by a rotation elsewhere is found at once');
    assert.equal(source.lists, 3);
    source.stored = [second];
    source.now += 61_000;
    assert.ok(await keys.get(first.kid), 'still served while the refresh runs');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.lists, 4);
    assert.equal(await keys.get(first.kid), undefined, 'a pruned key is gone after the refresh');
  });

  test('holds: answered from memory, never a lookup of its own; a due refresh starts, and a dropped key is then no longer held', async () => {
    const { source, keys } = await keySet();
    const { first, second } = source;
    assert.equal(keys.holds(first.kid), false, 'nothing loaded yet');
    assert.equal(source.lists, 0, 'and nothing looked up for it');
    assert.ok(await keys.get(first.kid));
    assert.equal(keys.holds(first.kid), true);
    assert.equal(keys.holds(second.kid), false);
    assert.equal(source.lists, 1, 'an unknown kid is looked up only by get');
    source.stored = [second];
    source.now += 61_000;
    assert.equal(keys.holds(first.kid), true, 'still held while the refresh runs');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(source.lists, 2, 'the refresh was started');
    assert.equal(keys.holds(first.kid), false, 'a dropped key is no longer held');
    assert.equal(keys.holds(second.kid), true);
  });
});

describe('the signing key lifecycle (sqlite)', () => {
  const db = useSqliteStore();

  test('the first key is created on first need, once', async () => {
    const first = await ensureSigningKey(db.store, NOW);
    const again = await ensureSigningKey(db.store, NOW + 1);
    assert.equal(again.kid, first.kid);
    assert.equal((await db.store.listSigningKeys()).length, 1);
    assert.deepEqual((await db.store.activeSigningKey())?.privateJwk, first.privateJwk, 'the private key round-trips through the database');
  });

  test('a scheduled rotation happens once even when two instances fire together', async () => {
    const active = (await db.store.activeSigningKey()) as SigningKey;
    const winner = await rotateSigningKey(db.store, NOW + 10, { expectedActiveKid: active.kid });
    const loser = await rotateSigningKey(db.store, NOW + 10, { expectedActiveKid: active.kid });
    assert.ok(winner);
    assert.equal(loser, undefined);
    const keys = await db.store.listSigningKeys();
    assert.equal(keys.length, 2, 'the loser stored nothing');
    assert.equal((await db.store.activeSigningKey())?.kid, winner.kid);
    assert.equal(keys.find((key) => key.kid === active.kid)?.retiredAt, NOW + 10);
  });

  test('rotateIfDue rotates only a key older than the interval', async () => {
    const active = (await db.store.activeSigningKey()) as SigningKey;
    const early = await rotateIfDue(db.store, active.createdAt + 59_000, 60);
    assert.equal(early.rotated, undefined);
    const due = await rotateIfDue(db.store, active.createdAt + 60_000, 60);
    assert.ok(due.rotated);
    assert.notEqual(due.rotated.kid, active.kid);
  });

  test('a retired key is pruned only when retired long enough and no unexpired token it signed remains', async () => {
    // Start from the active key alone: the keys retired by the tests above go.
    await db.store.pruneSigningKeys(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
    const old = (await db.store.activeSigningKey()) as SigningKey;
    const rotatedAt = NOW + 100_000;
    const next = (await rotateSigningKey(db.store, rotatedAt)) as SigningKey;
    // A token signed by the old key, live until rotatedAt + 2 h.
    const { client } = await makeClient(db.store);
    const grant = await db.store.saveMachineGrant({ clientId: client.id, scopes: [], partnerId: null }, NOW);
    await db.store.insertAccessToken({
      tokenHash: hashCredential('a.b.c'),
      grantId: grant.id,
      clientId: client.id,
      userId: null,
      accountId: null,
      scopes: [],
      createdAt: rotatedAt,
      expiresAt: rotatedAt + 2 * 3600_000,
      revokedAt: null,
      signingKeyId: old.kid,
    });
    assert.deepEqual(await pruneSigningKeys(db.store, rotatedAt + 1000), [], 'retired too recently');
    assert.deepEqual(await pruneSigningKeys(db.store, rotatedAt + RETIRED_KEY_MIN_PUBLICATION_MS + 1000), [], 'its token is live');
    assert.deepEqual(await pruneSigningKeys(db.store, rotatedAt + 2 * 3600_000), [old.kid]);
    assert.deepEqual((await db.store.listSigningKeys()).map((key) => key.kid), [next.kid], 'the active key is never pruned');
  });

  test('a rotation that drops the previous keys deletes them at once and revokes what they signed', async () => {
    const current = (await db.store.activeSigningKey()) as SigningKey;
    const { client } = await makeClient(db.store);
    const grant = await db.store.saveMachineGrant({ clientId: client.id, scopes: [], partnerId: null }, NOW);
    const signed = { grantId: grant.id, clientId: client.id, userId: null, accountId: null, scopes: [], createdAt: Date.now(), revokedAt: null };
    await db.store.insertAccessToken({ ...signed, tokenHash: hashCredential('x.y.1'), expiresAt: Date.now() + 3600_000, signingKeyId: current.kid });
    await db.store.insertAccessToken({ ...signed, tokenHash: hashCredential('lk_at_opaque'), expiresAt: Date.now() + 3600_000, signingKeyId: null });
    const rotated = await rotateKeys(db.store, Date.now(), { dropPrevious: true });
    assert.deepEqual(rotated.dropped, [current.kid]);
    assert.equal(rotated.revokedTokens, 1);
    assert.deepEqual((await db.store.listSigningKeys()).map((key) => key.kid), [rotated.kid]);
    assert.notEqual((await db.store.findAccessToken(hashCredential('x.y.1')))?.revokedAt ?? null, null);
    assert.equal((await db.store.findAccessToken(hashCredential('lk_at_opaque')))?.revokedAt, null, 'opaque tokens are untouched');
  });
});

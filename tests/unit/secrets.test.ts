/** Credentials: prefixed 256-bit random values stored as SHA-256 hashes. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CREDENTIAL_PREFIX,
  type CredentialKind,
  hashCredential,
  hashesEqual,
  newCredential,
  newId,
} from '../../src/core/secrets.js';

const KINDS = Object.keys(CREDENTIAL_PREFIX) as CredentialKind[];

describe('newCredential', () => {
  test('each kind carries its own prefix, so a secret scanner can tell them apart', () => {
    assert.equal(CREDENTIAL_PREFIX.accessToken, 'lk_at_');
    assert.equal(CREDENTIAL_PREFIX.refreshToken, 'lk_rt_');
    assert.equal(CREDENTIAL_PREFIX.code, 'lk_ac_');
    assert.equal(CREDENTIAL_PREFIX.clientSecret, 'lk_cs_');
    assert.equal(CREDENTIAL_PREFIX.session, 'lk_ss_');
    assert.equal(CREDENTIAL_PREFIX.adminToken, 'lk_adm_');
    assert.equal(new Set(Object.values(CREDENTIAL_PREFIX)).size, KINDS.length);
    for (const kind of KINDS) assert.ok(newCredential(kind).startsWith(CREDENTIAL_PREFIX[kind]), kind);
  });

  test('RFC 6749 §10.10: the random part is 256 bits, as 43 base64url characters after the prefix', () => {
    for (const kind of KINDS) {
      const value = newCredential(kind);
      const random = value.slice(CREDENTIAL_PREFIX[kind].length);
      assert.match(random, /^[A-Za-z0-9_-]{43}$/, kind);
      assert.equal(Buffer.from(random, 'base64url').length, 32, kind);
    }
  });

  test('RFC 6749 §10.10: values do not repeat over many draws', () => {
    const values = new Set(Array.from({ length: 2000 }, () => newCredential('accessToken')));
    assert.equal(values.size, 2000);
  });

  test('credentials and ids drawn in turn, across many refills of the random pool, are whole and never repeat', () => {
    const drawn = new Set<string>();
    // 3,000 pairs draw 132 KB: the 4 KiB pool refills some 30 times, at every offset.
    for (let index = 0; index < 3000; index += 1) {
      const credential = newCredential('refreshToken').slice(6);
      const id = newId('x_').slice(2);
      assert.equal(Buffer.from(credential, 'base64url').length, 32);
      assert.equal(Buffer.from(id, 'base64url').length, 12);
      drawn.add(credential).add(id);
    }
    assert.equal(drawn.size, 6000);
  });

  test('the random part is not biased towards one character (a crude sanity check of the source)', () => {
    const characters = Array.from({ length: 200 }, () => newCredential('code').slice(6, 48)).join('');
    assert.ok(new Set(characters).size > 55, 'expected most of the 64 base64url characters to appear');
  });
});

describe('hashCredential and hashesEqual', () => {
  test('the hash is deterministic SHA-256 in base64url', () => {
    // SHA-256("abc") from FIPS 180-2, base64url-encoded.
    assert.equal(hashCredential('abc'), 'ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    const credential = newCredential('refreshToken');
    assert.equal(hashCredential(credential), hashCredential(credential));
  });

  test('different credentials hash differently and the hash does not contain the credential', () => {
    const a = newCredential('clientSecret');
    const b = newCredential('clientSecret');
    assert.notEqual(hashCredential(a), hashCredential(b));
    assert.ok(!hashCredential(a).includes(a.slice(6)));
    assert.match(hashCredential(a), /^[A-Za-z0-9_-]{43}$/);
  });

  test('hashesEqual is true only for identical strings', () => {
    const hash = hashCredential('one');
    assert.equal(hashesEqual(hash, hashCredential('one')), true);
    assert.equal(hashesEqual(hash, hashCredential('two')), false);
  });

  test('hashesEqual is false, not an exception, for inputs of different lengths', () => {
    assert.equal(hashesEqual('abc', 'abcd'), false);
    assert.equal(hashesEqual('', 'a'), false);
    assert.equal(hashesEqual('', ''), true);
  });
});

describe('newId', () => {
  test('an id is the prefix followed by 96 random bits', () => {
    const id = newId('grt_');
    assert.match(id, /^grt_[A-Za-z0-9_-]{16}$/);
    assert.notEqual(newId('grt_'), id);
  });
});

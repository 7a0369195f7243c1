/** Credentials: prefixed 256-bit random values stored as SHA-256 hashes. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  CREDENTIAL_PREFIX,
  type CredentialKind,
  hashCredential,
  hashesEqual,
  newCredential,
  newId,
  timeDigits,
} from '../../src/core/secrets.js';

const KINDS = Object.keys(CREDENTIAL_PREFIX) as CredentialKind[];
const TIMED: CredentialKind[] = ['accessToken', 'refreshToken'];

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

  test('RFC 6749 §10.10: the random part is 256 bits, as 43 base64url characters after the prefix (and a token\'s time)', () => {
    for (const kind of KINDS) {
      const value = newCredential(kind);
      const random = value.slice(-43);
      assert.equal(value.length, CREDENTIAL_PREFIX[kind].length + (TIMED.includes(kind) ? 12 : 0) + 43, kind);
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
      const credential = newCredential('refreshToken').slice(18);
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

describe('tokens that carry their time', () => {
  test('access and refresh tokens carry the time they were minted, as 12 hex digits of epoch milliseconds after the prefix', () => {
    for (const kind of TIMED) {
      const before = Date.now();
      const value = newCredential(kind);
      const minted = Number.parseInt(value.slice(6, 18), 16);
      assert.match(value.slice(6, 18), /^[0-9a-f]{12}$/, kind);
      assert.ok(minted >= before && minted <= Date.now(), kind);
    }
  });

  test('the time is the epoch milliseconds in 12 lowercase hex digits, zero-padded, at every boundary of its two halves', () => {
    const times = [0, 1, 0xffffff, 0x1000000, 0x1000001, 0xffffffffff, Date.now(), 1_767_225_600_000, 2 ** 48 - 1];
    for (let i = 0; i < 1000; i++) times.push(Math.floor(Math.random() * 2 ** 48));
    for (const time of times) assert.equal(timeDigits(time), time.toString(16).padStart(12, '0'), String(time));
  });

  test('their stored keys start with that time, so keys sort by time (bytewise, and in a locale\'s collation)', async () => {
    const first = newCredential('refreshToken');
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = newCredential('accessToken');
    const [a, b] = [hashCredential(first), hashCredential(second)];
    assert.equal(a, first.slice(6, 18) + createHash('sha256').update(first).digest('base64url'));
    assert.ok(a < b);
    assert.ok(new Intl.Collator('en').compare(a, b) < 0);
  });

  test('a token minted before tokens carried their time is still stored and found by its hash alone', () => {
    const legacy = `lk_at_${'A'.repeat(43)}`;
    assert.equal(hashCredential(legacy), createHash('sha256').update(legacy).digest('base64url'));
    // Nor does anything else of that length and prefix count as timed unless it is exactly the format.
    assert.equal(hashCredential(`lk_cs_${'0'.repeat(12)}${'A'.repeat(43)}`).length, 43);
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

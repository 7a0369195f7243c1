/** User passwords: strength rules and argon2id hashing. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkPasswordStrength, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from '../../src/core/passwords.js';
import { PASSWORD } from '../support/fixtures.js';

describe('checkPasswordStrength', () => {
  test('a long, varied password is accepted', () => {
    assert.equal(checkPasswordStrength(PASSWORD), undefined);
    assert.equal(checkPasswordStrength(PASSWORD, ['ada', 'Ada', 'Lovelace']), undefined);
  });

  test(`a password shorter than ${MIN_PASSWORD_LENGTH} characters is refused; exactly ${MIN_PASSWORD_LENGTH} is enough`, () => {
    assert.equal(MIN_PASSWORD_LENGTH, 10);
    assert.match(checkPasswordStrength('abcdefghi') ?? '', /at least 10 characters/);
    assert.match(checkPasswordStrength('') ?? '', /at least 10 characters/);
    assert.equal(checkPasswordStrength('abcdefghij'), undefined);
  });

  test('a password longer than 1024 characters is refused; 1024 is accepted', () => {
    const base = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const exactly = base.repeat(40).slice(0, 1024);
    assert.equal(checkPasswordStrength(exactly), undefined);
    assert.match(checkPasswordStrength(`${exactly}x`) ?? '', /at most 1024/);
  });

  test('a password with fewer than five distinct characters is refused', () => {
    for (const password of ['aaaaaaaaaaaa', 'abababababab', 'abcdabcdabcd']) {
      assert.match(checkPasswordStrength(password) ?? '', /less repetitive/, password);
    }
    assert.equal(checkPasswordStrength('abcdeabcde'), undefined);
  });

  test('a password containing the user\'s name or email local part is refused, whatever the case', () => {
    assert.match(checkPasswordStrength('my-LoveLace-2024', ['ada', 'Ada', 'Lovelace']) ?? '', /name or email/);
    assert.match(checkPasswordStrength('xx-ada.lovelace-xx', ['ada.lovelace']) ?? '', /name or email/);
  });

  test('context words shorter than four characters are not held against the password', () => {
    assert.equal(checkPasswordStrength('adamant-river-stone', ['ada', 'Ada']), undefined);
  });
});

describe('hashPassword and verifyPassword', () => {
  test('RFC 9106: the hash is argon2id and verifies the password it was made from', async () => {
    const hash = await hashPassword(PASSWORD);
    assert.match(hash, /^\$argon2id\$/);
    assert.ok(!hash.includes(PASSWORD));
    assert.equal(await verifyPassword(hash, PASSWORD), true);
  });

  test('a wrong password does not verify', async () => {
    const hash = await hashPassword(PASSWORD);
    assert.equal(await verifyPassword(hash, `${PASSWORD}!`), false);
    assert.equal(await verifyPassword(hash, ''), false);
  });

  test('each hash is salted: the same password hashes differently twice', async () => {
    const [first, second] = await Promise.all([hashPassword(PASSWORD), hashPassword(PASSWORD)]);
    assert.notEqual(first, second);
  });

  test('without a stored hash (unknown user) verification is false', async () => {
    assert.equal(await verifyPassword(undefined, PASSWORD), false);
    assert.equal(await verifyPassword(undefined, 'latchkey-timing-equaliser'), false);
  });

  test('a corrupt stored hash is false, not an exception', async () => {
    assert.equal(await verifyPassword('not-a-hash', PASSWORD), false);
    assert.equal(await verifyPassword('', PASSWORD), false);
  });
});

/** Scope strings (RFC 6749 §3.3). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatScope, isScopeToken, isSubset, parseScope } from '../../src/core/scope.js';

/** Every character scope-token allows: %x21 / %x23-5B / %x5D-7E. */
const ALL_SCOPE_CHARS = [0x21, ...range(0x23, 0x5b), ...range(0x5d, 0x7e)].map((code) => String.fromCharCode(code)).join('');

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

describe('parseScope', () => {
  test('RFC 6749 §3.3: an absent scope parameter parses to no scopes (the server then applies its default)', () => {
    assert.deepEqual(parseScope(undefined), []);
  });

  test('RFC 6749 §3.3: a space-delimited list is split into its tokens, in order', () => {
    assert.deepEqual(parseScope('profile read write'), ['profile', 'read', 'write']);
    assert.deepEqual(parseScope('write read'), ['write', 'read']);
  });

  test('RFC 6749 §3.3: every character of the scope-token grammar is accepted', () => {
    assert.equal(ALL_SCOPE_CHARS.length, 1 + (0x5b - 0x23 + 1) + (0x7e - 0x5d + 1));
    assert.deepEqual(parseScope(ALL_SCOPE_CHARS), [ALL_SCOPE_CHARS]);
    assert.deepEqual(parseScope('https://api.example/read urn:x:y'), ['https://api.example/read', 'urn:x:y']);
  });

  test('RFC 6749 §3.3: a token with a double quote or a backslash is malformed', () => {
    assert.equal(parseScope('read "write"'), undefined);
    assert.equal(parseScope('read wr\\ite'), undefined);
  });

  test('RFC 6749 §3.3: control characters, DEL and non-ASCII characters are malformed', () => {
    for (const bad of ['read\twrite', 'read\nwrite', 'read\rwrite', 'read\x00', 'read\x7f', 'réad', 'read\u00a0write']) {
      assert.equal(parseScope(bad), undefined, JSON.stringify(bad));
    }
  });

  test('RFC 6749 §3.3: duplicate tokens are collapsed ("the order does not matter")', () => {
    assert.deepEqual(parseScope('read read write read'), ['read', 'write']);
  });

  test('tokens are case-sensitive: READ and read are different scopes', () => {
    assert.deepEqual(parseScope('read READ'), ['read', 'READ']);
  });

  test('extra spaces between, before or after tokens are tolerated', () => {
    assert.deepEqual(parseScope('  read   write '), ['read', 'write']);
    assert.deepEqual(parseScope(''), []);
  });
});

describe('isScopeToken and formatScope', () => {
  test('RFC 6749 §3.3: a scope-token has at least one character and no space', () => {
    assert.equal(isScopeToken('read'), true);
    assert.equal(isScopeToken(''), false);
    assert.equal(isScopeToken('read write'), false);
    assert.equal(isScopeToken('"read"'), false);
  });

  test('RFC 6749 §3.3: scopes are written space-delimited', () => {
    assert.equal(formatScope(['profile', 'read']), 'profile read');
    assert.equal(formatScope([]), '');
  });
});

describe('isSubset', () => {
  test('the empty request is a subset of anything', () => {
    assert.equal(isSubset([], []), true);
    assert.equal(isSubset([], ['read']), true);
  });

  test('every requested scope must be allowed', () => {
    assert.equal(isSubset(['read'], ['profile', 'read', 'write']), true);
    assert.equal(isSubset(['read', 'write'], ['write', 'read']), true);
    assert.equal(isSubset(['read', 'admin'], ['profile', 'read', 'write']), false);
    assert.equal(isSubset(['read'], []), false);
  });

  test('comparison is exact: no prefix, case-folding or wildcard matching', () => {
    assert.equal(isSubset(['rea'], ['read']), false);
    assert.equal(isSubset(['read:all'], ['read']), false);
    assert.equal(isSubset(['READ'], ['read']), false);
    assert.equal(isSubset(['*'], ['read']), false);
  });
});

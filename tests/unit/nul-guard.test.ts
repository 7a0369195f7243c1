/** containsNul, the NUL guard's check of every request's query, route parameters and body. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseFormEncoded } from '../../src/http/form.js';
import { containsNul } from '../../src/http/nul-guard.js';

test('a NUL in a value or a name of a parsed form is found; a form without one passes', () => {
  assert.equal(containsNul(parseFormEncoded('grant_type=refresh_token&refresh_token=lk_rt_abc')), false);
  assert.equal(containsNul(parseFormEncoded('grant_type=refresh_token&refresh_token=lk_rt_%00abc')), true);
  assert.equal(containsNul(parseFormEncoded('client%00id=x')), true);
  // A repeated name is reported in `repeated`, which is checked too.
  assert.equal(containsNul(parseFormEncoded('a%00=1&a%00=2')), true);
});

test('nested objects and arrays are searched, keys included, to a bounded depth', () => {
  assert.equal(containsNul({ client: { redirect_uris: ['https://a.example/cb', 'https://b.example/\u0000'] } }), true);
  assert.equal(containsNul({ client: { 'na\u0000me': 'x' } }), true);
  assert.equal(containsNul({ client: { name: 'x', scopes: ['read'], count: 3, on: true, none: null } }), false);
  let deep: unknown = '\u0000';
  for (let level = 0; level < 12; level++) deep = { level: deep };
  assert.equal(containsNul(deep), false, 'past the depth bound, nothing is searched');
  assert.equal(containsNul(Buffer.from('\u0000')), false, 'bytes are not text');
});

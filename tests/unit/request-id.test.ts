/** Request ids (src/http/request-id.ts): version-4 UUIDs, distinct across refills of their random bytes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newRequestId } from '../../src/http/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test('a request id is a random version-4 UUID, in the form crypto.randomUUID writes', () => {
  const ids = Array.from({ length: 2000 }, () => newRequestId());
  for (const id of ids) assert.match(id, UUID_V4);
  // 2,000 ids span several refills of the random bytes (256 ids each): none repeats.
  assert.equal(new Set(ids).size, ids.length);
  // Every digit that is not fixed takes each of its values: the bytes are used whole, not a part of them.
  for (const position of [0, 7, 9, 15, 20, 24, 35]) {
    assert.equal(new Set(ids.map((id) => id[position])).size, 16, `position ${position}`);
  }
  assert.deepEqual(new Set(ids.map((id) => id[19])), new Set(['8', '9', 'a', 'b']));
});

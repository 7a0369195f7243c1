/** The read cache on its own: lifetime, invalidation, lookups that raced a change, suspension, bounds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deepFreeze, ReadCache } from '../../src/store/kysely/read-cache.js';

function cacheAt(ttlMs: number, capacity = 10) {
  const clock = { now: 1_000 };
  return { clock, cache: new ReadCache<string>(ttlMs, { capacity, clock: () => clock.now }) };
}

test('an entry is served until its lifetime ends, then dropped', () => {
  const { clock, cache } = cacheAt(5_000);
  cache.set('k', 'v', cache.generation);
  clock.now += 4_999;
  assert.equal(cache.get('k'), 'v');
  clock.now += 1;
  assert.equal(cache.get('k'), undefined);
});

test('invalidate drops every entry', () => {
  const { cache } = cacheAt(5_000);
  cache.set('a', '1', cache.generation);
  cache.set('b', '2', cache.generation);
  cache.invalidate();
  assert.equal(cache.get('a'), undefined);
  assert.equal(cache.get('b'), undefined);
});

test('a lookup that began before an invalidation is not stored (it may have read the old rows)', () => {
  const { cache } = cacheAt(5_000);
  const began = cache.generation;
  cache.invalidate();
  cache.set('k', 'old', began);
  assert.equal(cache.get('k'), undefined);
  cache.set('k', 'new', cache.generation);
  assert.equal(cache.get('k'), 'new');
});

test('a lifetime of 0 turns the cache off', () => {
  const { cache } = cacheAt(0);
  assert.equal(cache.enabled, false);
  cache.set('k', 'v', cache.generation);
  assert.equal(cache.get('k'), undefined);
});

test('suspended, it serves and stores nothing; resumed, it starts empty', () => {
  const { cache } = cacheAt(5_000);
  cache.set('k', 'before', cache.generation);
  const began = cache.generation;
  cache.suspend();
  assert.equal(cache.enabled, false);
  assert.equal(cache.get('k'), undefined);
  cache.set('k', 'while suspended', cache.generation);
  cache.resume();
  assert.equal(cache.enabled, true);
  assert.equal(cache.get('k'), undefined, 'nothing from before or during the suspension');
  cache.set('k', 'read while suspended', began);
  assert.equal(cache.get('k'), undefined, 'a lookup begun before the resumption is not stored');
  cache.set('k', 'after', cache.generation);
  assert.equal(cache.get('k'), 'after');
});

test('bounded: the oldest entry goes first', () => {
  const { cache } = cacheAt(5_000, 2);
  cache.set('a', '1', cache.generation);
  cache.set('b', '2', cache.generation);
  cache.set('c', '3', cache.generation);
  assert.deepEqual([cache.get('a'), cache.get('b'), cache.get('c')], [undefined, '2', '3']);
});

test('beforeServing runs first on every get, and an invalidation it makes is served', () => {
  let checks = 0;
  let changedElsewhere = false;
  const cache: ReadCache<string> = new ReadCache<string>(5_000, {
    beforeServing: () => {
      checks += 1;
      if (changedElsewhere) cache.invalidate();
    },
  });
  cache.set('k', 'v', cache.generation);
  assert.equal(cache.get('k'), 'v');
  assert.equal(cache.get('missing'), undefined);
  assert.equal(checks, 2);
  changedElsewhere = true;
  assert.equal(cache.get('k'), undefined, 'emptied before it served');
});

test('programmer mistakes are TypeErrors', () => {
  assert.throws(() => new ReadCache(-1), TypeError);
  assert.throws(() => new ReadCache(Number.NaN), TypeError);
  assert.throws(() => new ReadCache(1000, { capacity: 0 }), TypeError);
});

test('deepFreeze freezes nested objects and arrays', () => {
  const value = deepFreeze({ client: { redirectUris: ['https://a.example/cb'] }, user: null });
  assert.ok(Object.isFrozen(value.client));
  assert.ok(Object.isFrozen(value.client.redirectUris));
  assert.throws(() => {
    (value.client.redirectUris as string[]).push('https://evil.example/cb');
  }, TypeError);
});

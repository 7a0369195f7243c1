/**
 * The shared sign-in counters behave the same in every backend: the store's
 * table on SQLite and PostgreSQL, and Redis. Parallel increments, from one
 * instance or two, are each counted once, so a lockout cannot be outrun.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type AttemptCounter, LoginThrottle } from '../../src/core/lockout.js';
import { RedisAttemptCounter } from '../../src/store/redis-attempts.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { dropPrefix, redisSkip, TEST_REDIS_URL, uniquePrefix } from '../support/redis.js';

interface Backend {
  name: string;
  skip: string | false;
  /** Two counters on the same shared state, as two server instances would have. */
  open(): Promise<{ first: AttemptCounter; second: AttemptCounter; close(): Promise<void> }>;
}

const backends: Backend[] = [];
for (const dialect of await dialects()) {
  backends.push({
    name: `store (${dialect.name})`,
    skip: dialect.skip,
    async open() {
      const database: TestDatabase = await dialect.create();
      const first = await database.open();
      const second = await database.open();
      return { first, second, close: () => database.drop() };
    },
  });
}
backends.push({
  name: 'redis',
  skip: await redisSkip(),
  async open() {
    const keyPrefix = uniquePrefix();
    const first = new RedisAttemptCounter(TEST_REDIS_URL, { keyPrefix });
    const second = new RedisAttemptCounter(TEST_REDIS_URL, { keyPrefix });
    return {
      first,
      second,
      async close() {
        await Promise.all([first.close(), second.close()]);
        await dropPrefix(keyPrefix);
      },
    };
  },
});

const T0 = 1_700_000_000_000;
const WINDOW = 60_000;

for (const backend of backends) {
  describe(`attempt counter: ${backend.name}`, { skip: backend.skip }, () => {
    let first: AttemptCounter;
    let second: AttemptCounter;
    let close: () => Promise<void>;
    before(async () => {
      ({ first, second, close } = await backend.open());
    });
    after(async () => {
      await close?.();
    });

    test('a window opens at the first attempt, counts up, and starts again when it has passed', async () => {
      assert.deepEqual(await first.countAttempt('b1', WINDOW, T0), { count: 1, resetAt: T0 + WINDOW });
      assert.deepEqual(await first.countAttempt('b1', WINDOW, T0 + 10), { count: 2, resetAt: T0 + WINDOW });
      assert.deepEqual(await second.countAttempt('b1', WINDOW, T0 + WINDOW - 1), { count: 3, resetAt: T0 + WINDOW });
      assert.deepEqual(await first.countAttempt('b1', WINDOW, T0 + WINDOW), { count: 1, resetAt: T0 + 2 * WINDOW });
      assert.deepEqual(await first.countAttempt('other', WINDOW, T0), { count: 1, resetAt: T0 + WINDOW });
    });

    test('refund takes one back, never below zero and not once the window has passed', async () => {
      await first.countAttempt('b2', WINDOW, T0);
      await first.countAttempt('b2', WINDOW, T0);
      await first.refundAttempt('b2', T0 + 1);
      assert.equal((await first.countAttempt('b2', WINDOW, T0 + 2)).count, 2);
      await first.refundAttempt('b2', T0 + 3);
      await first.refundAttempt('b2', T0 + 3);
      await first.refundAttempt('b2', T0 + 3);
      assert.equal((await first.countAttempt('b2', WINDOW, T0 + 4)).count, 1);
      await first.refundAttempt('nothing-here', T0);
      await first.countAttempt('b2b', WINDOW, T0);
      await first.refundAttempt('b2b', T0 + WINDOW);
      assert.deepEqual(await first.countAttempt('b2b', WINDOW, T0 + WINDOW), { count: 1, resetAt: T0 + 2 * WINDOW });
    });

    test('hold extends the window (a lockout), never shortens it; clear forgets the bucket', async () => {
      await first.countAttempt('b3', WINDOW, T0);
      await first.holdAttempts('b3', T0 + 5 * WINDOW);
      await second.holdAttempts('b3', T0 + 2 * WINDOW);
      assert.deepEqual(await first.countAttempt('b3', WINDOW, T0 + 3 * WINDOW), { count: 2, resetAt: T0 + 5 * WINDOW });
      await first.clearAttempts('b3');
      assert.deepEqual(await first.countAttempt('b3', WINDOW, T0 + 3 * WINDOW), { count: 1, resetAt: T0 + 4 * WINDOW });
      await first.holdAttempts('absent', T0 + WINDOW);
      assert.equal((await first.countAttempt('absent', WINDOW, T0)).count, 1, 'hold does not create a bucket');
    });

    test('parallel increments from two instances are each counted exactly once', async () => {
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, index) => (index % 2 === 0 ? first : second).countAttempt('b4', WINDOW, T0)),
      );
      assert.deepEqual(
        results.map((result) => result.count).sort((a, b) => a - b),
        Array.from({ length: 40 }, (_, index) => index + 1),
      );
    });

    test('under parallel wrong passwords on two instances, exactly `threshold` reach the password check', async () => {
      const now = Date.now();
      const throttles = [first, second].map(
        (counter) =>
          new LoginThrottle({
            counter,
            audit: { recordAudit: async () => {} },
            clock: { now: () => now },
            policy: { accountThreshold: 5, ipThreshold: 1000, windowSeconds: 60, lockoutSeconds: 60 },
          }),
      );
      let checks = 0;
      const outcomes = await Promise.all(
        Array.from({ length: 24 }, (_, index) =>
          (throttles[index % 2] as LoginThrottle).attempt(
            { login: `parallel-${backend.name}@example.com`, ip: '203.0.113.5', userId: null, channel: 'web' },
            async () => {
              checks++;
              return undefined;
            },
          ),
        ),
      );
      assert.equal(checks, 5);
      assert.equal(outcomes.filter((outcome) => outcome.status === 'locked').length, 19);
      const lockouts = outcomes.filter((outcome) => outcome.status === 'failed' && outcome.lockedUntil !== undefined);
      assert.equal(lockouts.length, 1, 'exactly one attempt starts the lockout');
    });
  });
}

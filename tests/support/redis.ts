/**
 * The Redis the rate-limit tests use: REDIS_URL, else 127.0.0.1:6379.
 * In CI (CI=true) it is required, never skipped; elsewhere the Redis tests
 * are skipped with a message when nothing answers.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

let probe: Promise<string | false> | undefined;

async function probeRedis(): Promise<string | false> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return false;
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error(`Redis is required in CI but ${TEST_REDIS_URL} did not answer: ${(error as Error).message}`);
    }
    return `Redis not reachable at ${TEST_REDIS_URL} (set TEST_REDIS_URL); skipped outside CI`;
  } finally {
    client.disconnect();
  }
}

/** false when Redis answers; otherwise why the Redis tests are skipped. */
export function redisSkip(): Promise<string | false> {
  probe ??= probeRedis();
  return probe;
}

/** A key prefix no other test run shares. */
export function uniquePrefix(): string {
  return `latchkey-test:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under the prefix. */
export async function dropPrefix(prefix: string): Promise<void> {
  const client = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

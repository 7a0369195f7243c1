/**
 * Sign-in attempt counters in Redis (REDIS_URL), shared by every instance.
 * Each operation is one Lua script, so it is atomic on the Redis server and
 * behaves exactly like the database counter (src/store/kysely/repositories/attempts.ts):
 * the window is kept in the hash as logical time (the app's clock); the key's
 * TTL only lets Redis forget buckets nobody uses any more.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { AttemptCount, AttemptCounter } from '../core/lockout.js';

/** KEYS[1] bucket; ARGV now, window end if a new window opens (both ms, as strings). */
const COUNT = `
local now = tonumber(ARGV[1])
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
local count
if reset <= now then
  redis.call('HSET', KEYS[1], 'count', 1, 'reset', ARGV[2])
  count = 1
  reset = tonumber(ARGV[2])
else
  count = redis.call('HINCRBY', KEYS[1], 'count', 1)
end
redis.call('PEXPIRE', KEYS[1], math.max(reset - now, 0) + 60000)
return {count, redis.call('HGET', KEYS[1], 'reset')}
`;

/** KEYS[1] bucket; ARGV now. */
const REFUND = `
local reset = tonumber(redis.call('HGET', KEYS[1], 'reset') or '0')
local count = tonumber(redis.call('HGET', KEYS[1], 'count') or '0')
if reset > tonumber(ARGV[1]) and count > 0 then redis.call('HINCRBY', KEYS[1], 'count', -1) end
return 0
`;

/** KEYS[1] bucket; ARGV until, now. */
const HOLD = `
local reset = redis.call('HGET', KEYS[1], 'reset')
if reset and tonumber(reset) < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'reset', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[1]) - tonumber(ARGV[2]), 0) + 60000)
end
return 0
`;

class Script {
  readonly sha: string;
  constructor(readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }
}

const SCRIPTS = { count: new Script(COUNT), refund: new Script(REFUND), hold: new Script(HOLD) };

export class RedisAttemptCounter implements AttemptCounter {
  private readonly redis: Redis;

  /**
   * `now` is the app's clock, used only for the TTL of a hold: the window
   * itself is compared against the `now` each call passes.
   */
  constructor(
    url: string,
    private readonly options: { keyPrefix?: string; now?: () => number } = {},
  ) {
    // Fail fast while Redis is away: a sign-in then fails with a 500 instead of hanging.
    this.redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
    this.redis.on('error', () => {
      // Reported by the failing command; without a listener ioredis would print to stderr.
    });
  }

  private key(bucket: string): string {
    return `${this.options.keyPrefix ?? 'latchkey:'}${bucket}`;
  }

  private async run(script: Script, bucket: string, args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(script.sha, 1, this.key(bucket), ...args);
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(script.source, 1, this.key(bucket), ...args);
    }
  }

  async countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount> {
    const [count, reset] = (await this.run(SCRIPTS.count, bucket, [String(now), String(now + windowMs)])) as [number, string];
    return { count: Number(count), resetAt: Number(reset) };
  }

  async refundAttempt(bucket: string, now: number): Promise<void> {
    await this.run(SCRIPTS.refund, bucket, [String(now)]);
  }

  async holdAttempts(bucket: string, until: number): Promise<void> {
    await this.run(SCRIPTS.hold, bucket, [String(until), String(this.options.now?.() ?? Date.now())]);
  }

  async clearAttempts(bucket: string): Promise<void> {
    await this.redis.del(this.key(bucket));
  }

  /** Whether Redis answers (for readiness checks and tests). */
  async ping(): Promise<boolean> {
    try {
      return (await this.redis.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

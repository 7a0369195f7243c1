/** The sign-in throttling policy (src/core/lockout.ts), over an in-memory counter with the store's semantics. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  type AttemptCount,
  type AttemptCounter,
  accountBucket,
  ipBucket,
  LoginThrottle,
  type LockoutPolicy,
  minutesUntil,
} from '../../src/core/lockout.js';

/** Same rules as the SQL upsert and the Redis script; yields between read and write to expose races. */
class MemoryCounter implements AttemptCounter {
  readonly buckets = new Map<string, AttemptCount>();
  async countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount> {
    const current = this.buckets.get(bucket);
    const next = !current || current.resetAt <= now ? { count: 1, resetAt: now + windowMs } : { count: current.count + 1, resetAt: current.resetAt };
    this.buckets.set(bucket, next);
    await Promise.resolve();
    return { ...next };
  }
  async refundAttempt(bucket: string, now: number): Promise<void> {
    const current = this.buckets.get(bucket);
    if (current && current.count > 0 && current.resetAt > now) current.count -= 1;
  }
  async holdAttempts(bucket: string, until: number): Promise<void> {
    const current = this.buckets.get(bucket);
    if (current && current.resetAt < until) current.resetAt = until;
  }
  async clearAttempts(bucket: string): Promise<void> {
    this.buckets.delete(bucket);
  }
}

const POLICY: LockoutPolicy = { accountThreshold: 3, ipThreshold: 5, windowSeconds: 600, lockoutSeconds: 900 };

function setup(policy = POLICY) {
  let now = 1_700_000_000_000;
  const counter = new MemoryCounter();
  const audit: Array<{ type: string; subject: string | null; ip: string | null; detail: Record<string, unknown> }> = [];
  const throttle = new LoginThrottle({
    counter,
    audit: { recordAudit: async (event) => void audit.push(event) },
    clock: { now: () => now },
    policy,
  });
  return { throttle, counter, audit, advance: (ms: number) => void (now += ms), now: () => now };
}

const wrong = async () => undefined;
const right = async () => 'usr_1';
const who = (login = 'ada@example.com', ip: string | null = '192.0.2.1') => ({ login, ip, userId: 'usr_1', channel: 'web' });

describe('LoginThrottle', () => {
  test('failures below the threshold are "failed"; the one that reaches it starts a lockout; then "locked"', async () => {
    const { throttle, now } = setup();
    assert.deepEqual(await throttle.attempt(who(), wrong), { status: 'failed', lockedUntil: undefined, scope: undefined });
    assert.deepEqual(await throttle.attempt(who(), wrong), { status: 'failed', lockedUntil: undefined, scope: undefined });
    const third = await throttle.attempt(who(), wrong);
    assert.deepEqual(third, { status: 'failed', lockedUntil: now() + 900_000, scope: 'account' });
    let verified = false;
    const locked = await throttle.attempt(who(), async () => {
      verified = true;
      return 'usr_1';
    });
    assert.equal(locked.status, 'locked');
    assert.equal(verified, false, 'a locked account never reaches the password check, even with the right password');
  });

  test('the lockout lasts lockoutSeconds from the failure that triggered it, then sign-in works again', async () => {
    const { throttle, advance } = setup();
    advance(500_000); // failures spread over the window
    for (let i = 0; i < 3; i++) {
      await throttle.attempt(who(), wrong);
      advance(1000);
    }
    // The third failure was 1 s ago; its lockout ends 900 s after it.
    advance(900_000 - 1000 - 1);
    assert.equal((await throttle.attempt(who(), right)).status, 'locked', 'still locked just before the end');
    advance(1);
    assert.deepEqual(await throttle.attempt(who(), right), { status: 'ok', value: 'usr_1' });
  });

  test('failures outside the window are forgotten', async () => {
    const { throttle, advance } = setup();
    await throttle.attempt(who(), wrong);
    await throttle.attempt(who(), wrong);
    advance(600_000);
    await throttle.attempt(who(), wrong);
    assert.equal((await throttle.attempt(who(), wrong)).status, 'failed');
  });

  test('a success clears the account and gives back its own attempt to the IP', async () => {
    const { throttle, counter } = setup();
    await throttle.attempt(who(), wrong);
    await throttle.attempt(who(), wrong);
    assert.equal((await throttle.attempt(who(), right)).status, 'ok');
    assert.equal(counter.buckets.has(accountBucket('ada@example.com')), false);
    assert.equal(counter.buckets.get(ipBucket('192.0.2.1'))?.count, 2, 'only the two failures stay counted for the IP');
    assert.equal((await throttle.attempt(who(), wrong)).status, 'failed');
    assert.equal((await throttle.attempt(who(), wrong)).status, 'failed');
  });

  test('parallel failures are each counted: exactly `threshold` reach the password check', async () => {
    const { throttle, counter, audit } = setup();
    let checks = 0;
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, () =>
        throttle.attempt(who(), async () => {
          checks++;
          return undefined;
        }),
      ),
    );
    assert.equal(checks, 3);
    assert.equal(outcomes.filter((o) => o.status === 'locked').length, 9);
    assert.equal(outcomes.filter((o) => o.status === 'failed' && o.lockedUntil !== undefined).length, 1);
    assert.equal(counter.buckets.get(accountBucket('ada@example.com'))?.count, 12);
    assert.equal(audit.filter((e) => e.type === 'signin.locked').length, 1, 'one lockout, audited once');
    assert.equal(audit.filter((e) => e.type === 'signin.failed').length, 12);
  });

  test('the account key is the normalised login: case and spaces do not give more tries', async () => {
    const { throttle } = setup();
    await throttle.attempt(who('Ada@Example.com'), wrong);
    await throttle.attempt(who(' ada@example.com '), wrong);
    await throttle.attempt(who('ADA@EXAMPLE.COM'), wrong);
    assert.equal((await throttle.attempt(who(), right)).status, 'locked');
  });

  test('an unknown login locks exactly like a known one', async () => {
    const { throttle } = setup();
    const unknown = { login: 'nobody@example.com', ip: '192.0.2.1', userId: null, channel: 'web' };
    const outcomes = [];
    for (let i = 0; i < 4; i++) outcomes.push((await throttle.attempt(unknown, wrong)).status);
    assert.deepEqual(outcomes, ['failed', 'failed', 'failed', 'locked']);
  });

  test('per IP: many accounts from one address lock the address, not the other addresses', async () => {
    const { throttle, audit } = setup();
    for (let i = 0; i < 5; i++) await throttle.attempt(who(`user${i}@example.com`), wrong);
    const blocked = await throttle.attempt(who('fresh@example.com'), right);
    assert.equal(blocked.status, 'locked');
    assert.equal(blocked.status === 'locked' && blocked.scope, 'ip');
    assert.equal((await throttle.attempt(who('fresh@example.com', '198.51.100.7'), right)).status, 'ok');
    const lock = audit.find((e) => e.type === 'signin.locked');
    assert.equal(lock?.detail.scope, 'ip');
    assert.equal(lock?.ip, '192.0.2.1');
  });

  test('audit events carry the channel, the IP and the user, never the password', async () => {
    const { throttle, audit } = setup();
    await throttle.attempt({ login: 'ada@example.com', ip: '192.0.2.9', userId: 'usr_9', channel: 'password_grant' }, wrong);
    assert.deepEqual(audit[0], {
      type: 'signin.failed',
      actor: null,
      ip: '192.0.2.9',
      subject: 'usr_9',
      detail: { channel: 'password_grant', reason: 'invalid_credentials' },
    });
  });

  test('without an IP only the account is counted', async () => {
    const { throttle, counter } = setup();
    await throttle.attempt(who('ada@example.com', null), wrong);
    assert.deepEqual([...counter.buckets.keys()], [accountBucket('ada@example.com')]);
  });

  test('sign-ups are counted per IP against the IP threshold', async () => {
    const { throttle } = setup();
    for (let i = 0; i < 5; i++) assert.deepEqual(await throttle.signUpAllowed('192.0.2.1'), { allowed: true });
    assert.equal((await throttle.signUpAllowed('192.0.2.1')).allowed, false);
    assert.deepEqual(await throttle.signUpAllowed('192.0.2.2'), { allowed: true });
  });

  test('bucket names hide the email; minutesUntil rounds up', () => {
    assert.doesNotMatch(accountBucket('ada@example.com'), /ada|example/);
    assert.equal(minutesUntil(1000 + 60_001, 1000), 2);
    assert.equal(minutesUntil(1000, 1000), 1);
  });
});

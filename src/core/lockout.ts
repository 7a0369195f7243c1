/**
 * Sign-in throttling with a temporary lockout, per account and per IP
 * address (OWASP Authentication Cheat Sheet, "Account lockout"; RFC 6749
 * §10.10 asks the same of the password grant).
 *
 * Every attempt is counted *before* the password is checked, with an atomic
 * increment in a store every instance shares (the database or Redis). So N
 * parallel attempts get counts 1..N and at most `threshold` of them ever
 * reach the password check, however many instances serve them. A correct
 * password gives its attempt back: the account's failures are cleared and
 * the IP's count is decremented by one, so only failures stay counted.
 *
 * The account key is the normalised login name, not the user id, so an
 * unknown email locks exactly like a known one and the lockout reveals
 * nothing about which emails exist.
 *
 * Used by the web sign-in and meant for the password grant too: both call
 * `LoginThrottle.attempt` with their own `channel`.
 */
import type { Clock } from './clock.js';
import { hashCredential } from './secrets.js';

/** A counter in a fixed window, as the shared store reports it. */
export interface AttemptCount {
  /** Attempts in the current window, this one included. */
  count: number;
  /** When the window (or a lockout that extended it) ends, epoch ms. */
  resetAt: number;
}

/**
 * Atomic counters shared by every instance. The store implements it with
 * one INSERT ... ON CONFLICT DO UPDATE ... RETURNING; Redis with a script.
 */
export interface AttemptCounter {
  /**
   * Adds one attempt to the bucket and returns the new count. A bucket whose
   * window has ended starts again at 1 with a window ending at now + windowMs.
   */
  countAttempt(bucket: string, windowMs: number, now: number): Promise<AttemptCount>;
  /** Takes one attempt back (a success), if the window is still open. */
  refundAttempt(bucket: string, now: number): Promise<void>;
  /** Keeps the bucket's window open at least until `until` (a lockout). */
  holdAttempts(bucket: string, until: number): Promise<void>;
  /** Forgets the bucket. */
  clearAttempts(bucket: string): Promise<void>;
}

/** Where failures and lockouts are written (the store's audit trail). */
export interface AuditSink {
  recordAudit(
    event: { type: string; actor: string | null; ip: string | null; subject: string | null; detail: Record<string, unknown> },
    now: number,
  ): Promise<void>;
}

export interface LockoutPolicy {
  /** Failed attempts on one account within the window that lock it. */
  accountThreshold: number;
  /** Failed attempts from one IP address within the window that lock it. */
  ipThreshold: number;
  /** The window in which failures are counted. */
  windowSeconds: number;
  /** How long a lockout lasts from the failure that triggered it. */
  lockoutSeconds: number;
}

export const DEFAULT_LOCKOUT_POLICY: LockoutPolicy = {
  accountThreshold: 5,
  ipThreshold: 20,
  windowSeconds: 15 * 60,
  lockoutSeconds: 15 * 60,
};

export type LockScope = 'account' | 'ip';

export type AttemptOutcome<T> =
  /** The credentials were right. */
  | { status: 'ok'; value: T }
  /** The credentials were wrong; `lockedUntil` is set when this failure started a lockout. */
  | { status: 'failed'; lockedUntil: number | undefined; scope: LockScope | undefined }
  /** Refused without checking the credentials: the account or the IP is locked. */
  | { status: 'locked'; lockedUntil: number; scope: LockScope };

export interface AttemptSubject {
  /** What the user typed to identify themselves (an email); normalised here. */
  login: string;
  /** The client's IP address, when known. */
  ip: string | null;
  /** The user the login names, when it names one (for the audit trail only). */
  userId: string | null;
  /** Which door the attempt came through, e.g. "web" or "password_grant". */
  channel: string;
}

export function normaliseLogin(login: string): string {
  return login.trim().toLowerCase();
}

/** Bucket names; the login is hashed so no email sits in Redis or the counter table. */
export function accountBucket(login: string): string {
  return `signin:account:${hashCredential(normaliseLogin(login))}`;
}

export function ipBucket(ip: string): string {
  return `signin:ip:${ip}`;
}

/** Whole minutes until `until`, at least 1, for messages such as "try again in 15 minutes". */
export function minutesUntil(until: number, now: number): number {
  return Math.max(1, Math.ceil((until - now) / 60_000));
}

export class LoginThrottle {
  constructor(
    private readonly deps: { counter: AttemptCounter; audit: AuditSink; clock: Clock; policy: LockoutPolicy },
  ) {}

  get policy(): LockoutPolicy {
    return this.deps.policy;
  }

  /**
   * Counts the attempt, runs `verify` unless the account or IP is locked, and
   * records the outcome. `verify` returns the signed-in value, or undefined
   * for wrong credentials; it must not throw for wrong credentials.
   */
  async attempt<T>(subject: AttemptSubject, verify: () => Promise<T | undefined>): Promise<AttemptOutcome<T>> {
    const { counter, policy, clock } = this.deps;
    const now = clock.now();
    const windowMs = policy.windowSeconds * 1000;
    const account = accountBucket(subject.login);
    const ip = subject.ip ? ipBucket(subject.ip) : undefined;
    const [accountCount, ipCount] = await Promise.all([
      counter.countAttempt(account, windowMs, now),
      ip ? counter.countAttempt(ip, windowMs, now) : Promise.resolve(undefined),
    ]);

    const blocked: Array<{ scope: LockScope; until: number }> = [];
    if (accountCount.count > policy.accountThreshold) blocked.push({ scope: 'account', until: accountCount.resetAt });
    if (ipCount && ipCount.count > policy.ipThreshold) blocked.push({ scope: 'ip', until: ipCount.resetAt });
    if (blocked.length > 0) {
      const longest = blocked.reduce((a, b) => (b.until > a.until ? b : a));
      await this.audit('signin.failed', subject, { reason: 'locked', scope: longest.scope }, now);
      return { status: 'locked', lockedUntil: longest.until, scope: longest.scope };
    }

    const value = await verify();
    if (value !== undefined) {
      await Promise.all([counter.clearAttempts(account), ip ? counter.refundAttempt(ip, now) : Promise.resolve()]);
      return { status: 'ok', value };
    }

    await this.audit('signin.failed', subject, { reason: 'invalid_credentials' }, now);
    const until = now + policy.lockoutSeconds * 1000;
    let scope: LockScope | undefined;
    // Exactly one attempt sees each threshold count, so each lockout starts (and is audited) once.
    if (accountCount.count === policy.accountThreshold) {
      scope = 'account';
      await counter.holdAttempts(account, until);
      await this.audit('signin.locked', subject, { scope: 'account', until, failures: accountCount.count }, now);
    }
    if (ip && ipCount && ipCount.count === policy.ipThreshold) {
      scope ??= 'ip';
      await counter.holdAttempts(ip, until);
      await this.audit('signin.locked', subject, { scope: 'ip', until, failures: ipCount.count }, now);
    }
    return { status: 'failed', lockedUntil: scope ? until : undefined, scope };
  }

  /**
   * Counts one sign-up from the IP address, allowing `ipThreshold` per window:
   * it bounds account creation, and probing which emails are registered, from
   * one address.
   */
  async signUpAllowed(ip: string | null): Promise<{ allowed: true } | { allowed: false; lockedUntil: number }> {
    if (!ip) return { allowed: true };
    const { counter, policy, clock } = this.deps;
    const count = await counter.countAttempt(`signup:ip:${ip}`, policy.windowSeconds * 1000, clock.now());
    return count.count > policy.ipThreshold ? { allowed: false, lockedUntil: count.resetAt } : { allowed: true };
  }

  private audit(type: string, subject: AttemptSubject, detail: Record<string, unknown>, now: number): Promise<void> {
    return this.deps.audit.recordAudit(
      { type, actor: null, ip: subject.ip, subject: subject.userId, detail: { channel: subject.channel, ...detail } },
      now,
    );
  }
}

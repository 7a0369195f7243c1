/**
 * The client, user and account behind access tokens, kept in process memory
 * for a short time: a guarded route that loads them (`/api/me`) would
 * otherwise join three tables on every call, which costs more than the rest
 * of a JWT bearer check (measured: about 40% of the request).
 *
 * What it may serve stale, and for how long:
 * - Changes made through this process (a client updated or destroyed, a user
 *   locked, an account linked to a partner) empty the cache as they commit,
 *   so this process never answers with what it has itself changed.
 * - Changes made by another process (another instance, the CLI) reach this
 *   one within `ttlMs`. Token validity is not cached: an opaque token is
 *   still looked up on every request, so revocation stays immediate; a
 *   destroyed client's tokens are revoked with it.
 *
 * A lookup that was running when the cache was emptied is not stored: it
 * may have read the rows before the change (see `generation`).
 */
export class PartiesCache<T> {
  private readonly entries = new Map<string, { value: T; storedAt: number }>();
  /** Bumped by every invalidation; a lookup stores its result only if none happened since it began. */
  private current = 0;

  constructor(
    readonly ttlMs: number,
    private readonly capacity = 10_000,
    /** Milliseconds, monotonic. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a non-negative number');
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get generation(): number {
    return this.current;
  }

  get(key: string): T | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (this.clock() - entry.storedAt >= this.ttlMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Stores what a lookup begun at `generation` found, unless the cache was emptied since. */
  set(key: string, value: T, generation: number): void {
    if (!this.enabled || generation !== this.current) return;
    if (this.entries.size >= this.capacity && !this.entries.has(key)) this.entries.delete(this.entries.keys().next().value as string);
    this.entries.set(key, { value, storedAt: this.clock() });
  }

  invalidate(): void {
    this.current += 1;
    this.entries.clear();
  }
}

/** Freezes a value and every object and array inside it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Rows kept in process memory for a short time, for lookups that hot paths
 * make over and over: a token's client, user and account (the resource
 * guard), a client with its secrets (client authentication), the scope registry.
 * What each may serve stale, and for how long, is said where it is used
 * (repositories/users.ts, repositories/clients.ts); this class gives them the
 * same rules:
 * - `invalidate()` empties it; the store calls it as changes commit.
 * - A lookup that was running when the cache was emptied is not stored: it
 *   may have read the rows before the change (see `generation`).
 * - `suspend()` turns it off until `resume()`: while the cross-process
 *   notifications it relies on are down, every lookup goes to the database.
 * - `beforeServing`, where given, runs first on every `get`: on SQLite, it
 *   empties the caches if another connection has committed since.
 */
export class ReadCache<T> {
  private readonly entries = new Map<string, { value: T; storedAt: number }>();
  /** Bumped by every invalidation; a lookup stores its result only if none happened since it began. */
  private current = 0;
  private suspended = false;

  private readonly capacity: number;
  private readonly clock: () => number;
  private readonly beforeServing: (() => void) | undefined;

  constructor(
    readonly ttlMs: number,
    options: {
      /** Entries kept at most; the oldest stored goes first. */
      capacity?: number;
      /** Milliseconds, monotonic. */
      clock?: () => number;
      /** Run before every `get`, and may empty the cache (SQLite's check for other connections' commits: sqlite-changes.ts). */
      beforeServing?: () => void;
    } = {},
  ) {
    const { capacity = 10_000, clock = () => performance.now(), beforeServing } = options;
    if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new TypeError('ttlMs must be a non-negative number');
    if (!Number.isInteger(capacity) || capacity < 1) throw new TypeError('capacity must be a positive integer');
    this.capacity = capacity;
    this.clock = clock;
    this.beforeServing = beforeServing;
  }

  get enabled(): boolean {
    return this.ttlMs > 0 && !this.suspended;
  }

  get generation(): number {
    return this.current;
  }

  get(key: string): T | undefined {
    if (this.suspended) return undefined;
    this.beforeServing?.();
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

  /** Empties the cache and serves nothing, stores nothing, until `resume()`. */
  suspend(): void {
    this.suspended = true;
    this.invalidate();
  }

  /** Serves again, from empty: nothing read while suspended is kept. */
  resume(): void {
    this.invalidate();
    this.suspended = false;
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

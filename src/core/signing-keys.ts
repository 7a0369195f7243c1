/**
 * The life of the keys that sign JWT access tokens: created on first need,
 * rotated by the operator or on a schedule, published (JWKS) until every token
 * they signed has expired, then pruned.
 *
 * Every rule here holds across instances: the active key is whatever the
 * database says, a scheduled rotation is a conditional write, and a retired
 * key is pruned only when the database holds no unexpired token it signed.
 */
import { generateSigningKey, importPublicKey } from './jwt.js';
import type { SigningKey } from './model.js';
import type { SigningKeyRepository } from './ports.js';

/**
 * How long a retired key stays published at least, whatever the database says
 * about its tokens: covers an instance that read the key as active just before
 * the rotation and signs with it a moment after.
 */
export const RETIRED_KEY_MIN_PUBLICATION_MS = 60 * 60 * 1000;

/** The key to sign with; on first need (an empty table) one is generated and stored. */
export async function ensureSigningKey(keys: SigningKeyRepository, now: number): Promise<SigningKey> {
  const active = await keys.activeSigningKey();
  if (active) return active;
  const created = await generateSigningKey(now);
  await keys.insertSigningKey(created);
  return created;
}

export interface RotationStore extends SigningKeyRepository {
  transaction<T>(work: (tx: SigningKeyRepository) => Promise<T>): Promise<T>;
}

class RotationRaced extends Error {}

/**
 * Makes a new key the signing key and retires the others (they stay published).
 * With `expectedActiveKid`, rotates only if that key is still the active one:
 * two instances whose schedules fire together rotate once. Returns the new key,
 * or undefined when another instance rotated first.
 */
export async function rotateSigningKey(
  store: RotationStore,
  now: number,
  options: { expectedActiveKid?: string } = {},
): Promise<SigningKey | undefined> {
  const created = await generateSigningKey(now);
  try {
    await store.transaction(async (tx) => {
      await tx.insertSigningKey(created);
      if (!(await tx.retireSigningKeys(created.kid, now, options.expectedActiveKid))) throw new RotationRaced();
    });
  } catch (error) {
    if (error instanceof RotationRaced) return undefined;
    throw error;
  }
  return created;
}

/** Deletes retired keys that no unexpired token needs any more. */
export function pruneSigningKeys(keys: SigningKeyRepository, now: number): Promise<string[]> {
  return keys.pruneSigningKeys(now - RETIRED_KEY_MIN_PUBLICATION_MS, now);
}

/** One tick of the rotation schedule: rotate when the active key is older than the interval, then prune. */
export async function rotateIfDue(
  store: RotationStore,
  now: number,
  intervalSeconds: number,
): Promise<{ rotated: SigningKey | undefined; pruned: string[] }> {
  const active = await store.activeSigningKey();
  let rotated: SigningKey | undefined;
  if (!active) rotated = await ensureSigningKey(store, now);
  else if (now - active.createdAt >= intervalSeconds * 1000) {
    rotated = await rotateSigningKey(store, now, { expectedActiveKid: active.kid });
  }
  return { rotated, pruned: await pruneSigningKeys(store, now) };
}

type PublicKey = Awaited<ReturnType<typeof importPublicKey>>;

/**
 * The public keys a resource server verifies JWT access tokens with, kept in
 * memory so that validating a JWT needs no database. A kid never changes its
 * key, so a cached key is never wrong. An unknown kid (a rotation, perhaps on
 * another instance) reloads the key table, a handful of rows: no more work than
 * the indexed lookup an unknown opaque token costs. The set is also refreshed
 * in the background every `refreshMs` (a minute), so that pruned or dropped keys drop out.
 */
export class VerificationKeys {
  private keys = new Map<string, Promise<PublicKey>>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly source: Pick<SigningKeyRepository, 'listSigningKeys'>,
    private readonly options: { now(): number; refreshMs?: number } = { now: () => Date.now() },
  ) {}

  /** The public key with this kid, or undefined when no published key has it. */
  async get(kid: string): Promise<PublicKey | undefined> {
    const known = this.keys.get(kid);
    if (known) {
      this.refreshWhenDue();
      return known;
    }
    await this.reload();
    return this.keys.get(kid);
  }

  /**
   * Whether the key with this kid is in the set held in memory, answered at
   * once: what a token verified with it before needs to stand. False for a kid
   * not held, which only `get` looks for in the database.
   */
  holds(kid: string): boolean {
    if (!this.keys.has(kid)) return false;
    this.refreshWhenDue();
    return true;
  }

  /** Starts the background refresh once the set is `refreshMs` old. */
  private refreshWhenDue(): void {
    if (this.options.now() - this.loadedAt < (this.options.refreshMs ?? 60_000)) return;
    this.refreshing ??= this.reload()
      .catch(() => {})
      .finally(() => {
        this.refreshing = undefined;
      });
  }

  private async reload(): Promise<void> {
    const stored = await this.source.listSigningKeys();
    const next = new Map<string, Promise<PublicKey>>();
    for (const key of stored) next.set(key.kid, this.keys.get(key.kid) ?? importPublicKey(key));
    this.keys = next;
    this.loadedAt = this.options.now();
  }
}

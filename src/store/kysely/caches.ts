/** The store's process-wide read caches (see read-cache.ts), shared by a store and its transactions. */
import type { Client, Scope } from '../../core/model.js';
import type { Parties } from '../../core/ports.js';
import type { ChangeListener } from './pg-changes.js';
import type { ReadCache } from './read-cache.js';

export type { Parties };

/** A client with its secrets as loaded, for the cache: each secret's hash and when it expires (null: never). */
export interface LoadedClient {
  client: Client;
  secrets: ReadonlyArray<{ hash: string; expiresAt: number | null }>;
}

export interface StoreCaches {
  parties: ReadCache<Parties>;
  /**
   * Clients with their secrets: emptied by other processes' changes as PostgreSQL's
   * `changes` tells of them, or as SQLite's data version shows them before each use.
   */
  clients?: ReadCache<LoadedClient> | undefined;
  /** The scope registry, read whole (as `clients`). */
  scopes?: ReadCache<readonly Scope[]> | undefined;
  /** Tells this process of changes committed by others (PostgreSQL). */
  changes?: ChangeListener | undefined;
}

/** How long loaded parties are reused when the opener does not say. */
export const DEFAULT_PARTIES_CACHE_MS = 5_000;

/** How long a client and its secrets, and the scope registry, are reused when the opener does not say. */
export const DEFAULT_CLIENT_CACHE_MS = 30_000;

/** Empties every cache of this process: after a change here, or one another process told of (pg-changes.ts). */
export function emptyCaches(caches: StoreCaches): void {
  caches.parties.invalidate();
  caches.clients?.invalidate();
  caches.scopes?.invalidate();
}

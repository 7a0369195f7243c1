/**
 * What every Kysely repository is bound to: the store it belongs to, and so
 * that store's connection or transaction. A store in a transaction has its own
 * repositories, so each of their queries runs in it.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Dialect } from '../migrations/index.js';
import type { Database } from '../schema.js';
import type { KyselyStore } from '../store.js';

export abstract class KyselyRepository {
  // Declared, not class fields: a field defined in this base class for thirteen subclasses
  // misses V8's inline cache on every construction, and a store made for each SQLite
  // group commit builds all thirteen (bench/ANALYSIS.md, thirteenth pass).
  /** For its transactions, its caches and the other domains' queries. */
  protected declare readonly store: KyselyStore;
  protected declare readonly db: Kysely<Database> | Transaction<Database>;
  protected declare readonly dialect: Dialect;

  constructor(store: KyselyStore) {
    this.store = store;
    this.db = store.db;
    this.dialect = store.dialect;
  }
}

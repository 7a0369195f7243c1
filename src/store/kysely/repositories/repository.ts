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
  protected readonly db: Kysely<Database> | Transaction<Database>;
  protected readonly dialect: Dialect;

  constructor(
    /** For its transactions, its caches and the other domains' queries. */
    protected readonly store: KyselyStore,
  ) {
    this.db = store.db;
    this.dialect = store.dialect;
  }
}

/** The scope registry. */
import type { Scope } from '../../../core/model.js';
import type { ScopeLookup } from '../../../core/ports.js';
import { prepared } from '../prepared.js';
import { deepFreeze } from '../read-cache.js';
import { KyselyRepository } from './repository.js';

/** The whole registry, compiled once (prepared.ts): on SQLite it runs off Kysely's executor, as the token lookups do. */
const LIST_SCOPES = prepared(0, (db) => db.selectFrom('scopes').selectAll().orderBy('name'));

export class KyselyScopeRepository extends KyselyRepository implements ScopeLookup {
  /**
   * The registry is reused once read, under the same rules as a client (see
   * KyselyClientRepository.findClientWithSecrets): a client-credentials request
   * without a scope reads it for the defaults, and so do the consent and
   * connected-apps pages. The writes below call rowsChanged, so a change
   * through any process reaches every other as it commits (PostgreSQL) or
   * before its next use of the registry (SQLite).
   */
  async listScopes(): Promise<readonly Scope[]> {
    const { scopes, changes } = this.store.caches;
    // Inside a transaction, reads see the transaction's own writes: no cache.
    if (scopes === undefined || this.db.isTransaction) return this.loadScopes();
    changes?.start();
    const cached = scopes.get('');
    if (cached !== undefined) return cached;
    const generation = scopes.generation;
    // Shared by requests, so frozen against a caller's edits.
    const loaded = deepFreeze(await this.loadScopes());
    scopes.set('', loaded, generation);
    return loaded;
  }

  private async loadScopes(): Promise<Scope[]> {
    const { rows } = await LIST_SCOPES.execute(this.store);
    return rows.map((row) => ({ name: row.name, description: row.description, isDefault: row.is_default === 1 }));
  }

  async upsertScope(scope: Scope): Promise<void> {
    await this.db
      .insertInto('scopes')
      .values({ name: scope.name, description: scope.description, is_default: scope.isDefault ? 1 : 0 })
      .onConflict((oc) =>
        oc.column('name').doUpdateSet({ description: scope.description, is_default: scope.isDefault ? 1 : 0 }),
      )
      .execute();
    await this.store.rowsChanged();
  }

  async addScopeIfMissing(scope: Scope): Promise<void> {
    await this.db
      .insertInto('scopes')
      .values({ name: scope.name, description: scope.description, is_default: scope.isDefault ? 1 : 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    await this.store.rowsChanged();
  }
}

/** The scope registry. */
import type { Scope } from '../../../core/model.js';
import type { ScopeLookup } from '../../../core/ports.js';
import { KyselyRepository } from './repository.js';

export class KyselyScopeRepository extends KyselyRepository implements ScopeLookup {
  async listScopes(): Promise<Scope[]> {
    const rows = await this.db.selectFrom('scopes').selectAll().orderBy('name').execute();
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
  }

  async addScopeIfMissing(scope: Scope): Promise<void> {
    await this.db
      .insertInto('scopes')
      .values({ name: scope.name, description: scope.description, is_default: scope.isDefault ? 1 : 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
  }
}

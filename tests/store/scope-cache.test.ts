/**
 * The scope registry's cache (KyselyScopeRepository.listScopes), on every
 * dialect: on PostgreSQL it serves once the listener hears every change, and a
 * change to a scope through any store on the database empties it as it
 * commits; on SQLite a commit by any other connection to the file empties it
 * before its next use. A client-credentials request without a scope reads the
 * registry for its defaults.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { deleteScope, setScope } from '../../src/services/scopes.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { cachesServing, changeReaches } from '../support/caches.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { seedScopes } from '../support/fixtures.js';

for (const dialect of await dialects()) {
  describe(`scope registry cache (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    /** This instance, counting the statements it sends. */
    let store: KyselyStore;
    let statements = 0;
    /** Another instance on the same database. */
    let other: KyselyStore;

    before(async () => {
      database = await dialect.create();
      store = await database.open({ onQuery: () => void (statements += 1) });
      other = await database.open();
      await seedScopes(store);
    });
    after(async () => database?.drop());

    const names = async (from: KyselyStore = store) => (await from.listScopes()).map((scope) => scope.name);
    const statementsOf = async (read: () => Promise<unknown>) => {
      const before = statements;
      await read();
      return statements - before;
    };

    /** Read once, so that the store serves the registry from memory from now on. */
    async function serving() {
      await store.listScopes();
      await cachesServing(store);
    }

    test('once serving, the registry is served from memory, frozen', async () => {
      await serving();
      await store.listScopes();
      assert.equal(await statementsOf(() => store.listScopes()), 0);
      assert.ok(Object.isFrozen(await store.listScopes()), 'shared by requests, so frozen');
      assert.equal(await statementsOf(() => store.ping()), 1, 'readiness still asks the database');
    });

    test('a scope changed through another instance reaches this one', async () => {
      await serving();
      await store.listScopes();
      await setScope(other, { name: 'reports', description: 'Read reports', isDefault: true }, Date.now());
      await changeReaches(store, 'the new scope', async () => (await store.listScopes()).some((scope) => scope.name === 'reports' && scope.isDefault));
      await setScope(other, { name: 'reports', isDefault: false }, Date.now());
      await changeReaches(store, 'no longer a default', async () => (await store.listScopes()).some((scope) => scope.name === 'reports' && !scope.isDefault));
      await deleteScope(other, 'reports', Date.now());
      await changeReaches(store, 'the scope gone', async () => !(await names()).includes('reports'));
    });

    test('a change through this instance applies at once', async () => {
      await store.listScopes();
      await setScope(store, { name: 'exports', description: 'Export data' }, Date.now());
      assert.ok((await names()).includes('exports'));
      await store.addScopeIfMissing({ name: 'imports', description: 'Import data', isDefault: false });
      assert.ok((await names()).includes('imports'));
      await deleteScope(store, 'exports', Date.now());
      assert.ok(!(await names()).includes('exports'));
    });
  });
}

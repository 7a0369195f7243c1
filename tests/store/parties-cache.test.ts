/**
 * The store's cache of a token's client, user and account (findParties, read-cache.ts),
 * on every dialect: reused while fresh, and never stale after a change made
 * through this process, including one that commits while a lookup runs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

for (const dialect of await dialects()) {
  describe(`parties cache (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;

    before(async () => {
      database = await dialect.create();
      store = await database.open({ partiesCacheMs: 60_000 });
      await seedScopes(store);
    });
    after(async () => database?.drop());

    async function parties() {
      const { user, accounts } = await makeUser(store, `p${Math.random().toString(36).slice(2)}@example.com`);
      const { client } = await makeClient(store);
      const account = accounts[0] as (typeof accounts)[number];
      return { clientId: client.id, userId: user.id, accountId: account.id };
    }

    /** A change made behind the store's back (another process would do this). */
    async function renameBehindTheStore(clientId: string, name: string) {
      await store.db.updateTable('clients').set({ name }).where('id', '=', clientId).execute();
    }

    test('a second lookup is served from memory, frozen', async () => {
      const ids = await parties();
      const first = await store.findParties(ids);
      await renameBehindTheStore(ids.clientId, 'Changed elsewhere');
      const second = await store.findParties(ids);
      assert.equal(second, first, 'the same answer, not a new query');
      assert.notEqual(second.client?.name, 'Changed elsewhere');
      assert.ok(Object.isFrozen(second.client) && Object.isFrozen(second.user) && Object.isFrozen(second.account));
    });

    test('cachedParties: what findParties kept, at once; nothing it has not kept, nothing once emptied, nothing in a transaction', async () => {
      const ids = await parties();
      assert.equal(store.cachedParties(ids), undefined, 'not looked up yet');
      assert.equal(store.cachedParties(ids), undefined, 'and asking does not look it up');
      const found = await store.findParties(ids);
      assert.equal(store.cachedParties(ids), found);
      await store.updateClient(ids.clientId, { name: 'Renamed for the guard' }, Date.now());
      assert.equal(store.cachedParties(ids), undefined, 'emptied by a change');
      await store.findParties(ids);
      await store.transaction(async (tx) => {
        assert.equal(tx.cachedParties(ids), undefined, "a transaction reads its own writes, never the cache's");
      });
      assert.equal((await database.open({ partiesCacheMs: 0 })).cachedParties(ids), undefined, 'no cache, nothing cached');
    });

    test("one account's parties with two clients, and a client's own, are each their own", async () => {
      const ids = await parties();
      const { client: other } = await makeClient(store);
      const withOther = { ...ids, clientId: other.id };
      const machine = { clientId: other.id, userId: null, accountId: null };
      for (let round = 0; round < 2; round++) {
        assert.equal((await store.findParties(ids)).client?.id, ids.clientId);
        assert.equal(store.cachedParties(withOther)?.client?.id, round === 0 ? undefined : other.id, 'not the first client\'s parties');
        assert.equal((await store.findParties(withOther)).client?.id, other.id);
        const own = await store.findParties(machine);
        assert.deepEqual([own.client?.id, own.user, own.account], [other.id, null, null]);
        assert.equal(store.cachedParties(ids)?.client?.id, ids.clientId);
      }
    });

    test('changes made through the store are seen at once: client update, destroy, user lock, partner link', async () => {
      const ids = await parties();
      await store.findParties(ids);
      await store.updateClient(ids.clientId, { name: 'Renamed here' }, Date.now());
      assert.equal((await store.findParties(ids)).client?.name, 'Renamed here');

      const lockedAt = Date.now();
      await store.admin.setUserLocked(ids.userId, lockedAt, lockedAt);
      assert.equal((await store.findParties(ids)).user?.lockedAt, lockedAt);

      const partner = await store.createPartner({ name: `Partner ${Math.random()}`, partnerPortalId: `portal-${Math.random()}` }, Date.now());
      await store.linkAccountToPartner(ids.accountId, partner.id);
      assert.equal((await store.findParties(ids)).account?.partnerId, partner.id);

      await store.admin.destroyClient(ids.clientId, Date.now());
      assert.equal((await store.findParties(ids)).client, undefined, 'a destroyed client is gone at once');
    });

    test('a lookup that read the rows before a transaction committed is not kept', async () => {
      const ids = await parties();
      let staleRead: Promise<unknown> | undefined;
      await store.transaction(async (tx) => {
        await tx.updateClient(ids.clientId, { name: 'Committed' }, Date.now());
        // Outside the transaction, before its commit: the old name.
        staleRead = store.findParties(ids);
        assert.notEqual(((await staleRead) as { client?: { name: string } }).client?.name, 'Committed');
      });
      assert.equal((await store.findParties(ids)).client?.name, 'Committed');
    });

    test('inside a transaction, lookups read the database (they must see the transaction\'s own writes)', async () => {
      const ids = await parties();
      await store.findParties(ids);
      await store.transaction(async (tx) => {
        await tx.db.updateTable('clients').set({ name: 'Inside' }).where('id', '=', ids.clientId).execute();
        assert.equal((await tx.findParties(ids)).client?.name, 'Inside');
        throw Object.assign(new Error('roll back'), { rollback: true });
      }).catch((error: { rollback?: boolean }) => {
        if (!error.rollback) throw error;
      });
    });

    test('incomplete answers (a missing user or account) are not kept', async () => {
      const ids = await parties();
      const missing = { ...ids, userId: 'usr_not_yet' };
      assert.equal((await store.findParties(missing)).user, undefined);
      await store.db
        .insertInto('users')
        .values({ id: 'usr_not_yet', email: `late${Math.random()}@example.com`, password_hash: 'x', first_name: 'Late', last_name: 'User', is_admin: 0, locked_at: null, created_at: 1, updated_at: 1 })
        .execute();
      assert.equal((await store.findParties(missing)).user?.firstName, 'Late');
    });

    test('with a lifetime of 0 every lookup reads the database', async () => {
      const fresh = await database.open({ partiesCacheMs: 0 });
      const ids = await parties();
      await fresh.findParties(ids);
      await renameBehindTheStore(ids.clientId, 'Seen at once');
      assert.equal((await fresh.findParties(ids)).client?.name, 'Seen at once');
    });
  });
}

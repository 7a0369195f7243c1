/**
 * Migration 0003_standards on a database that already holds data, and the
 * store methods it serves, over every dialect.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Kysely, Migrator, sql } from 'kysely';
import { LatchkeyMigrations } from '../../src/store/kysely/migrations/index.js';
import type { Database } from '../../src/store/kysely/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { migrateToLatest, openStore } from '../../src/store/open.js';
import { dialects, indexNames, type TestDatabase } from '../support/databases.js';

const T = 1_700_000_000_000;

for (const dialect of await dialects()) {
  describe(`migration 0003_standards (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let db: Kysely<Database>;
    let migrator: Migrator;
    /** The indexes as they stood before 0003: the rebuild must keep every one. */
    const indexesBefore: Record<string, string[]> = {};

    before(async () => {
      database = await dialect.create();
      store = openStore({ databaseUrl: database.databaseUrl, sqliteFile: database.sqliteFile });
      db = store.db as Kysely<Database>;
      migrator = new Migrator({ db, provider: new LatchkeyMigrations(store.dialect) });
      const { error } = await migrator.migrateTo('0002_presets');
      if (error) throw error;
      // A connection as it stood before the migration.
      await sql`insert into users (id, email, password_hash, first_name, last_name, is_admin, created_at, updated_at) values ('usr_1', 'a@example.com', 'x', 'A', 'B', 0, ${T}, ${T})`.execute(db);
      await sql`insert into accounts (id, name, kind, created_at) values ('acc_1', 'Acme', 'company', ${T})`.execute(db);
      await sql`insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values ('lkc_1', 'App', '["https://a.example/cb"]', '["read"]', '["authorization_code"]', 0, 0, ${T}, ${T})`.execute(db);
      await sql`insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at) values ('grt_1', 'lkc_1', 'usr_1', 'acc_1', 'read', ${T}, ${T})`.execute(db);
      await sql`insert into authorization_codes (code_hash, grant_id, client_id, scopes, channel, created_at, expires_at) values ('code_1', 'grt_1', 'lkc_1', 'read', 'default', ${T}, ${T + 60_000})`.execute(db);
      await sql`insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at) values ('at_1', 'grt_1', 'lkc_1', 'usr_1', 'acc_1', 'read', ${T}, ${T + 3600_000})`.execute(db);
      await sql`insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at) values ('rt_1', 'grt_1', 'lkc_1', 'read', ${T}, ${T + 3600_000})`.execute(db);
      for (const table of ['grants', 'access_tokens']) indexesBefore[table] = await indexesOf(table);
      assert.ok(indexesBefore.grants?.includes('grants_connection'));
      await migrateToLatest(store);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    const indexesOf = (table: string) => indexNames(db as Kysely<unknown>, store.dialect, table);

    test('every existing row survives, with its values', async () => {
      const grant = await store.findGrant('grt_1');
      assert.equal(grant?.userId, 'usr_1');
      assert.equal(grant?.accountId, 'acc_1');
      const token = await store.findAccessToken('at_1');
      assert.deepEqual([token?.userId, token?.accountId, token?.signingKeyId], ['usr_1', 'acc_1', null]);
      assert.equal((await store.findRefreshToken('rt_1'))?.record.grantId, 'grt_1');
      assert.equal((await store.findCode('code_1'))?.record.grantId, 'grt_1');
      const client = await store.findClient('lkc_1');
      assert.equal(client?.accessTokenFormat, null);
      assert.equal(client?.isResourceServer, false);
    });

    async function assertIndexesKept(): Promise<void> {
      const grants = await indexesOf('grants');
      for (const name of [...(indexesBefore.grants ?? []), 'grants_machine']) assert.ok(grants.includes(name), `grants lost ${name}`);
      const tokens = await indexesOf('access_tokens');
      // access_tokens_grant goes later, on purpose (0006_tokens_by_grant).
      const kept = (indexesBefore.access_tokens ?? []).filter((name) => name !== 'access_tokens_grant');
      for (const name of [...kept, 'access_tokens_signing_key']) assert.ok(tokens.includes(name), `access_tokens lost ${name}`);
    }

    test('the indexes of the rebuilt tables are all there', async () => {
      assert.ok(indexesBefore.access_tokens?.includes('access_tokens_grant'));
      await assertIndexesKept();
    });

    test('foreign keys still hold and still cascade', async () => {
      if (dialect.name === 'sqlite') {
        const pragma = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
        assert.equal(pragma.rows[0]?.foreign_keys, 1, 'foreign keys are back on after the rebuild');
      }
      await assert.rejects(
        sql`insert into access_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at) values ('at_orphan', 'grt_missing', 'lkc_1', '', ${T}, ${T})`.execute(db),
      );
      await assert.rejects(
        sql`insert into authorization_codes (code_hash, grant_id, client_id, scopes, channel, created_at, expires_at) values ('code_orphan', 'grt_missing', 'lkc_1', '', 'default', ${T}, ${T})`.execute(db),
      );
    });

    test('one live machine grant per client, enforced by the database', async () => {
      const first = await store.saveMachineGrant({ clientId: 'lkc_1', scopes: ['read'], partnerId: null }, T);
      const again = await store.saveMachineGrant({ clientId: 'lkc_1', scopes: ['write'], partnerId: null }, T);
      assert.equal(again.id, first.id);
      assert.deepEqual(again.scopes, ['read', 'write']);
      await assert.rejects(
        sql`insert into grants (id, client_id, scopes, created_at, updated_at) values ('grt_dup', 'lkc_1', '', ${T}, ${T})`.execute(db),
        'a second live machine grant violates grants_machine',
      );
      await store.revokeGrant(first.id, T, 'test');
      const next = await store.saveMachineGrant({ clientId: 'lkc_1', scopes: ['read'], partnerId: null }, T);
      assert.notEqual(next.id, first.id, 'after a revocation a new connection starts');
      assert.equal((await store.findGrant(next.id))?.userId, null);
    });

    test('revokeAccessToken revokes one token once', async () => {
      assert.equal(await store.revokeAccessToken('at_1', T + 5), true);
      assert.equal(await store.revokeAccessToken('at_1', T + 6), false);
      assert.equal((await store.findAccessToken('at_1'))?.revokedAt, T + 5);
      assert.equal(await store.revokeAccessToken('at_missing', T), false);
    });

    test('down and up again: machine connections go, user connections stay', async () => {
      const down = await migrator.migrateTo('0002_presets');
      assert.equal(down.error, undefined);
      const machines = await sql<{ n: number | string }>`select count(*) as n from grants where user_id is null`.execute(db);
      assert.equal(Number(machines.rows[0]?.n), 0);
      await assert.rejects(
        sql`insert into grants (id, client_id, scopes, created_at, updated_at) values ('grt_null', 'lkc_1', '', ${T}, ${T})`.execute(db),
        'user_id is NOT NULL again',
      );
      await migrateToLatest(store);
      assert.equal((await store.findGrant('grt_1'))?.userId, 'usr_1');
      await assertIndexesKept();
      // Deleting the client cascades to its grants, codes and tokens through the rebuilt tables.
      await sql`delete from clients where id = 'lkc_1'`.execute(db);
      assert.equal(await store.findGrant('grt_1'), undefined);
      assert.equal(await store.findRefreshToken('rt_1'), undefined);
      assert.equal(await store.findCode('code_1'), undefined);
    });
  });
}

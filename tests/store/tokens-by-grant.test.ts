/**
 * Migrations 0006_tokens_by_grant and 0007_tokens_by_client, over every
 * dialect: tokens are revoked through their grant, and the token tables keep
 * no index by grant or by client.
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
const HOUR = 3_600_000;

for (const dialect of await dialects()) {
  describe(`tokens revoked through their grant (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let db: Kysely<Database>;
    let migrator: Migrator;

    async function insertGrant(id: string, revokedAt: number | null): Promise<void> {
      await sql`insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at, revoked_at) values (${id}, 'lkc_1', 'usr_1', 'acc_1', 'read', ${T}, ${T}, ${revokedAt})`.execute(db);
    }
    async function insertTokens(grantId: string, suffix: string, revokedAt: number | null = null): Promise<void> {
      await sql`insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at, revoked_at) values (${`at_${suffix}`}, ${grantId}, 'lkc_1', 'usr_1', 'acc_1', 'read', ${T}, ${T + HOUR}, ${revokedAt})`.execute(db);
      await sql`insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, revoked_at) values (${`rt_${suffix}`}, ${grantId}, 'lkc_1', 'read', ${T}, ${T + HOUR}, ${revokedAt})`.execute(db);
    }
    const indexesOf = (table: string) => indexNames(db as Kysely<unknown>, store.dialect, table);
    /** The token rows' own revoked_at, as stored. */
    async function storedRevokedAt(suffix: string): Promise<Array<number | null>> {
      const access = await sql<{ revoked_at: number | string | null }>`select revoked_at from access_tokens where token_hash = ${`at_${suffix}`}`.execute(db);
      const refresh = await sql<{ revoked_at: number | string | null }>`select revoked_at from refresh_tokens where token_hash = ${`rt_${suffix}`}`.execute(db);
      return [access.rows[0]?.revoked_at, refresh.rows[0]?.revoked_at].map((value) => (value === null || value === undefined ? null : Number(value)));
    }
    async function readRevokedAt(suffix: string): Promise<Array<number | null | undefined>> {
      return [(await store.findAccessToken(`at_${suffix}`))?.revokedAt, (await store.findRefreshToken(`rt_${suffix}`))?.record.revokedAt];
    }

    before(async () => {
      database = await dialect.create();
      store = openStore({ databaseUrl: database.databaseUrl, sqliteFile: database.sqliteFile });
      db = store.db as Kysely<Database>;
      migrator = new Migrator({ db, provider: new LatchkeyMigrations(store.dialect) });
      const { error } = await migrator.migrateTo('0005_admin');
      if (error) throw error;
      await sql`insert into users (id, email, password_hash, first_name, last_name, is_admin, created_at, updated_at) values ('usr_1', 'a@example.com', 'x', 'A', 'B', 0, ${T}, ${T})`.execute(db);
      await sql`insert into accounts (id, name, kind, created_at) values ('acc_1', 'Acme', 'company', ${T})`.execute(db);
      await sql`insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values ('lkc_1', 'App', '["https://a.example/cb"]', '["read"]', '["authorization_code"]', 0, 0, ${T}, ${T})`.execute(db);
      // As the code before 0006 left them: a revoked grant's tokens carry the revocation.
      await insertGrant('grt_old', T + 1);
      await insertTokens('grt_old', 'old', T + 1);
      await insertGrant('grt_live', null);
      await insertTokens('grt_live', 'live');
      assert.ok((await indexesOf('access_tokens')).includes('access_tokens_grant'));
      await migrateToLatest(store);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    test('the token tables have no index by grant or by client', async () => {
      for (const table of ['access_tokens', 'refresh_tokens']) {
        const indexes = await indexesOf(table);
        assert.ok(!indexes.includes(`${table}_grant`) && !indexes.includes(`${table}_client`), `${table}: ${indexes.join(', ')}`);
        assert.ok(indexes.includes(`${table}_expiry`), `${table} keeps its index by expiry: ${indexes.join(', ')}`);
      }
    });

    test('tokens revoked before the migration still read revoked', async () => {
      assert.deepEqual(await readRevokedAt('old'), [T + 1, T + 1]);
    });

    test("revoking a grant writes the grant's row only; its tokens read revoked, those written after it too", async () => {
      assert.deepEqual(await readRevokedAt('live'), [null, null]);
      await store.revokeGrant('grt_live', T + 10, 'test');
      assert.deepEqual(await readRevokedAt('live'), [T + 10, T + 10]);
      assert.deepEqual(await storedRevokedAt('live'), [null, null]);
      // A token saved after the revocation (a write that raced it) is revoked as well.
      await insertTokens('grt_live', 'late');
      assert.deepEqual(await readRevokedAt('late'), [T + 10, T + 10]);
    });

    test("a token revoked on its own before its grant keeps its own time", async () => {
      await insertGrant('grt_mixed', null);
      await insertTokens('grt_mixed', 'mixed');
      assert.equal(await store.revokeAccessToken('at_mixed', T + 20), true);
      await store.revokeGrant('grt_mixed', T + 30, 'test');
      assert.deepEqual(await readRevokedAt('mixed'), [T + 20, T + 30]);
    });

    test("destroying a client writes its grants' rows, no token row; its tokens read revoked", async () => {
      await sql`insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values ('lkc_2', 'Doomed', '["https://a.example/cb"]', '["read"]', '["authorization_code"]', 0, 0, ${T}, ${T})`.execute(db);
      await sql`insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at) values ('grt_doomed', 'lkc_2', 'usr_1', 'acc_1', 'read', ${T}, ${T})`.execute(db);
      await sql`insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at) values ('at_doomed', 'grt_doomed', 'lkc_2', 'usr_1', 'acc_1', 'read', ${T}, ${T + HOUR})`.execute(db);
      await sql`insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at) values ('rt_doomed', 'grt_doomed', 'lkc_2', 'read', ${T}, ${T + HOUR})`.execute(db);
      assert.deepEqual(await store.admin.destroyClient('lkc_2', T + 40), { grants: 1, secrets: 0 });
      assert.deepEqual(await storedRevokedAt('doomed'), [null, null]);
      assert.deepEqual(await readRevokedAt('doomed'), [T + 40, T + 40]);
    });

    test('down: the indexes return and the tokens of revoked grants are marked, as the older code reads them; up again', async () => {
      const toGrants = await migrator.migrateTo('0006_tokens_by_grant');
      assert.equal(toGrants.error, undefined);
      for (const table of ['access_tokens', 'refresh_tokens']) {
        const indexes = await indexesOf(table);
        assert.ok(indexes.includes(`${table}_client`) && !indexes.includes(`${table}_grant`), `${table} at 0006: ${indexes.join(', ')}`);
      }
      const down = await migrator.migrateTo('0005_admin');
      assert.equal(down.error, undefined);
      for (const table of ['access_tokens', 'refresh_tokens']) assert.ok((await indexesOf(table)).includes(`${table}_grant`), table);
      assert.deepEqual(await storedRevokedAt('live'), [T + 10, T + 10]);
      assert.deepEqual(await storedRevokedAt('late'), [T + 10, T + 10]);
      assert.deepEqual(await storedRevokedAt('mixed'), [T + 20, T + 30]);
      await migrateToLatest(store);
      assert.ok(!(await indexesOf('access_tokens')).includes('access_tokens_grant'));
      assert.ok(!(await indexesOf('refresh_tokens')).includes('refresh_tokens_client'));
      assert.deepEqual(await readRevokedAt('live'), [T + 10, T + 10]);
    });
  });
}

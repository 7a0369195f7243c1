/**
 * The standards around the core (issue 6):
 * - machine connections (client credentials, RFC 6749 §4.4): grants and access
 *   tokens without a user or account, at most one live machine grant per client;
 * - JWT access tokens (RFC 9068): the signing_keys table, the kid that signed
 *   each JWT (so a retired key stays published while its tokens live), and the
 *   per-client access_token_format;
 * - resource servers that may introspect any access token (RFC 7662): clients.is_resource_server.
 */
import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './index.js';

const NULLABLE: Record<string, string[]> = { grants: ['user_id', 'account_id'], access_tokens: ['user_id', 'account_id'] };

/**
 * SQLite cannot change a column's NOT NULL in place. This is the procedure of
 * https://www.sqlite.org/lang_altertable.html#otheralter: with foreign keys
 * off, create the new table from the current definition (so columns added by
 * other migrations are kept), copy, drop, rename, recreate the indexes, check
 * the foreign keys, all in one transaction.
 */
async function rebuildSqliteTables(db: Kysely<unknown>, change: (table: string, ddl: string) => string): Promise<void> {
  const pragma = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db);
  const foreignKeysWereOn = pragma.rows[0]?.foreign_keys === 1;
  // "PRAGMA foreign_keys=OFF" is a no-op inside a transaction, so it comes first.
  await sql`pragma foreign_keys = off`.execute(db);
  try {
    await db.transaction().execute(async (trx) => {
      for (const table of Object.keys(NULLABLE)) {
        const definition = await sql<{ sql: string }>`select sql from sqlite_master where type = 'table' and name = ${table}`.execute(trx);
        const ddl = definition.rows[0]?.sql;
        if (!ddl) throw new Error(`0003_standards: table ${table} not found`);
        const indexes = await sql<{ sql: string }>`select sql from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null`.execute(trx);
        const temporary = `${table}_rebuild`;
        const renamed = change(table, ddl).replace(/^create table\s+("?)[a-z_]+\1/i, `create table "${temporary}"`);
        if (!renamed.startsWith(`create table "${temporary}"`)) throw new Error(`0003_standards: cannot read the definition of ${table}`);
        await sql.raw(renamed).execute(trx);
        await sql.raw(`insert into "${temporary}" select * from "${table}"`).execute(trx);
        await sql.raw(`drop table "${table}"`).execute(trx);
        await sql.raw(`alter table "${temporary}" rename to "${table}"`).execute(trx);
        for (const index of indexes.rows) await sql.raw(index.sql).execute(trx);
      }
      const broken = await sql`pragma foreign_key_check`.execute(trx);
      if (broken.rows.length > 0) throw new Error('0003_standards: the rebuilt tables break a foreign key');
    });
  } finally {
    if (foreignKeysWereOn) await sql`pragma foreign_keys = on`.execute(db);
  }
}

function dropNotNull(table: string, ddl: string): string {
  let result = ddl;
  for (const column of NULLABLE[table] ?? []) {
    const pattern = new RegExp(`("${column}" text) not null`, 'i');
    if (!pattern.test(result)) throw new Error(`0003_standards: ${table}.${column} is not a NOT NULL text column`);
    result = result.replace(pattern, '$1');
  }
  return result;
}

function addNotNull(table: string, ddl: string): string {
  let result = ddl;
  for (const column of NULLABLE[table] ?? []) {
    const pattern = new RegExp(`("${column}" text)(?! not null)`, 'i');
    if (!pattern.test(result)) throw new Error(`0003_standards: ${table}.${column} not found`);
    result = result.replace(pattern, '$1 not null');
  }
  return result;
}

export function standards(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<unknown>) {
      if (dialect === 'postgres') {
        for (const [table, columns] of Object.entries(NULLABLE)) {
          for (const column of columns) {
            await db.schema.alterTable(table).alterColumn(column, (c) => c.dropNotNull()).execute();
          }
        }
      } else {
        await rebuildSqliteTables(db, dropNotNull);
      }
      // One live machine connection per client, enforced by the database for every instance.
      await sql`create unique index grants_machine on grants (client_id) where user_id is null and revoked_at is null`.execute(db);

      await db.schema.alterTable('access_tokens').addColumn('signing_key_id', 'text').execute();
      // Which JWTs a retired key signed that are still unexpired (it stays published until none are).
      await sql`create index access_tokens_signing_key on access_tokens (signing_key_id, expires_at) where signing_key_id is not null`.execute(db);

      await db.schema.alterTable('clients').addColumn('access_token_format', 'text').execute();
      await db.schema.alterTable('clients').addColumn('is_resource_server', 'integer', (c) => c.notNull().defaultTo(0)).execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'text', (c) => c.primaryKey())
        .addColumn('alg', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table if exists signing_keys`.execute(db);
      await db.schema.alterTable('clients').dropColumn('is_resource_server').execute();
      await db.schema.alterTable('clients').dropColumn('access_token_format').execute();
      await sql`drop index if exists access_tokens_signing_key`.execute(db);
      await db.schema.alterTable('access_tokens').dropColumn('signing_key_id').execute();
      await sql`drop index if exists grants_machine`.execute(db);
      // Machine connections cannot exist without the nullable columns.
      await sql`delete from access_tokens where user_id is null`.execute(db);
      await sql`delete from grants where user_id is null`.execute(db);
      if (dialect === 'postgres') {
        for (const [table, columns] of Object.entries(NULLABLE)) {
          for (const column of columns) {
            await db.schema.alterTable(table).alterColumn(column, (c) => c.setNotNull()).execute();
          }
        }
      } else {
        await rebuildSqliteTables(db, addNotNull);
      }
    },
  };
}

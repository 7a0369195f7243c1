/**
 * The token tables lose their index by client.
 *
 * Every token written entered `access_tokens_client` and
 * `refresh_tokens_client` at its client's place: the right edge of that
 * client's run of entries, one page per client. With one client that page is
 * shared by a whole commit's tokens; with many clients refreshing at once,
 * each token dirties a page of its own, which SQLite writes whole to the WAL
 * at commit. bench/floor.ts, 20,000 grants, SQLite: with 1,000 clients a
 * rotating refresh wrote 24.3 KiB and took 103-128 µs of storage work; with
 * one client 13.0 KiB and 71-104 µs; without the two indexes 10.1 KiB and
 * 68-71 µs either way (bench/ANALYSIS.md, ninth pass). Their one reader was
 * destroying a client, which marked each of its tokens revoked and counted
 * them; destroying a client revokes its grants, and a token reads revoked
 * through its grant (migration 0006), so it now writes no token row.
 *
 * Down: the indexes come back. Nothing else: the code before this migration
 * already reads a token revoked through its grant.
 */
import { type Kysely, type Migration, sql } from 'kysely';

const TABLES = ['access_tokens', 'refresh_tokens'] as const;

export function tokensByClient(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const table of TABLES) await sql`drop index if exists ${sql.id(`${table}_client`)}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      for (const table of TABLES) await db.schema.createIndex(`${table}_client`).ifNotExists().on(table).column('client_id').execute();
    },
  };
}

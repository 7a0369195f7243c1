/**
 * Tokens are revoked through their grant, and the token tables lose their
 * index by grant.
 *
 * Every token written entered `access_tokens_grant` or `refresh_tokens_grant`
 * at its grant's place: a random page of a large index, written whole to the
 * WAL at each commit. On SQLite those two indexes were 14.4 of a rotating
 * refresh's 26.5 KiB written and some 23 of its 60 µs of storage work at
 * 20,000 grants (bench/floor.ts; bench/ANALYSIS.md, eighth pass). Their one
 * reader was revokeGrant, which marked each of the grant's tokens; a token
 * lookup now joins its grant instead, so revoking a grant writes one row.
 *
 * The foreign keys stay. Nothing in Latchkey deletes a grant (clients are
 * tombstoned, users locked); a grant deleted by hand still takes its tokens
 * with it, by a scan of the token tables.
 *
 * Down: the indexes come back, and the tokens of revoked grants are marked
 * revoked, as the code before this migration expects.
 */
import { type Kysely, type Migration, sql } from 'kysely';

const TABLES = ['access_tokens', 'refresh_tokens'] as const;

export function tokensByGrant(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      for (const table of TABLES) await sql`drop index if exists ${sql.id(`${table}_grant`)}`.execute(db);
    },
    async down(db: Kysely<unknown>) {
      for (const table of TABLES) {
        await sql`update ${sql.id(table)} set revoked_at = (select g.revoked_at from grants g where g.id = ${sql.id(table)}.grant_id)
          where revoked_at is null and grant_id in (select id from grants where revoked_at is not null)`.execute(db);
        await db.schema.createIndex(`${table}_grant`).ifNotExists().on(table).column('grant_id').execute();
      }
    },
  };
}

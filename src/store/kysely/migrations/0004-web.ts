/**
 * The end user's web experience: counters for sign-in throttling and
 * lockout, shared by every instance (when Redis is not configured).
 */
import { type Kysely, type Migration, sql } from 'kysely';

export function web(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rate_limits')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('reset_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_limits_reset').on('rate_limits').column('reset_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table if exists rate_limits`.execute(db);
    },
  };
}

/**
 * The end user's web experience: counters for sign-in throttling and
 * lockout, shared by every instance (when Redis is not configured). A row
 * means nothing once expires_at (the end of its window or lockout) has passed.
 */
import { type Kysely, type Migration, sql } from 'kysely';

export function web(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('rate_limits')
        .addColumn('bucket', 'text', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rate_limits_expiry').on('rate_limits').column('expires_at').execute();
    },
    async down(db: Kysely<unknown>) {
      await sql`drop table if exists rate_limits`.execute(db);
    },
  };
}

/** What the seed presets need: a partner's confirmation of a connection (401GO). */
import type { Kysely, Migration } from 'kysely';

export function presets(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('grants').addColumn('confirmed_at', 'bigint').execute();
    },
    async down(db: Kysely<unknown>) {
      await db.schema.alterTable('grants').dropColumn('confirmed_at').execute();
    },
  };
}

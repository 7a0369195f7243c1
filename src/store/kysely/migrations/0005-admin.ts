/**
 * The operator's side (issue 4):
 * - admin API tokens, stored as SHA-256 hashes, named, revocable, with their last use;
 * - destroyed clients stay as tombstones (clients.destroyed_at), so that the
 *   connections a partner's clients made stay in its reports and the audit
 *   trail still names the client; a tombstone has no secrets and no live grant;
 * - indexes for the partner reports (by partner and month), the client list
 *   and the audit log filters (by actor, by subject).
 */
import { type Kysely, type Migration, sql } from 'kysely';

export function admin(): Migration {
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('admin_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_by', 'text', (c) => c.references('users.id').onDelete('set null'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint')
        .addColumn('last_used_at', 'bigint')
        .addColumn('last_used_ip', 'text')
        .addColumn('revoked_at', 'bigint')
        .execute();

      await db.schema.alterTable('clients').addColumn('destroyed_at', 'bigint').execute();
      await db.schema.createIndex('clients_partner').on('clients').columns(['partner_id', 'created_at']).execute();
      await db.schema.createIndex('grants_client').on('grants').columns(['client_id', 'created_at']).execute();
      await db.schema.createIndex('grants_partner').on('grants').columns(['partner_id', 'created_at']).execute();
      await db.schema.createIndex('accounts_partner').on('accounts').columns(['partner_id', 'created_at']).execute();
      await db.schema.createIndex('access_tokens_client').on('access_tokens').column('client_id').execute();
      await db.schema.createIndex('refresh_tokens_client').on('refresh_tokens').column('client_id').execute();
      await db.schema.createIndex('audit_events_actor').on('audit_events').columns(['actor', 'at']).execute();
      await db.schema.createIndex('audit_events_subject').on('audit_events').columns(['subject', 'at']).execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_id').execute();
    },
    async down(db: Kysely<unknown>) {
      for (const index of [
        'sessions_user',
        'audit_events_subject',
        'audit_events_actor',
        'refresh_tokens_client',
        'access_tokens_client',
        'accounts_partner',
        'grants_partner',
        'grants_client',
        'clients_partner',
      ]) {
        await sql`drop index if exists ${sql.id(index)}`.execute(db);
      }
      // Tombstones cannot be told from live clients without the column: they go.
      await sql`delete from clients where destroyed_at is not null`.execute(db);
      await db.schema.alterTable('clients').dropColumn('destroyed_at').execute();
      await sql`drop table if exists admin_tokens`.execute(db);
    },
  };
}

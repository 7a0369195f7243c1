/** The initial schema. */
import { type Kysely, type Migration, sql } from 'kysely';
import type { Dialect } from './index.js';

export function initial(dialect: Dialect): Migration {
  const time = 'bigint' as const;
  return {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('first_name', 'text', (c) => c.notNull())
        .addColumn('last_name', 'text', (c) => c.notNull())
        .addColumn('is_admin', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('locked_at', time)
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('partners')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('partner_portal_id', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('accounts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('partner_id', 'text', (c) => c.references('partners.id').onDelete('set null'))
        .addColumn('created_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('memberships')
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addPrimaryKeyConstraint('memberships_pk', ['user_id', 'account_id'])
        .execute();
      await db.schema.createIndex('memberships_account').on('memberships').column('account_id').execute();

      await db.schema
        .createTable('scopes')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();

      await db.schema
        .createTable('clients')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('is_public', 'integer', (c) => c.notNull())
        .addColumn('is_legacy', 'integer', (c) => c.notNull())
        .addColumn('access_token_ttl', 'integer')
        .addColumn('refresh_token_ttl', 'integer')
        .addColumn('partner_id', 'text', (c) => c.references('partners.id').onDelete('set null'))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('client_secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time)
        .execute();
      await db.schema.createIndex('client_secrets_client').on('client_secrets').column('client_id').execute();

      await db.schema
        .createTable('grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('client_id', 'text', (c) => c.notNull().references('clients.id').onDelete('cascade'))
        .addColumn('user_id', 'text', (c) => c.notNull().references('users.id').onDelete('cascade'))
        .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('partner_id', 'text', (c) => c.references('partners.id').onDelete('set null'))
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('updated_at', time, (c) => c.notNull())
        .addColumn('last_used_at', time)
        .addColumn('revoked_at', time)
        .addColumn('revoked_reason', 'text')
        .execute();
      await db.schema
        .createIndex('grants_connection')
        .on('grants')
        .columns(['client_id', 'user_id', 'account_id'])
        .execute();
      await db.schema.createIndex('grants_user').on('grants').column('user_id').execute();

      await db.schema
        .createTable('authorization_codes')
        .addColumn('code_hash', 'text', (c) => c.primaryKey())
        .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
        .addColumn('client_id', 'text', (c) => c.notNull())
        .addColumn('redirect_uri', 'text')
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('code_challenge', 'text')
        .addColumn('code_challenge_method', 'text')
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('consumed_at', time)
        .execute();
      await db.schema.createIndex('authorization_codes_grant').on('authorization_codes').column('grant_id').execute();
      await db.schema.createIndex('authorization_codes_expiry').on('authorization_codes').column('expires_at').execute();

      for (const table of ['access_tokens', 'refresh_tokens'] as const) {
        let builder = db.schema
          .createTable(table)
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('grant_id', 'text', (c) => c.notNull().references('grants.id').onDelete('cascade'))
          .addColumn('client_id', 'text', (c) => c.notNull());
        if (table === 'access_tokens') {
          builder = builder
            .addColumn('user_id', 'text', (c) => c.notNull())
            .addColumn('account_id', 'text', (c) => c.notNull());
        }
        builder = builder
          .addColumn('scopes', 'text', (c) => c.notNull())
          .addColumn('created_at', time, (c) => c.notNull())
          .addColumn('expires_at', time, (c) => c.notNull());
        if (table === 'refresh_tokens') builder = builder.addColumn('rotated_at', time);
        await builder.addColumn('revoked_at', time).execute();
        await db.schema.createIndex(`${table}_grant`).on(table).column('grant_id').execute();
        await db.schema.createIndex(`${table}_expiry`).on(table).column('expires_at').execute();
      }

      await db.schema
        .createTable('sessions')
        .addColumn('id_hash', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.references('users.id').onDelete('cascade'))
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .addColumn('authenticated_at', time)
        .execute();
      await db.schema.createIndex('sessions_expiry').on('sessions').column('expires_at').execute();

      await db.schema
        .createTable('pending_authorizations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('session_hash', 'text', (c) => c.notNull())
        .addColumn('request', 'text', (c) => c.notNull())
        .addColumn('account_id', 'text')
        .addColumn('created_at', time, (c) => c.notNull())
        .addColumn('expires_at', time, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('pending_authorizations_expiry').on('pending_authorizations').column('expires_at').execute();

      await db.schema
        .createTable('audit_events')
        .addColumn('id', dialect === 'postgres' ? 'bigserial' : 'integer', (c) =>
          dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
        )
        .addColumn('at', time, (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('actor', 'text')
        .addColumn('ip', 'text')
        .addColumn('subject', 'text')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_at').on('audit_events').column('at').execute();
      await db.schema.createIndex('audit_events_type').on('audit_events').columns(['type', 'at']).execute();
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        'audit_events',
        'pending_authorizations',
        'sessions',
        'refresh_tokens',
        'access_tokens',
        'authorization_codes',
        'grants',
        'client_secrets',
        'clients',
        'scopes',
        'memberships',
        'accounts',
        'partners',
        'users',
      ]) {
        await sql`drop table if exists ${sql.table(table)}`.execute(db);
      }
    },
  };
}

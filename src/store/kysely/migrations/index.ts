/**
 * One migration set for both dialects, one file per migration, applied in
 * name order. Kysely's Migrator takes a lock (a table lock on PostgreSQL), so
 * several instances may start at once.
 */
import type { Migration, MigrationProvider } from 'kysely';
import { initial } from './0001-initial.js';
import { presets } from './0002-presets.js';
import { standards } from './0003-standards.js';
import { web } from './0004-web.js';
import { admin } from './0005-admin.js';
import { tokensByGrant } from './0006-tokens-by-grant.js';
import { tokensByClient } from './0007-tokens-by-client.js';

export type Dialect = 'sqlite' | 'postgres';

/** Each entry builds the migration for a dialect. Add new ones at the end. */
const MIGRATIONS: Record<string, (dialect: Dialect) => Migration> = {
  '0001_initial': initial,
  '0002_presets': presets,
  '0003_standards': standards,
  '0004_web': web,
  '0005_admin': admin,
  '0006_tokens_by_grant': tokensByGrant,
  '0007_tokens_by_client': tokensByClient,
};

export class LatchkeyMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    return Object.fromEntries(Object.entries(MIGRATIONS).map(([name, build]) => [name, build(this.dialect)]));
  }
}

/** Opens the Store on SQLite (a file under the data directory) or PostgreSQL (DATABASE_URL). */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, type MigrationResult, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, LatchkeyMigrations } from './kysely/migrations/index.js';
import type { Database } from './kysely/schema.js';
import { KyselyStore } from './kysely/store.js';

export interface StoreOptions {
  /** postgres://... for PostgreSQL; otherwise SQLite. */
  databaseUrl?: string | undefined;
  /** Where the SQLite file lives (default ./data). */
  dataDir?: string | undefined;
  /** ":memory:" or a file path; overrides dataDir. */
  sqliteFile?: string | undefined;
  poolSize?: number | undefined;
}

export function dialectOf(options: StoreOptions): Dialect {
  return options.databaseUrl && /^postgres(ql)?:\/\//.test(options.databaseUrl) ? 'postgres' : 'sqlite';
}

/** BIGINT (oid 20) as a JS number: every stored integer is an epoch millisecond or a count. */
const pgTypes = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format),
};

export function openStore(options: StoreOptions): KyselyStore {
  const dialect = dialectOf(options);
  if (dialect === 'postgres') {
    const pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize ?? 10,
      types: pgTypes as pg.CustomTypesConfig,
    });
    // An idle connection that fails (database restart, network cut, or a connection
    // still closing after pool.end()) is reported as a pool 'error' event; with no
    // listener Node would crash. The pool already discards that connection and opens
    // another on demand, and a query in flight gets its own error.
    pool.on('error', () => {});
    return new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
  }
  let file = options.sqliteFile;
  if (file === undefined) {
    const dir = resolve(options.dataDir ?? 'data');
    mkdirSync(dir, { recursive: true });
    file = join(dir, 'latchkey.sqlite');
  }
  const database = new BetterSqlite3(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return new KyselyStore(new Kysely<Database>({ dialect: new SqliteDialect({ database }) }), 'sqlite');
}

function migrator(store: KyselyStore): Migrator {
  return new Migrator({ db: store.db as Kysely<Database>, provider: new LatchkeyMigrations(store.dialect) });
}

/** Brings the schema up to date; throws with the failing migration's error. */
export async function migrateToLatest(store: KyselyStore): Promise<MigrationResult[]> {
  const { error, results } = await migrator(store).migrateToLatest();
  if (error) throw error instanceof Error ? error : new Error(String(error));
  return results ?? [];
}

/** Names of migrations that have not run yet. */
export async function pendingMigrations(store: KyselyStore): Promise<string[]> {
  const migrations = await migrator(store).getMigrations();
  return migrations.filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}

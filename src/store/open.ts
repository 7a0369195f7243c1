/** Opens the Store on SQLite (a file under the data directory) or PostgreSQL (DATABASE_URL). */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Kysely, type LogEvent, sql, type MigrationResult, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import { type Dialect, LatchkeyMigrations } from './kysely/migrations/index.js';
import { withPreparedStatements } from './kysely/pg-prepared.js';
import { otherConnectionsCommits } from './kysely/sqlite-changes.js';
import { openSqlite } from './kysely/sqlite-driver.js';
import type { Database } from './kysely/schema.js';
import { ChangeListener } from './kysely/pg-changes.js';
import type { Scope } from '../core/model.js';
import { ReadCache } from './kysely/read-cache.js';
import { DEFAULT_CLIENT_CACHE_MS, DEFAULT_PARTIES_CACHE_MS, emptyCaches, type LoadedClient, type Parties, type StoreCaches } from './kysely/caches.js';
import { KyselyStore } from './kysely/store.js';

export interface StoreOptions {
  /** SQLite durability (default full: every commit synced). */
  sqliteSynchronous?: 'full' | 'normal' | undefined;
  /** postgres://... for PostgreSQL; otherwise SQLite. */
  databaseUrl?: string | undefined;
  /** Where the SQLite file lives (default ./data). */
  dataDir?: string | undefined;
  /** ":memory:" or a file path; overrides dataDir. */
  sqliteFile?: string | undefined;
  poolSize?: number | undefined;
  /** Called with each query's duration (Kysely's log): metrics. */
  onQuery?: ((event: LogEvent) => void) | undefined;
  /** How long a token's client, user and account may be reused once loaded, ms (0: never; see KyselyUserRepository.findParties). */
  partiesCacheMs?: number | undefined;
  /** How long a client and its secrets, and the scope registry, may be reused once loaded, ms (0: never; see KyselyClientRepository.findClientWithSecrets, KyselyScopeRepository.listScopes). */
  clientCacheMs?: number | undefined;
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
  const caches: StoreCaches = { parties: new ReadCache<Parties>(options.partiesCacheMs ?? DEFAULT_PARTIES_CACHE_MS) };
  const clientCacheMs = options.clientCacheMs ?? DEFAULT_CLIENT_CACHE_MS;
  if (dialect === 'postgres') {
    const clients = new ReadCache<LoadedClient>(clientCacheMs);
    const scopes = new ReadCache<readonly Scope[]>(clientCacheMs, { capacity: 1 });
    // Nothing is served from them until the listener hears every change (pg-changes.ts).
    const notified = [clients, scopes];
    for (const cache of notified) cache.suspend();
    caches.clients = clients;
    caches.scopes = scopes;
    // A connection attempt that hangs is given up and retried; an idle one that the network drops is found by keepalive.
    const listenerClient = () => new pg.Client({ connectionString: options.databaseUrl, connectionTimeoutMillis: 10_000, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
    caches.changes = new ChangeListener(listenerClient, {
      changed: () => emptyCaches(caches),
      listening: () => {
        for (const cache of notified) cache.resume();
      },
      lost: () => {
        for (const cache of notified) cache.suspend();
      },
    });
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
    return new KyselyStore(new Kysely<Database>({ dialect: new PostgresDialect({ pool: withPreparedStatements(pool) }), log: options.onQuery }), 'postgres', {
      audit: new Set(),
      pool: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    }, caches);
  }
  let file = options.sqliteFile;
  if (file === undefined) {
    const dir = resolve(options.dataDir ?? 'data');
    mkdirSync(dir, { recursive: true });
    file = join(dir, 'latchkey.sqlite');
  }
  const sqlite = openSqlite({ file, synchronous: options.sqliteSynchronous ?? 'full' }, options.onQuery);
  // Before either serves, a commit by another connection to the file empties every cache (sqlite-changes.ts).
  const beforeServing = otherConnectionsCommits(sqlite.dataVersion, () => emptyCaches(caches));
  caches.clients = new ReadCache<LoadedClient>(clientCacheMs, { beforeServing });
  caches.scopes = new ReadCache<readonly Scope[]>(clientCacheMs, { capacity: 1, beforeServing });
  return new KyselyStore(new Kysely<Database>({ dialect: sqlite.dialect, log: options.onQuery }), 'sqlite', undefined, caches, sqlite.immediate);
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

/** The advisory lock key of the first-start steps ("LKST"). */
const STARTUP_LOCK = 0x4c4b5354;

/**
 * Runs the start-up steps (migrations, first-run bootstrap, the first signing
 * key) while holding a PostgreSQL advisory lock, so that instances started at
 * the same moment on one database do them one after the other: the first
 * migrates and bootstraps, the others find it done. The lock is held on its own
 * connection (the work uses others) and released even if the work fails; a
 * crashed instance's lock goes with its connection. SQLite runs the work as is.
 */
export async function withStartupLock<T>(store: KyselyStore, work: () => Promise<T>): Promise<T> {
  if (store.dialect !== 'postgres') return work();
  return (store.db as Kysely<Database>).connection().execute(async (connection) => {
    await sql`select pg_advisory_lock(${STARTUP_LOCK})`.execute(connection);
    try {
      return await work();
    } finally {
      await sql`select pg_advisory_unlock(${STARTUP_LOCK})`.execute(connection);
    }
  });
}

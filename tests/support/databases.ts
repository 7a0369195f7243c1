/**
 * The dialects every store and flow suite runs against. SQLite always;
 * PostgreSQL when TEST_DATABASE_URL is set or a server answers on
 * 127.0.0.1:5432. In CI (CI=true) PostgreSQL is required, never skipped.
 * Each test database gets a unique name and is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Kysely, sql } from 'kysely';
import pg from 'pg';
import { migrateToLatest, openStore, type StoreOptions } from '../../src/store/open.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';

const ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  dialect: 'sqlite' | 'postgres';
  /** For PostgreSQL, the URL of the fresh database; for SQLite, undefined. */
  databaseUrl: string | undefined;
  /** For SQLite, the file. */
  sqliteFile: string | undefined;
  /** Opens (another) migrated store on this database, with these of the store's options. */
  open(options?: Pick<StoreOptions, 'partiesCacheMs' | 'clientCacheMs' | 'onQuery'>): Promise<KyselyStore>;
  drop(): Promise<void>;
}

let postgresAvailable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (error) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL is required in CI but ${ADMIN_URL} did not answer: ${(error as Error).message}`);
    }
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export function postgresReachable(): Promise<boolean> {
  postgresAvailable ??= probePostgres();
  return postgresAvailable;
}

function withDatabase(url: string, name: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
}

async function createPostgres(): Promise<TestDatabase> {
  const name = `latchkey_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const databaseUrl = withDatabase(ADMIN_URL, name);
  const opened: KyselyStore[] = [];
  return {
    dialect: 'postgres',
    databaseUrl,
    sqliteFile: undefined,
    async open(options = {}) {
      const store = openStore({ databaseUrl, poolSize: 20, ...options });
      opened.push(store);
      await migrateToLatest(store);
      return store;
    },
    async drop() {
      await Promise.all(opened.map((store) => store.close().catch(() => {})));
      const dropper = new pg.Client({ connectionString: ADMIN_URL });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

function createSqlite(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
  const sqliteFile = join(dir, 'latchkey.sqlite');
  const opened: KyselyStore[] = [];
  return {
    dialect: 'sqlite',
    databaseUrl: undefined,
    sqliteFile,
    async open(options = {}) {
      const store = openStore({ sqliteFile, ...options });
      opened.push(store);
      await migrateToLatest(store);
      return store;
    },
    async drop() {
      await Promise.all(opened.map((store) => store.close().catch(() => {})));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DialectCase {
  name: 'sqlite' | 'postgres';
  /** Set when the dialect cannot run here (outside CI only). */
  skip: string | false;
  create(): Promise<TestDatabase>;
}

/** The dialects to loop a suite over (Kysely style: one suite, every dialect). */
export async function dialects(): Promise<DialectCase[]> {
  const hasPostgres = await postgresReachable();
  return [
    { name: 'sqlite', skip: false, create: async () => createSqlite() },
    {
      name: 'postgres',
      skip: hasPostgres ? false : `PostgreSQL not reachable at ${ADMIN_URL} (set TEST_DATABASE_URL); skipped outside CI`,
      create: createPostgres,
    },
  ];
}

/** The names of a table's indexes, sorted, primary keys left out (SQLite's implicit ones too). */
export async function indexNames(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres', table: string): Promise<string[]> {
  const query =
    dialect === 'sqlite'
      ? sql<{ name: string }>`select name from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null`
      : sql<{ name: string }>`select indexname as name from pg_indexes where tablename = ${table} and indexname not like '%_pkey'`;
  return (await query.execute(db)).rows.map((row) => row.name).sort();
}

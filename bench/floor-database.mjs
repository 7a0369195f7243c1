// The floors' database (bench/floor.ts, bench/servers/durable-floor.mjs): a new
// SQLite file with Latchkey's schema, made by its own migrations, opened on
// better-sqlite3 as Latchkey opens it (WAL, commits synced by the caller), with
// the one user ('u') and account ('a') the floors' grants belong to.
import BetterSqlite3 from 'better-sqlite3';

/**
 * `latchkey`: the store's openStore and migrateToLatest, from src/ or dist/
 * (the caller's to choose: a script run through tsx, or plain node).
 */
export async function openFloorDatabase({ openStore, migrateToLatest }, file) {
  const store = openStore({ sqliteFile: file });
  await migrateToLatest(store);
  await store.close();
  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  db.pragma('temp_store = MEMORY');
  const now = Date.now();
  db.prepare(`insert into users (id, email, password_hash, first_name, last_name, is_admin, created_at, updated_at) values ('u', 'u@example.com', 'x', 'U', 'U', 0, ?, ?)`).run(now, now);
  db.prepare(`insert into accounts (id, name, kind, created_at) values ('a', 'A', 'company', ?)`).run(now);
  return db;
}

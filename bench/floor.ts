/**
 * The storage floor of one rotating refresh on SQLite: the statements the
 * token endpoint runs for it (four lookups, two updates, two inserts), run
 * straight on better-sqlite3 in a loop, with no HTTP, no Kysely and no
 * JavaScript of Latchkey's own, ten refreshes per commit as group commit
 * batches them. Whatever the server does, it cannot refresh faster than this
 * on this machine with every token stored.
 *
 *   node --import tsx bench/floor.ts [grants]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { hashCredential } from '../src/core/secrets.js';
import { migrateToLatest, openStore } from '../src/store/open.js';

const grants = Number(process.argv[2] ?? 20_000);
const BATCH = 10;
const ROUNDS = 1_000;

const dir = mkdtempSync(join(tmpdir(), 'latchkey-floor-'));
const file = join(dir, 'latchkey.sqlite');
try {
  const store = openStore({ sqliteFile: file });
  await migrateToLatest(store);
  await store.close();

  const db = new BetterSqlite3(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const now = Date.now();
  db.prepare(`insert into users (id, email, password_hash, first_name, last_name, is_admin, created_at, updated_at) values ('u', 'u@example.com', 'x', 'U', 'U', 0, ?, ?)`).run(now, now);
  db.prepare(`insert into accounts (id, name, kind, created_at) values ('a', 'A', 'company', ?)`).run(now);
  db.prepare(`insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values ('c', 'C', '[]', '["read"]', '["refresh_token"]', 0, 0, ?, ?)`).run(now, now);
  db.prepare(`insert into client_secrets (id, client_id, secret_hash, created_at) values ('s', 'c', 'h', ?)`).run(now);
  const insertGrant = db.prepare(`insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at) values (?, 'c', 'u', 'a', 'read', ?, ?)`);
  const insertRefresh = db.prepare(
    `insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, rotated_at, revoked_at) values (?, ?, 'c', 'read', ?, ?, null, null)`,
  );
  const insertAccess = db.prepare(
    `insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at, revoked_at, signing_key_id) values (?, ?, 'c', 'u', 'a', 'read', ?, ?, null, null)`,
  );
  const tokens: Array<{ hash: string; grant: string }> = [];
  db.transaction(() => {
    for (let i = 0; i < grants; i++) {
      const grant = `g${i}`;
      const hash = hashCredential(randomBytes(32).toString('base64url'));
      insertGrant.run(grant, now, now);
      insertRefresh.run(hash, grant, now, now + 86_400_000);
      tokens.push({ hash, grant });
    }
  })();

  const findClient = db.prepare(`select * from clients where id = ? and destroyed_at is null`);
  const secrets = db.prepare(`select secret_hash from client_secrets where client_id = ? and (expires_at is null or expires_at > ?)`);
  const findRefresh = db.prepare(`select * from refresh_tokens where token_hash = ?`);
  const findGrant = db.prepare(`select * from grants where id = ?`);
  const retire = db.prepare(`update refresh_tokens set rotated_at = ? where token_hash = ? and rotated_at is null and revoked_at is null`);
  const touch = db.prepare(`update grants set last_used_at = ? where id = ?`);

  let next = 0;
  const refreshOne = () => {
    const token = tokens[next++ % tokens.length] as { hash: string; grant: string };
    findClient.get('c');
    secrets.all('c', now);
    findRefresh.get(token.hash);
    findGrant.get(token.grant);
    retire.run(now, token.hash);
    touch.run(now, token.grant);
    insertAccess.run(hashCredential(randomBytes(32).toString('base64url')), token.grant, now, now + 3_600_000);
    const fresh = hashCredential(randomBytes(32).toString('base64url'));
    insertRefresh.run(fresh, token.grant, now, now + 86_400_000);
  };
  const batch = db.transaction(() => {
    for (let i = 0; i < BATCH; i++) refreshOne();
  });
  for (let i = 0; i < 50; i++) batch();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) batch();
  const micros = Number(process.hrtime.bigint() - started) / 1000 / (ROUNDS * BATCH);
  console.log(
    `SQLite storage floor of one rotating refresh with ${grants.toLocaleString('en-US')} grants: ${micros.toFixed(0)} µs (at most ${Math.round(1e6 / micros).toLocaleString('en-US')} refreshes/s on one core, before fsync, HTTP and the server's own work)`,
  );
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The storage floor of one rotating refresh on SQLite: the statements the
 * token endpoint runs for it (the client with its secrets, the refresh token
 * with its grant, the spend and two inserts, each unit in its savepoint), run
 * straight on better-sqlite3 in a loop, with no HTTP, no Kysely and no
 * JavaScript of Latchkey's own, five refreshes per commit as group commit
 * batches them at the benchmark's sixteen connections. Whatever the server
 * does, it cannot refresh faster than this on this machine with every token
 * stored. Also reports the bytes written per refresh (the WAL's frames).
 *
 *   node --import tsx bench/floor.ts [grants] [--with-grant-indexes] [--clients N] [--without-client-indexes]
 *
 * --with-grant-indexes adds back the token tables' indexes by grant that
 * migration 0006 dropped, to measure what they cost. --clients spreads the
 * grants over N clients (one by default, as the benchmark has), refreshed in
 * turn; --without-client-indexes drops the token tables' indexes by client,
 * to measure what those cost when many clients refresh at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashCredential, newCredential, newId } from '../src/core/secrets.js';
import { migrateToLatest, openStore } from '../src/store/open.js';
import { openFloorDatabase } from './floor-database.mjs';

const args = process.argv.slice(2);
const withGrantIndexes = args.includes('--with-grant-indexes');
const withoutClientIndexes = args.includes('--without-client-indexes');
const clientsAt = args.indexOf('--clients');
const clients = clientsAt === -1 ? 1 : Number(args[clientsAt + 1]);
const grants = Number(args.find((arg, index) => !arg.startsWith('--') && (clientsAt === -1 || index !== clientsAt + 1)) ?? 20_000);
if (!Number.isInteger(clients) || clients < 1 || !Number.isInteger(grants) || grants < clients) throw new TypeError('usage: floor.ts [grants] [--clients N] (N ≥ 1, grants ≥ N)');
const BATCH = 5;
const ROUNDS = 4_000;

/** Bytes this process has handed to write(2) and friends so far (Linux). */
function bytesWritten(): number {
  return Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
}

const dir = mkdtempSync(join(tmpdir(), 'latchkey-floor-'));
const file = join(dir, 'latchkey.sqlite');
try {
  const db = await openFloorDatabase({ openStore, migrateToLatest }, file);
  if (withGrantIndexes) {
    for (const table of ['access_tokens', 'refresh_tokens']) db.exec(`create index ${table}_grant on ${table} (grant_id)`);
  }
  if (withoutClientIndexes) {
    for (const table of ['access_tokens', 'refresh_tokens']) db.exec(`drop index ${table}_client`);
  }
  const now = Date.now();
  const insertClient = db.prepare(
    `insert into clients (id, name, redirect_uris, scopes, grant_types, is_public, is_legacy, created_at, updated_at) values (?, 'C', '[]', '["read"]', '["refresh_token"]', 0, 0, ?, ?)`,
  );
  const insertSecret = db.prepare(`insert into client_secrets (id, client_id, secret_hash, created_at) values (?, ?, 'h', ?)`);
  const insertGrant = db.prepare(`insert into grants (id, client_id, user_id, account_id, scopes, created_at, updated_at) values (?, ?, 'u', 'a', 'read', ?, ?)`);
  const insertRefresh = db.prepare(
    `insert into refresh_tokens (token_hash, grant_id, client_id, scopes, created_at, expires_at, rotated_at, revoked_at) values (?, ?, ?, 'read', ?, ?, null, null)`,
  );
  const insertAccess = db.prepare(
    `insert into access_tokens (token_hash, grant_id, client_id, user_id, account_id, scopes, created_at, expires_at, revoked_at, signing_key_id) values (?, ?, ?, 'u', 'a', 'read', ?, ?, null, null)`,
  );
  const clientIds = Array.from({ length: clients }, () => newId('lkc_'));
  const tokens: Array<{ hash: string; grant: string; client: string }> = [];
  db.transaction(() => {
    for (const client of clientIds) {
      insertClient.run(client, now, now);
      insertSecret.run(newId('cs_'), client, now);
    }
    for (let i = 0; i < grants; i++) {
      // Random, as the server's grant ids are: consecutive refreshes land on unrelated index pages.
      const grant = newId('grt_');
      const client = clientIds[i % clients] as string;
      const hash = hashCredential(newCredential('refreshToken'));
      insertGrant.run(grant, client, now, now);
      insertRefresh.run(hash, grant, client, now, now + 86_400_000);
      tokens.push({ hash, grant, client });
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');

  const findClient = db.prepare(
    `select c.*, s.secret_hash from clients c left join client_secrets s on s.client_id = c.id and (s.expires_at is null or s.expires_at > ?) where c.id = ? and c.destroyed_at is null`,
  );
  const findRefresh = db.prepare(`select t.*, g.revoked_at as g_revoked_at from refresh_tokens t join grants g on g.id = t.grant_id where t.token_hash = ?`);
  const retire = db.prepare(
    `update refresh_tokens set rotated_at = ? where token_hash = ? and rotated_at is null and revoked_at is null and exists (select id from grants where id = ? and revoked_at is null)`,
  );
  const savepoint = db.prepare('savepoint unit');
  const release = db.prepare('release savepoint unit');

  let next = 0;
  const refreshOne = () => {
    const token = tokens[next++ % tokens.length] as { hash: string; grant: string; client: string };
    findClient.all(now, token.client);
    findRefresh.get(token.hash);
    savepoint.run();
    retire.run(now, token.hash, token.grant);
    insertAccess.run(hashCredential(newCredential('accessToken')), token.grant, token.client, now, now + 3_600_000);
    const fresh = hashCredential(newCredential('refreshToken'));
    insertRefresh.run(fresh, token.grant, token.client, now, now + 86_400_000);
    release.run();
    token.hash = fresh;
  };
  const batch = db.transaction(() => {
    for (let i = 0; i < BATCH; i++) refreshOne();
  });
  for (let i = 0; i < 100; i++) batch();
  const writtenBefore = bytesWritten();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ROUNDS; i++) batch();
  const refreshes = ROUNDS * BATCH;
  const micros = Number(process.hrtime.bigint() - started) / 1000 / refreshes;
  const kib = (bytesWritten() - writtenBefore) / 1024 / refreshes;
  console.log(
    `SQLite storage floor of one rotating refresh with ${grants.toLocaleString('en-US')} grants of ${clients.toLocaleString('en-US')} client(s)${withGrantIndexes ? ', with the indexes by grant' : ''}${withoutClientIndexes ? ', without the indexes by client' : ''}: ${micros.toFixed(1)} µs and ${kib.toFixed(1)} KiB written (at most ${Math.round(1e6 / micros).toLocaleString('en-US')} refreshes/s on one core, before fsync, HTTP and the server's own work)`,
  );
  db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Client authentication's cache of a client and its secrets
 * (KyselyClientRepository.findClientWithSecrets), on every dialect. On
 * PostgreSQL it serves once its listener hears every change (pg-changes.ts),
 * and a change made through any other store on the database empties it as it
 * commits; the resource guard's parties hear the same notifications. On SQLite
 * a commit by any other connection to the file (another store, the sqlite3
 * shell) is seen before the next lookup (sqlite-changes.ts).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { hashCredential } from '../../src/core/secrets.js';
import { ChangeListener } from '../../src/store/kysely/pg-changes.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { cachesServing, changeReaches } from '../support/caches.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { eventually } from '../support/eventually.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

for (const dialect of await dialects()) {
  describe(`client cache (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    /** This instance, counting the statements it sends. */
    let store: KyselyStore;
    let statements = 0;
    /** Another instance on the same database. */
    let other: KyselyStore;

    before(async () => {
      database = await dialect.create();
      // The parties' lifetime longer than any wait below: what reaches them is the notification.
      store = await database.open({
        partiesCacheMs: 60_000,
        onQuery: () => {
          statements += 1;
        },
      });
      other = await database.open();
      await seedScopes(store);
    });
    after(async () => database?.drop());

    /** A change behind every store's back (by hand, in SQL). */
    async function renameByHand(clientId: string, name: string) {
      await store.db.updateTable('clients').set({ name }).where('id', '=', clientId).execute();
    }

    async function nameSeen(clientId: string): Promise<string | undefined> {
      return (await store.findClientWithSecrets(clientId, Date.now()))?.client.name;
    }

    /** A client this store has loaded since it began listening: the next lookup is served from memory. */
    async function cachedClient() {
      const { client, secret } = await makeClient(store);
      await store.findClientWithSecrets(client.id, Date.now());
      await cachesServing(store);
      await store.findClientWithSecrets(client.id, Date.now());
      return { client, secret };
    }

    test('once listening, a client and its secrets are served from memory', async () => {
      const { client, secret } = await cachedClient();
      await renameByHand(client.id, 'Changed by hand');
      const before = statements;
      const found = await store.findClientWithSecrets(client.id, Date.now());
      assert.equal(statements, before, 'no statement sent');
      assert.equal(found?.client.name, 'Partner App');
      assert.deepEqual(found?.secretHashes, [hashCredential(secret)]);
      assert.ok(Object.isFrozen(found?.client), 'shared by requests, so frozen');
    });

    test('a change through another instance reaches this one as it commits: secret rotated out, client updated, client destroyed', async () => {
      const { client, secret } = await cachedClient();
      const now = Date.now();
      await other.rotateClientSecret(client.id, hashCredential('lk_cs_replacement'), now, now);
      await changeReaches(store, 'the old secret refused', async () => {
        const hashes = (await store.findClientWithSecrets(client.id, Date.now()))?.secretHashes ?? [];
        return !hashes.includes(hashCredential(secret)) && hashes.includes(hashCredential('lk_cs_replacement'));
      });

      await store.findClientWithSecrets(client.id, Date.now());
      await other.updateClient(client.id, { name: 'Renamed elsewhere' }, Date.now());
      await changeReaches(store, 'the new name', async () => (await nameSeen(client.id)) === 'Renamed elsewhere');

      await other.admin.destroyClient(client.id, Date.now());
      await changeReaches(store, 'the client gone', async () => (await store.findClientWithSecrets(client.id, Date.now())) === undefined);
    });

    test('changes through this instance apply at once, without waiting for the notification', async () => {
      const { client, secret } = await cachedClient();
      const now = Date.now();
      await store.rotateClientSecret(client.id, hashCredential('lk_cs_here'), now, now);
      assert.deepEqual((await store.findClientWithSecrets(client.id, now + 1))?.secretHashes, [hashCredential('lk_cs_here')]);
      assert.notEqual(secret, 'lk_cs_here');
    });

    test('a cached secret stops working at its expiry, without a statement', async () => {
      const { client, secret } = await cachedClient();
      const now = Date.now();
      // Rotated elsewhere: once this store sees the new secret, the notification has come and gone.
      await other.rotateClientSecret(client.id, hashCredential('lk_cs_next'), now, now + 60_000);
      await changeReaches(store, 'the new secret', async () => (await store.findClientWithSecrets(client.id, now))?.secretHashes.length === 2);
      const before = statements;
      assert.deepEqual((await store.findClientWithSecrets(client.id, now + 60_000))?.secretHashes, [hashCredential('lk_cs_next')]);
      assert.deepEqual((await store.findClientWithSecrets(client.id, now + 59_999))?.secretHashes.sort(), [hashCredential(secret), hashCredential('lk_cs_next')].sort());
      assert.equal(statements, before, 'both answered from memory');
    });

    if (dialect.name === 'sqlite') {
      test('SQLite: a change by hand in another process is seen by the next lookup, and empties the other caches', async () => {
        const { user, accounts } = await makeUser(store, `c${Math.random().toString(36).slice(2)}@example.com`);
        const { client } = await cachedClient();
        const ids = { clientId: client.id, userId: user.id, accountId: (accounts[0] as { id: string }).id };
        await store.findParties(ids);
        // Another process, as the sqlite3 shell or the CLI beside the server would be.
        const script = "const db = new (require(process.argv[1]))(process.argv[2]); db.prepare('update clients set name = ? where id = ?').run('Renamed in the shell', process.argv[3]); db.close();";
        execFileSync(process.execPath, ['-e', script, createRequire(import.meta.url).resolve('better-sqlite3'), database.sqliteFile as string, client.id]);
        assert.equal(await nameSeen(client.id), 'Renamed in the shell');
        assert.equal((await store.findParties(ids)).client?.name, 'Renamed in the shell', "the guard's parties were emptied with it");
        const before = statements;
        assert.equal(await nameSeen(client.id), 'Renamed in the shell');
        assert.equal(statements, before, 'served from memory again');
      });
    }

    test('inside a transaction, the lookup reads the database', async () => {
      const { client } = await cachedClient();
      await store
        .transaction(async (tx) => {
          await tx.db.updateTable('clients').set({ name: 'Inside' }).where('id', '=', client.id).execute();
          assert.equal((await tx.findClientWithSecrets(client.id, Date.now()))?.client.name, 'Inside');
          throw Object.assign(new Error('roll back'), { rollback: true });
        })
        .catch((error: { rollback?: boolean }) => {
          if (!error.rollback) throw error;
        });
    });

    test('with a lifetime of 0 every lookup reads the database', async () => {
      const uncached = await database.open({ clientCacheMs: 0 });
      const { client } = await makeClient(store);
      await uncached.findClientWithSecrets(client.id, Date.now());
      await cachesServing(uncached);
      await uncached.findClientWithSecrets(client.id, Date.now());
      await renameByHand(client.id, 'Seen at once');
      assert.equal((await uncached.findClientWithSecrets(client.id, Date.now()))?.client.name, 'Seen at once');
    });

    // What follows is PostgreSQL's listener: SQLite has none.
    if (dialect.name === 'sqlite') return;

    test('while the listener is down nothing is served from memory; it listens again by itself', async () => {
      const { client } = await cachedClient();
      const admin = new pg.Client({ connectionString: database.databaseUrl });
      await admin.connect();
      try {
        const { rowCount } = await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query = 'LISTEN latchkey_changes'");
        assert.ok((rowCount ?? 0) >= 1, 'a listening connection to cut');
      } finally {
        await admin.end();
      }
      await eventually('the listener lost', () => store.caches.changes?.isListening === false);
      await renameByHand(client.id, 'While deaf');
      assert.equal(await nameSeen(client.id), 'While deaf', 'read from the database');
      await eventually('listening again', () => store.caches.changes?.isListening === true);
      await nameSeen(client.id);
      await renameByHand(client.id, 'Cached again');
      assert.equal(await nameSeen(client.id), 'While deaf', 'served from memory again');
    });

    test("the resource guard's parties hear other instances' changes too", async () => {
      const { user, accounts } = await makeUser(store, `c${Math.random().toString(36).slice(2)}@example.com`);
      const { client } = await cachedClient();
      const ids = { clientId: client.id, userId: user.id, accountId: (accounts[0] as { id: string }).id };
      await store.findParties(ids);
      await other.updateClient(client.id, { name: 'Renamed for the guard' }, Date.now());
      await eventually('the guard sees it', async () => (await store.findParties(ids)).client?.name === 'Renamed for the guard');
    });

    test('a listener that cannot connect keeps trying, reports nothing as heard, and closes cleanly', async () => {
      const heard: string[] = [];
      let attempts = 0;
      // Port 1: nothing listens there, so every attempt is refused.
      const listener = new ChangeListener(
        () => {
          attempts += 1;
          return new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:1/latchkey', connectionTimeoutMillis: 1000 });
        },
        { changed: () => heard.push('changed'), listening: () => heard.push('listening'), lost: () => heard.push('lost') },
      );
      listener.start();
      await eventually('a second attempt', () => attempts >= 2);
      assert.equal(listener.isListening, false);
      await listener.close();
      const attemptsAtClose = attempts;
      await sleep(600);
      assert.equal(attempts, attemptsAtClose, 'no attempt after close');
      assert.deepEqual(heard, []);
    });
  });
}

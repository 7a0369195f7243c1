/**
 * SQLite group commit (src/store/kysely/group-commit.ts): transactions started
 * together share one commit, yet each succeeds or fails alone.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { openStore } from '../../src/store/open.js';

test('a transaction that throws in a shared batch is rolled back alone; the others commit', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite') });
  try {
    await sql`create table notes (text text not null)`.execute(store.db);
    const insert = (tx: KyselyStore, text: string) => sql`insert into notes (text) values (${text})`.execute(tx.db);
    // Started in one turn of the event loop: one batch.
    const outcomes = await Promise.allSettled([
      store.transaction(async (tx) => {
        await insert(tx, 'first');
        return 'first done';
      }),
      store.transaction(async (tx) => {
        await insert(tx, 'doomed');
        throw new Error('the second changes its mind');
      }),
      store.transaction(async (tx) => {
        await insert(tx, 'third');
        await insert(tx, 'third again');
        return 'third done';
      }),
    ]);
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message)),
      ['first done', 'the second changes its mind', 'third done'],
    );
    const { rows } = await sql<{ text: string }>`select text from notes order by rowid`.execute(store.db);
    assert.deepEqual(
      rows.map((row) => row.text),
      ['first', 'third', 'third again'],
    );
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a read outside a transaction sees what is committed, never a transaction in progress', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite') });
  try {
    await sql`create table notes (text text not null)`.execute(store.db);
    const texts = async () => (await sql<{ text: string }>`select text from notes order by rowid`.execute(store.db)).rows.map((row) => row.text);
    await sql`insert into notes (text) values ('committed')`.execute(store.db);
    assert.deepEqual(await texts(), ['committed'], 'an idle writer reads its own commits');
    await store.transaction(async (tx) => {
      await sql`insert into notes (text) values ('in progress')`.execute(tx.db);
      assert.deepEqual(await texts(), ['committed'], 'the writer is in a transaction: the read goes elsewhere and sees only commits');
    });
    assert.deepEqual(await texts(), ['committed', 'in progress']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

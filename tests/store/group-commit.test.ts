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

/** A store on a new file with a notes table, the SQL of each query it runs, and an insert of a note. */
async function notesStore(dir: string) {
  const queries: string[] = [];
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite'), onQuery: (event) => queries.push(event.query.sql) });
  await sql`create table notes (text text not null)`.execute(store.db);
  const insert = (tx: KyselyStore, text: string) => sql`insert into notes (text) values (${text})`.execute(tx.db);
  const notes = async () => (await sql<{ text: string }>`select text from notes order by rowid`.execute(store.db)).rows.map((row) => row.text);
  const savepoints = () => queries.filter((query) => query === 'savepoint unit').length;
  return { store, insert, notes, savepoints };
}

const messages = (outcomes: PromiseSettledResult<string>[]) =>
  outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message));

test('replayable transactions in one batch share one savepoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const { store, insert, notes, savepoints } = await notesStore(dir);
  try {
    const before = savepoints();
    const outcomes = await Promise.allSettled(
      ['a', 'b', 'c'].map((text) =>
        store.transaction(
          async (tx) => {
            await insert(tx, text);
            return text;
          },
          { replayable: true },
        ),
      ),
    );
    assert.deepEqual(messages(outcomes), ['a', 'b', 'c']);
    assert.equal(savepoints() - before, 1);
    assert.deepEqual(await notes(), ['a', 'b', 'c']);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a replayable transaction that throws is rolled back alone: those it shared a savepoint with run again and commit once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const { store, insert, notes } = await notesStore(dir);
  try {
    const runs = { first: 0, doomed: 0, third: 0 };
    const outcomes = await Promise.allSettled([
      store.transaction(
        async (tx) => {
          runs.first++;
          await insert(tx, 'first');
          return 'first done';
        },
        { replayable: true },
      ),
      store.transaction(
        async (tx) => {
          runs.doomed++;
          await insert(tx, 'doomed');
          throw new Error('the second changes its mind');
        },
        { replayable: true },
      ),
      store.transaction(
        async (tx) => {
          runs.third++;
          await insert(tx, 'third');
          return 'third done';
        },
        { replayable: true },
      ),
    ]);
    assert.deepEqual(messages(outcomes), ['first done', 'the second changes its mind', 'third done']);
    assert.deepEqual(await notes(), ['first', 'third']);
    // The first and the second ran under the shared savepoint, then each alone; the third, after them.
    assert.deepEqual(runs, { first: 2, doomed: 2, third: 1 });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a transaction that is not replayable runs once, between replayable ones that throw', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const { store, insert, notes } = await notesStore(dir);
  try {
    let onceRuns = 0;
    const replayable = (text: string, fails: boolean) =>
      store.transaction(
        async (tx) => {
          await insert(tx, text);
          if (fails) throw new Error(`${text} fails`);
          return text;
        },
        { replayable: true },
      );
    const outcomes = await Promise.allSettled([
      replayable('r1', true),
      store.transaction(async (tx) => {
        onceRuns++;
        await insert(tx, 'once');
        return 'once';
      }),
      replayable('r2', false),
      replayable('r3', true),
      replayable('r4', false),
    ]);
    assert.deepEqual(messages(outcomes), ['r1 fails', 'once', 'r2', 'r3 fails', 'r4']);
    assert.equal(onceRuns, 1);
    assert.deepEqual(await notes(), ['once', 'r2', 'r4']);
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

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

/**
 * Runs `body` with a store on a new file with a notes table, and: a replayable transaction
 * that inserts a note (and then throws, if told to), counting its runs by note; the notes
 * committed; the count of savepoints the store has opened.
 */
async function withNotes(
  body: (notes: {
    store: KyselyStore;
    insert: (tx: KyselyStore, text: string) => Promise<unknown>;
    replayable: (text: string, fails?: boolean) => Promise<string>;
    runs: Map<string, number>;
    committed: () => Promise<string[]>;
    savepoints: () => number;
  }) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-group-'));
  const queries: string[] = [];
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite'), onQuery: (event) => queries.push(event.query.sql) });
  try {
    await sql`create table notes (text text not null)`.execute(store.db);
    const insert = (tx: KyselyStore, text: string) => sql`insert into notes (text) values (${text})`.execute(tx.db);
    const runs = new Map<string, number>();
    const replayable = (text: string, fails = false) =>
      store.transaction(
        async (tx) => {
          runs.set(text, (runs.get(text) ?? 0) + 1);
          await insert(tx, text);
          if (fails) throw new Error(`${text} fails`);
          return text;
        },
        { replayable: true },
      );
    const committed = async () => (await sql<{ text: string }>`select text from notes order by rowid`.execute(store.db)).rows.map((row) => row.text);
    const savepoints = () => queries.filter((query) => query === 'savepoint unit').length;
    await body({ store, insert, replayable, runs, committed, savepoints });
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const messages = (outcomes: PromiseSettledResult<string>[]) =>
  outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error).message));

test('replayable transactions in one batch share one savepoint', () =>
  withNotes(async ({ replayable, committed, savepoints }) => {
    const before = savepoints();
    const outcomes = await Promise.allSettled([replayable('a'), replayable('b'), replayable('c')]);
    assert.deepEqual(messages(outcomes), ['a', 'b', 'c']);
    assert.equal(savepoints() - before, 1);
    assert.deepEqual(await committed(), ['a', 'b', 'c']);
  }));

test('a replayable transaction that throws is rolled back alone: those it shared a savepoint with run again and commit once', () =>
  withNotes(async ({ replayable, runs, committed }) => {
    const outcomes = await Promise.allSettled([replayable('first'), replayable('doomed', true), replayable('third')]);
    assert.deepEqual(messages(outcomes), ['first', 'doomed fails', 'third']);
    assert.deepEqual(await committed(), ['first', 'third']);
    // The first and the second ran under the shared savepoint, then each alone; the third, after them.
    assert.deepEqual(Object.fromEntries(runs), { first: 2, doomed: 2, third: 1 });
  }));

test('a transaction that is not replayable runs once, between replayable ones that throw', () =>
  withNotes(async ({ store, insert, replayable, committed }) => {
    let onceRuns = 0;
    const outcomes = await Promise.allSettled([
      replayable('r1', true),
      store.transaction(async (tx) => {
        onceRuns++;
        await insert(tx, 'once');
        return 'once';
      }),
      replayable('r2'),
      replayable('r3', true),
      replayable('r4'),
    ]);
    assert.deepEqual(messages(outcomes), ['r1 fails', 'once', 'r2', 'r3 fails', 'r4']);
    assert.equal(onceRuns, 1);
    assert.deepEqual(await committed(), ['once', 'r2', 'r4']);
  }));

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

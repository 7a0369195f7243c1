/**
 * TurnBatch (turn-batch.ts): SQLite's lookups of one turn of the event loop
 * share statements of at most maxSize, each answered by its own answer; a
 * lookup asked in a later turn goes in a later statement; an error is every
 * lookup's of its statement, and no other's.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { BatchStatement } from '../../src/store/kysely/statement-batch.js';
import { TurnBatch } from '../../src/store/kysely/turn-batch.js';

/** A statement answering each key with its length times ten (undefined for 'none'), recording each call's keys. */
function recordedStatement(fails: (keys: string[]) => Error | undefined = () => undefined) {
  const calls: string[][] = [];
  const statement: BatchStatement<string, number> = async (keys) => {
    calls.push(keys);
    const failure = fails(keys);
    if (failure) throw failure;
    return keys.map((key) => (key === 'none' ? undefined : key.length * 10));
  };
  return { statement, calls };
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatch', () => {
  test("the lookups of one turn wait for its end and share one statement, each answered by its own answer", async () => {
    const { statement, calls } = recordedStatement();
    const batch = new TurnBatch(statement, 16);
    const answers = Promise.all(['a', 'bb', 'none', 'ccc'].map((key) => batch.run(key)));
    assert.deepEqual(calls, [], 'nothing is sent before the turn ends');
    assert.deepEqual(await answers, [10, 20, undefined, 30]);
    assert.deepEqual(calls, [['a', 'bb', 'none', 'ccc']], 'one statement, in the order asked');
  });

  test('past maxSize a turn takes more statements, oldest first; a later turn, a statement of its own', async () => {
    const { statement, calls } = recordedStatement();
    const batch = new TurnBatch(statement, 2);
    const first = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((key) => batch.run(key)));
    assert.deepEqual(first, [10, 10, 10, 10, 10]);
    assert.deepEqual(calls, [['a', 'b'], ['c', 'd'], ['e']]);
    await nextTurn();
    assert.equal(await batch.run('ff'), 20);
    assert.deepEqual(calls.at(-1), ['ff'], 'a lookup asked after the turn ended is not added to its statements');
  });

  test("a statement's error is the answer of each of its lookups, and of no other statement's", async () => {
    const broken = new Error('database is closed');
    const { statement, calls } = recordedStatement((keys) => (keys.includes('bad') ? broken : undefined));
    const batch = new TurnBatch(statement, 2);
    const outcomes = await Promise.allSettled(['a', 'bad', 'c'].map((key) => batch.run(key)));
    assert.deepEqual(calls, [['a', 'bad'], ['c']]);
    assert.deepEqual(outcomes, [
      { status: 'rejected', reason: broken },
      { status: 'rejected', reason: broken },
      { status: 'fulfilled', value: 10 },
    ]);
  });

  test('maxSize must be a positive integer (a programming error)', () => {
    const { statement } = recordedStatement();
    for (const maxSize of [0, -1, 1.5, Number.NaN]) assert.throws(() => new TurnBatch(statement, maxSize), TypeError);
  });
});

/**
 * StatementBatch (statement-batch.ts): requests share statements only while
 * one is running, each answered by its own answer; a statement the database rolled back is run again request by
 * request, any other error is every request's.
 */
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import { type BatchStatement, StatementBatch } from '../../src/store/kysely/statement-batch.js';

interface Request {
  key: string;
  value: number;
}

/** A statement held open until released, recording what each call carried. */
function heldStatement(answer: (input: Request) => number | undefined | Error = (input) => input.value * 10) {
  const calls: Request[][] = [];
  const releases: Array<() => void> = [];
  const statement: BatchStatement<Request, number> = async (inputs) => {
    calls.push(inputs);
    await new Promise<void>((resolve) => releases.push(resolve));
    const answers = inputs.map(answer);
    const failure = answers.find((value) => value instanceof Error);
    if (failure) throw failure;
    return answers as (number | undefined)[];
  };
  /** Lets the oldest held call (or the `index`th still held) answer, then lets its promises settle. */
  const release = async (index = 0) => {
    releases.splice(index, 1)[0]?.();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { statement, calls, release };
}

const ROLLED_BACK = Object.assign(new Error('deadlock detected'), { code: '40P01' });

function batchOf(statement: BatchStatement<Request, number>, options: { maxRunning?: number; maxSize?: number; stalledAfterMs?: number } = {}) {
  return new StatementBatch(statement, {
    maxRunning: options.maxRunning ?? 1,
    maxSize: options.maxSize ?? 4,
    stalledAfterMs: options.stalledAfterMs,
    rolledBack: (error) => error === ROLLED_BACK,
  });
}

const request = (key: string, value = Number(key.replace(/\D/g, '')) || 1): Request => ({ key, value });

describe('StatementBatch', () => {
  test('a lone request is sent at once, alone; requests that find the statements running share the next', async () => {
    const { statement, calls, release } = heldStatement();
    const batch = batchOf(statement);
    const first = batch.run(request('a1'));
    const rest = ['b2', 'c3', 'd4'].map((key) => batch.run(request(key)));
    assert.deepEqual(calls, [[request('a1')]], 'only the first is sent while it runs');
    await release();
    assert.equal(await first, 10);
    assert.deepEqual(calls[1], [request('b2'), request('c3'), request('d4')], 'the waiting requests, oldest first, in one statement');
    await release();
    assert.deepEqual(await Promise.all(rest), [20, 30, 40], 'each its own answer');
  });

  test('maxRunning statements run at once, and a statement carries at most maxSize requests', async () => {
    const { statement, calls, release } = heldStatement();
    const batch = batchOf(statement, { maxRunning: 2, maxSize: 2 });
    const answers = ['a1', 'b2', 'c3', 'd4', 'e5', 'f6'].map((key) => batch.run(request(key)));
    assert.equal(calls.length, 2, 'two running');
    await release();
    assert.deepEqual(calls[2], [request('c3'), request('d4')]);
    await release();
    await release();
    assert.deepEqual(calls[3], [request('e5'), request('f6')]);
    await release();
    assert.deepEqual(await Promise.all(answers), [10, 20, 30, 40, 50, 60]);
  });

  test('an input with no answer is answered undefined', async () => {
    const { statement, release } = heldStatement((input) => (input.key === 'none' ? undefined : input.value));
    const batch = batchOf(statement);
    const answers = [batch.run(request('a1')), batch.run(request('none')), batch.run(request('b2'))];
    await release();
    await release();
    assert.deepEqual(await Promise.all(answers), [1, undefined, 2]);
  });

  test('a statement the database rolled back is run again request by request, each answered by its own outcome', async () => {
    const refused = Object.assign(new Error('duplicate key'), { code: '23505' });
    // Together they deadlock; alone, c3 meets its own constraint and the others succeed.
    const calls: Request[][] = [];
    const statement: BatchStatement<Request, number> = async (inputs) => {
      calls.push(inputs);
      if (inputs.length > 1) throw ROLLED_BACK;
      if (inputs[0]?.key === 'c3') throw refused;
      return [inputs[0]?.value];
    };
    const batch = batchOf(statement);
    const settled = Promise.allSettled(['a1', 'b2', 'c3', 'd4'].map((key) => batch.run(request(key))));
    const outcomes = await settled;
    assert.deepEqual(
      outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : outcome.reason)),
      [1, 2, refused, 4],
    );
    assert.deepEqual(
      calls.map((inputs) => inputs.map((input) => input.key).join()),
      ['a1', 'b2,c3,d4', 'b2', 'c3', 'd4'],
    );
  });

  test('any other error is every request of the statement, and nothing is run again', async () => {
    const lost = new Error('Connection terminated unexpectedly');
    let calls = 0;
    const batch = batchOf(async (inputs) => {
      calls++;
      if (inputs.length > 1) throw lost;
      return [0];
    });
    const outcomes = await Promise.allSettled(['a1', 'b2', 'c3'].map((key) => batch.run(request(key))));
    assert.deepEqual(
      outcomes.map((outcome) => outcome.status),
      ['fulfilled', 'rejected', 'rejected'],
    );
    assert.equal((outcomes[1] as PromiseRejectedResult).reason, lost);
    assert.equal(calls, 2);
    // The batch goes on after a failure.
    assert.equal(await batch.run(request('e5')), 0);
  });

  test('a statement running past stalledAfterMs no longer holds back the requests behind it', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { statement, calls, release } = heldStatement();
    const batch = batchOf(statement, { stalledAfterMs: 100 });
    const stalled = batch.run(request('a1'));
    const behind = [batch.run(request('b2')), batch.run(request('c3'))];
    t.mock.timers.tick(99);
    assert.equal(calls.length, 1, 'before the limit, the others wait');
    t.mock.timers.tick(1);
    assert.deepEqual(calls[1], [request('b2'), request('c3')], 'at the limit, they go out without it');
    const later = batch.run(request('d4'));
    assert.equal(calls.length, 2, 'the new statement counts as running: the next waits for it');
    await release(1);
    assert.deepEqual(await Promise.all(behind), [20, 30], 'answered while the stalled one still runs');
    await release(1);
    assert.equal(await later, 40);
    await release();
    assert.equal(await stalled, 10);
    assert.deepEqual(
      calls.map((inputs) => inputs.map((input) => input.key).join()),
      ['a1', 'b2,c3', 'd4'],
    );
  });

  test('without stalledAfterMs a running statement holds the others back until it answers', async () => {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
      const { statement, calls, release } = heldStatement();
      const batch = batchOf(statement);
      const answers = [batch.run(request('a1')), batch.run(request('b2'))];
      mock.timers.tick(60_000);
      assert.equal(calls.length, 1);
      await release();
      await release();
      assert.deepEqual(await Promise.all(answers), [10, 20]);
    } finally {
      mock.timers.reset();
    }
  });

  test('limits that are not positive integers are a programming error', () => {
    assert.throws(() => batchOf(async () => [], { stalledAfterMs: 0 }), TypeError);
    assert.throws(() => batchOf(async () => [], { stalledAfterMs: Number.NaN }), TypeError);
    for (const options of [{ maxRunning: 0 }, { maxSize: 0 }, { maxSize: 1.5 }]) {
      assert.throws(() => batchOf(async () => [], options), TypeError);
    }
  });
});

/**
 * SQLite's lookups by hash (lookups.ts), gathered over one turn of the event
 * loop and answered together, by one statement per `maxSize` of them.
 *
 * PostgreSQL's batches form by themselves while a statement is out on the
 * network (statement-batch.ts). better-sqlite3 answers before the next
 * request is read, so nothing would ever wait: here every lookup waits for
 * the end of the turn instead (setImmediate runs after the poll phase, once
 * every request read in the turn has asked). A lookup is still made after its
 * request arrived, so it sees every commit answered before then; it only
 * shares the statement, and the read transaction that comes with it.
 *
 * A statement that fails fails each of its lookups: a read writes nothing,
 * and its inputs (hashes) cannot make it fail one by one.
 */
import type { BatchStatement, Waiting } from './statement-batch.js';

export class TurnBatch<Input, Answer> {
  private waiting: Waiting<Input, Answer>[] = [];

  constructor(
    private readonly statement: BatchStatement<Input, Answer>,
    /** Inputs per statement. */
    private readonly maxSize: number,
  ) {
    if (!Number.isInteger(maxSize) || maxSize < 1) throw new TypeError('maxSize must be a positive integer');
  }

  /** The input's answer, from the statement of this turn's lookups. */
  run(input: Input): Promise<Answer | undefined> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ input, resolve, reject });
    });
  }

  private flush(): void {
    const { waiting, maxSize } = this;
    this.waiting = [];
    for (let start = 0; start < waiting.length; start += maxSize) void this.answer(waiting.slice(start, start + maxSize));
  }

  private async answer(batch: Waiting<Input, Answer>[]): Promise<void> {
    let answers: (Answer | undefined)[];
    try {
      answers = await this.statement(batch.map((request) => request.input));
    } catch (error) {
      for (const request of batch) request.reject(error);
      return;
    }
    for (let index = 0; index < batch.length; index++) batch[index]?.resolve(answers[index]);
  }
}

/**
 * Many requests' statements sent as one (PostgreSQL's one-step statements,
 * one-step.ts). Each statement PostgreSQL runs costs the same fixed work
 * whatever it carries: the executor's set-up of a plan of some twenty nodes,
 * a commit and its WAL flush, a wake-up of its backend and a socket round
 * trip. Measured on the code exchange's statement alone, that was 340-380 µs
 * of PostgreSQL's CPU per exchange sent one by one, against 60-110 µs in
 * statements of 16 (bench/ANALYSIS.md, fifteenth pass).
 *
 * A request is sent at once while fewer than `maxRunning` statements are
 * running, so that a lone request waits for nothing; past that, requests wait
 * and the next statement to start takes all that are waiting (up to
 * `maxSize`), oldest first.
 *
 * A statement still running after `stalledAfterMs` (waiting on a row lock,
 * say) stops counting as running: the requests behind it go out without it,
 * so that one slow statement delays only its own requests for longer than
 * that. At worst, every statement stalled, this is sending each as it comes,
 * as unbatched requests were, within the connection pool's size.
 *
 * A statement the database refused and rolled back (`rolledBack`: for
 * PostgreSQL, an error it reported, such as a deadlock between two batches or
 * a constraint) wrote nothing, so each of its requests is then run alone and
 * answered by its own outcome, as if it had never been batched. Any other
 * error (the connection lost: the statement may have committed) is each
 * request's answer, as it would be unbatched.
 */

/** Runs the inputs as one statement; answers each input, in order (undefined: nothing found). */
export type BatchStatement<Input, Answer> = (inputs: Input[]) => Promise<(Answer | undefined)[]>;

export interface StatementBatchOptions {
  /** Statements running at once; a request that finds them all running waits for the next. */
  maxRunning: number;
  /** Inputs per statement. */
  maxSize: number;
  /** After this long a running statement no longer holds back the requests waiting behind it. */
  stalledAfterMs?: number;
  /** Whether a statement's error says it wrote nothing, so that its inputs may be run again, each alone. */
  rolledBack(error: unknown): boolean;
}

/** A request waiting for its statement's answer (also turn-batch.ts's). */
export interface Waiting<Input, Answer> {
  input: Input;
  resolve(answer: Answer | undefined): void;
  reject(error: unknown): void;
}

export class StatementBatch<Input, Answer> {
  private waiting: Waiting<Input, Answer>[] = [];
  private running = 0;

  constructor(
    private readonly statement: BatchStatement<Input, Answer>,
    private readonly options: StatementBatchOptions,
  ) {
    for (const name of ['maxRunning', 'maxSize'] as const) {
      if (!Number.isInteger(options[name]) || options[name] < 1) throw new TypeError(`${name} must be a positive integer`);
    }
    const { stalledAfterMs } = options;
    if (stalledAfterMs !== undefined && !(stalledAfterMs > 0 && Number.isFinite(stalledAfterMs))) throw new TypeError('stalledAfterMs must be a positive number');
  }

  /** The input's answer, from a statement it may share with other requests. */
  run(input: Input): Promise<Answer | undefined> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      this.startWaiting();
    });
  }

  private startWaiting(): void {
    while (this.running < this.options.maxRunning && this.waiting.length > 0) void this.send(this.take());
  }

  /** The waiting requests the next statement carries: the oldest, up to maxSize. */
  private take(): Waiting<Input, Answer>[] {
    const { waiting } = this;
    if (waiting.length <= this.options.maxSize) {
      this.waiting = [];
      return waiting;
    }
    return waiting.splice(0, this.options.maxSize);
  }

  private async send(batch: Waiting<Input, Answer>[]): Promise<void> {
    this.running++;
    let counted = true;
    const uncount = () => {
      if (!counted) return;
      counted = false;
      this.running--;
      this.startWaiting();
    };
    const stalled = this.options.stalledAfterMs === undefined ? undefined : setTimeout(uncount, this.options.stalledAfterMs).unref();
    try {
      await this.answer(batch);
    } finally {
      clearTimeout(stalled);
      uncount();
    }
  }

  private async answer(batch: Waiting<Input, Answer>[]): Promise<void> {
    let answers: (Answer | undefined)[];
    try {
      answers = await this.statement(batch.map((request) => request.input));
    } catch (error) {
      if (batch.length > 1 && this.options.rolledBack(error)) {
        await Promise.all(batch.map((request) => this.answer([request])));
      } else {
        for (const request of batch) request.reject(error);
      }
      return;
    }
    for (let index = 0; index < batch.length; index++) batch[index]?.resolve(answers[index]);
  }
}


/**
 * Group commit for SQLite: the transactions that arrive in one turn of the
 * event loop share one database transaction, and so one WAL sync.
 *
 * With synchronous=FULL every COMMIT waits for the disk (measured here: about
 * 1.2 ms for a token request's four writes) and better-sqlite3 waits on the
 * event loop's thread, so one commit per request caps a server near 800
 * token requests a second whatever the CPU. Each unit still succeeds or
 * fails alone: a unit that throws is rolled back and fails, the others
 * commit. No unit's result is released before the COMMIT has returned, so
 * nothing is answered that a crash could lose. PostgreSQL needs none of this:
 * its backends already share WAL flushes.
 *
 * A unit is undone through a SAVEPOINT, and SQLite copies every page a
 * savepoint's statements change, the first time each is changed, into its
 * journal: 4 KiB and a malloc per page, some nine pages for a refresh's
 * writes. With a savepoint per unit, that and the savepoints' own statements
 * were 8% of a refresh's instructions at 16 connections (bench/ANALYSIS.md,
 * twenty-first pass). So units that
 * may run twice (`replayable`: they only read and write through their
 * transaction, and nothing of a first run outlives a rollback) share one
 * savepoint with the replayable units next to them. When one of those throws,
 * the shared savepoint is rolled back and its units run again, each under a
 * savepoint of its own, the one that threw included: the others succeed as
 * they did, and the one that threw fails alone, as it would have. Any other
 * unit runs once, under a savepoint of its own.
 */
import { CompiledQuery, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { ImmediateQueries } from './sqlite-driver.js';

interface Unit<Tx> {
  work: (tx: Tx) => Promise<unknown>;
  replayable: boolean;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Enough to amortise a sync many times over while keeping one batch's latency short. */
const MAX_BATCH = 256;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

// Compiled once: each savepoint runs two of them.
const SAVEPOINT = CompiledQuery.raw('savepoint unit');
const RELEASE = CompiledQuery.raw('release savepoint unit');
const ROLLBACK_TO = CompiledQuery.raw('rollback to savepoint unit');

export class GroupCommit<Tx> {
  private pending: Array<Unit<Tx>> = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly bind: (trx: Transaction<Database>) => Tx,
    /** When given, the savepoints run through it, off Kysely's executor (sqlite-driver.ts). */
    private readonly immediate?: ImmediateQueries,
  ) {}

  /**
   * Runs `work` atomically in the next batch; settles once the batch is committed.
   * `replayable`: `work` may run twice in its batch, its first run rolled back (above).
   */
  run<T>(work: (tx: Tx) => Promise<T>, replayable = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, replayable, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        // setImmediate runs after the poll phase: every request read in this turn has queued its unit by then.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const units = this.pending.splice(0, MAX_BATCH);
    if (this.pending.length > 0) setImmediate(() => void this.flush());
    else this.scheduled = false;
    const outcomes: Outcome[] = [];
    try {
      await this.db.transaction().execute(async (trx) => {
        const tx = this.bind(trx);
        const { immediate } = this;
        const savepointCommand = immediate ? (query: CompiledQuery) => immediate.run(query, true) : (query: CompiledQuery) => trx.executeQuery(query);
        const undo = async () => {
          await savepointCommand(ROLLBACK_TO);
          await savepointCommand(RELEASE);
        };
        /** Runs units[index] under a savepoint of its own. */
        const runAlone = async (index: number) => {
          await savepointCommand(SAVEPOINT);
          try {
            const value = await (units[index] as Unit<Tx>).work(tx);
            await savepointCommand(RELEASE);
            outcomes[index] = { ok: true, value };
          } catch (error) {
            await undo();
            outcomes[index] = { ok: false, error };
          }
        };
        let index = 0;
        while (index < units.length) {
          if (!(units[index] as Unit<Tx>).replayable) {
            await runAlone(index++);
            continue;
          }
          // The replayable units from here on, under one savepoint.
          const first = index;
          await savepointCommand(SAVEPOINT);
          try {
            for (; index < units.length && (units[index] as Unit<Tx>).replayable; index++) {
              outcomes[index] = { ok: true, value: await (units[index] as Unit<Tx>).work(tx) };
            }
            await savepointCommand(RELEASE);
          } catch {
            // units[index] threw: undo them all, then run each again alone, it included.
            await undo();
            for (let again = first; again <= index; again++) await runAlone(again);
            index++;
          }
        }
      });
    } catch (error) {
      // The COMMIT (or BEGIN) failed: nothing of the batch was written.
      for (const unit of units) unit.reject(error);
      return;
    }
    units.forEach((unit, index) => {
      const outcome = outcomes[index] as Outcome;
      if (outcome.ok) unit.resolve(outcome.value);
      else unit.reject(outcome.error);
    });
  }
}

/**
 * Queries of a fixed shape, built and compiled by Kysely once per dialect.
 * Each call binds new values to the same placeholders, so the hot path (token
 * and bearer lookups) skips building and compiling a query tree every time:
 * measured here at about a third of Kysely's share of a bearer check. On
 * PostgreSQL they also run as named prepared statements (pg-prepared.ts); on
 * SQLite, off Kysely's executor where they need not wait (sqlite-driver.ts).
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import type { Dialect } from './migrations/index.js';
import { registerPreparedText } from './pg-prepared.js';
import type { Database } from './schema.js';
import type { ImmediateQueries } from './sqlite-driver.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Where a prepared query runs: a store's connection or transaction (KyselyStore). */
export interface QueryTarget {
  readonly db: Db;
  readonly dialect: Dialect;
  /** SQLite's queries that need not wait, run without Kysely's executor; undefined elsewhere. */
  readonly immediate: ImmediateQueries | undefined;
}

/** Stands for the i-th argument while the query is compiled; found again by identity. */
class Placeholder {
  constructor(readonly index: number) {}
}

export interface PreparedQuery<Row, Args extends unknown[]> {
  execute(target: QueryTarget, ...args: Args): Promise<QueryResult<Row>>;
}

export function prepared<Row, Args extends unknown[]>(arity: Args['length'], build: (db: Db, ...args: Args) => Compilable<Row>): PreparedQuery<Row, Args> {
  const byDialect = new Map<Dialect, { compiled: CompiledQuery<Row>; slots: Array<number | undefined> }>();
  return {
    execute(target, ...args) {
      const { db, dialect } = target;
      let entry = byDialect.get(dialect);
      if (entry === undefined) {
        const placeholders = Array.from({ length: arity }, (_, index) => new Placeholder(index)) as unknown as Args;
        const compiled = build(db, ...placeholders).compile();
        const slots = compiled.parameters.map((parameter) => (parameter instanceof Placeholder ? parameter.index : undefined));
        if (slots.filter((slot) => slot !== undefined).length !== arity) {
          throw new TypeError(`a prepared query must use each of its ${arity} arguments exactly once as a value: ${compiled.sql}`);
        }
        entry = { compiled, slots };
        byDialect.set(dialect, entry);
        if (dialect === 'postgres') registerPreparedText(compiled.sql);
      }
      const { compiled, slots } = entry;
      // A copy of the compiled parameters (an array of objects: the placeholders) with the
      // arguments put in: a new array from map() starts as one of small integers, and
      // V8 converts it in its runtime when the first string goes in.
      const parameters = compiled.parameters.slice();
      for (let index = 0; index < slots.length; index++) {
        const slot = slots[index];
        if (slot !== undefined) parameters[index] = args[slot];
      }
      return executeOn(target, { query: compiled.query, queryId: compiled.queryId, sql: compiled.sql, parameters });
    },
  };
}

/** Runs a compiled query on `target`: on SQLite at once where it need not wait, else through Kysely's executor. */
export function executeOn<Row>({ db, immediate }: QueryTarget, query: CompiledQuery<Row>): Promise<QueryResult<Row>> {
  if (immediate !== undefined) {
    try {
      const outcome = immediate.run(query, db.isTransaction);
      if (outcome !== undefined) return Promise.resolve(outcome as QueryResult<Row>);
    } catch (error) {
      return Promise.reject(error);
    }
  }
  return db.executeQuery<Row>(query);
}

/** An INSERT of one row into `table` with exactly `columns`, prepared like the queries above. */
export function preparedInsert<T extends keyof Database & string>(table: T, columns: ReadonlyArray<keyof Database[T] & string>) {
  const query = prepared<unknown, unknown[]>(columns.length, (db, ...values) =>
    db.insertInto(table).values(Object.fromEntries(columns.map((column, index) => [column, values[index]])) as never),
  );
  return {
    execute(target: QueryTarget, row: Record<(typeof columns)[number], unknown>): Promise<QueryResult<unknown>> {
      return query.execute(target, ...columns.map((column) => row[column]));
    },
  };
}

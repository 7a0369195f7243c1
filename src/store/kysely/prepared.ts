/**
 * Queries of a fixed shape, built and compiled by Kysely once per dialect.
 * Each call binds new values to the same placeholders, so the hot path (token
 * and bearer lookups) skips building and compiling a query tree every time:
 * measured here at about a third of Kysely's share of a bearer check. On
 * PostgreSQL they also run as named prepared statements (pg-prepared.ts).
 */
import type { Compilable, CompiledQuery, Kysely, QueryResult, Transaction } from 'kysely';
import type { Dialect } from './migrations/index.js';
import { registerPreparedText } from './pg-prepared.js';
import type { Database } from './schema.js';

type Db = Kysely<Database> | Transaction<Database>;

/** Stands for the i-th argument while the query is compiled; found again by identity. */
class Placeholder {
  constructor(readonly index: number) {}
}

export interface PreparedQuery<Row, Args extends unknown[]> {
  execute(db: Db, dialect: Dialect, ...args: Args): Promise<QueryResult<Row>>;
}

export function prepared<Row, Args extends unknown[]>(arity: Args['length'], build: (db: Db, ...args: Args) => Compilable<Row>): PreparedQuery<Row, Args> {
  const byDialect = new Map<Dialect, { compiled: CompiledQuery<Row>; slots: Array<number | undefined> }>();
  return {
    execute(db, dialect, ...args) {
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
      return db.executeQuery<Row>({ query: compiled.query, queryId: compiled.queryId, sql: compiled.sql, parameters });
    },
  };
}

/** An INSERT of one row into `table` with exactly `columns`, prepared like the queries above. */
export function preparedInsert<T extends keyof Database & string>(table: T, columns: ReadonlyArray<keyof Database[T] & string>) {
  const query = prepared<unknown, unknown[]>(columns.length, (db, ...values) =>
    db.insertInto(table).values(Object.fromEntries(columns.map((column, index) => [column, values[index]])) as never),
  );
  return {
    execute(db: Db, dialect: Dialect, row: Record<(typeof columns)[number], unknown>): Promise<QueryResult<unknown>> {
      return query.execute(db, dialect, ...columns.map((column) => row[column]));
    },
  };
}

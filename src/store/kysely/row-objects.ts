/**
 * A reader statement's rows as objects keyed by column name, built in
 * JavaScript from better-sqlite3's raw rows (arrays).
 *
 * For a Node.js older than 22, better-sqlite3 builds each row object in C++
 * one property at a time: a column name internalized afresh and a
 * `v8::Object::Set`, which walks V8's slow path of map transitions, for every
 * column of every row. Measured with callgrind on a rotating refresh (two
 * lookups, some forty columns): 82,000 instructions of 865,000. An object
 * literal compiled once per statement builds the same object in JIT-compiled
 * code, with the shape V8 has already seen.
 */
import type { Statement } from 'better-sqlite3';
import { allWith } from './bind-values.js';

export type RowReader = (parameters: readonly unknown[]) => unknown[];

/**
 * Switches `statement` (a reader) to raw rows and returns how to read its rows
 * as objects. The objects are those better-sqlite3 would have made: the same
 * keys in the same order, and for a repeated column name the last column's
 * value (as in an object literal).
 */
export function rowObjects(statement: Statement): RowReader {
  if (!statement.reader) throw new TypeError('rowObjects takes a statement that returns rows');
  const names = statement.columns().map((column) => column.name);
  // "__proto__" in a literal sets the prototype rather than a key: keep better-sqlite3's own objects.
  if (names.includes('__proto__')) return (parameters) => allWith(statement, parameters);
  // Column names are written as JSON string literals: any name, quotes and all, is one key.
  const fields = names.map((name, index) => `${JSON.stringify(name)}: row[${index}]`).join(', ');
  const build = new Function('row', `return { ${fields} };`) as (row: unknown[]) => unknown;
  statement.raw(true);
  return (parameters) => {
    const rows = allWith(statement, parameters) as unknown[][];
    const objects = new Array<unknown>(rows.length);
    for (let index = 0; index < rows.length; index++) objects[index] = build(rows[index] as unknown[]);
    return objects;
  };
}

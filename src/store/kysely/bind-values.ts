/**
 * How a query's values reach better-sqlite3. Given them as one array, its
 * binder reads each element through V8's API (`v8::Object::Get`, some 420
 * instructions each under callgrind: 10,600 of a rotating refresh's 25
 * values); given them as separate arguments, it reads each directly. The
 * spread call costs some of that back: a refresh is 5,800 instructions
 * cheaper, a code exchange 5,300 (bench/ANALYSIS.md, twenty-first pass).
 *
 * As separate arguments, though, a value that is itself an array or a plain
 * object would be read as a list of values or as named ones, where as an
 * element of one array it is a single value (which better-sqlite3 refuses).
 * A query with such a value is passed as one array, so it binds, or fails,
 * exactly as before.
 */
import type { Statement } from 'better-sqlite3';

/** True when every value binds the same as a separate argument: no array, no object other than a Buffer (a blob). */
function spreadable(values: readonly unknown[]): boolean {
  for (let index = 0; index < values.length; index++) {
    const value = values[index];
    if (typeof value === 'object' && value !== null && !(value instanceof Uint8Array)) return false;
  }
  return true;
}

export function runWith(statement: Statement, values: readonly unknown[]) {
  return spreadable(values) ? statement.run(...values) : statement.run(values);
}

export function allWith(statement: Statement, values: readonly unknown[]): unknown[] {
  return spreadable(values) ? statement.all(...values) : statement.all(values);
}

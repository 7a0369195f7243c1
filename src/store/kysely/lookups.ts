/**
 * Lookups by hash that arrive together, answered by one statement: the access
 * token of a bearer check or an introspection, a refresh token, a code.
 *
 * - PostgreSQL: sent one by one, each lookup pays PostgreSQL's fixed work per
 *   statement (a round trip, its backend's wake-up, the executor's set-up) and
 *   this process's (node-postgres's messages, a socket write and read, the
 *   pool); in a batch, once for all (statement-batch.ts sends them).
 * - SQLite: a statement outside a transaction is a read transaction of its
 *   own, and starting one takes the WAL's shared-memory read lock and gives
 *   it back (two `fcntl` calls and an `fstat`). On the benchmark's virtual
 *   machine system calls cost far more than their instructions: with each
 *   turn's lookups in one statement (turn-batch.ts), a bearer check took 47
 *   and 48 µs of CPU where one statement each took 77 and 75 (alternated
 *   runs), though callgrind counted 2% fewer instructions. Writing a turn's
 *   responses together, which the batch also does, explains little of it:
 *   one statement each with the response held to the turn's end took 69 to
 *   120 µs against the batch's 48 to 89 (bench/ANALYSIS.md, twenty-second pass).
 *
 * The input is a json array of hashes read through a LIMIT of MAX_BATCH, as
 * the one-step statements' input is, and for the same reason: PostgreSQL then
 * keeps one generic plan for every batch size. Measured with 20,000 batches of
 * 1 to 8 hashes: `= ANY($1::text[])` and `unnest($1::text[]) LIMIT 16` were
 * planned anew on every execution (20,000 custom plans), this input once
 * (bench/ANALYSIS.md, sixteenth pass). SQLite's statement, one text for every
 * batch size, is prepared once too (statement-cache.ts).
 */
import { CompiledQuery } from 'kysely';
import type { Dialect } from './migrations/index.js';
import { MAX_BATCH } from './one-step.js';
import { registerPreparedText } from './pg-prepared.js';
import { executeOn, type QueryTarget } from './prepared.js';

export interface HashLookup<Row> {
  /** The statement, in each dialect: rows whose key is one of its one parameter's hashes. */
  readonly text: Readonly<Record<Dialect, string>>;
  /** A row's hash, to answer each request by its own. */
  readonly keyOf: (row: Row) => string;
}

/**
 * The rows of `table` whose `key` column is one of the batch's hashes, each
 * with its grant's columns (`grantColumns`, naming the grant `g`).
 */
export function hashLookup<Row>(table: string, key: string, grantColumns: string, keyOf: (row: Row) => string): HashLookup<Row> {
  const rows = `join "${table}" as "t" on "t"."${key}" = "i"."value" join "grants" as "g" on "g"."id" = "t"."grant_id"`;
  const text = {
    postgres: `select "t".*, ${grantColumns} from (select value from json_array_elements_text($1::json) limit ${MAX_BATCH}) as "i" ${rows}`,
    sqlite: `select "t".*, ${grantColumns} from (select value from json_each(?) limit ${MAX_BATCH}) as "i" ${rows}`,
  };
  registerPreparedText(text.postgres);
  return { text, keyOf };
}

/**
 * Each hash's row, in the order of `hashes` (undefined: none); a hash asked twice is looked up once.
 * The hashes are credential hashes (hashCredential: base64url), which JSON writes as they are.
 */
export async function findByHashes<Row>(target: QueryTarget, lookup: HashLookup<Row>, hashes: string[]): Promise<(Row | undefined)[]> {
  if (hashes.length > MAX_BATCH) throw new TypeError(`a lookup takes at most ${MAX_BATCH} hashes`);
  // Matched by comparison, not through a Set and a Map: each hash and each row's key is a new string, which a
  // Set or Map hashes in full (some 700 instructions for 43 characters), where two different hashes mostly
  // compare unequal at their first character. At most MAX_BATCH of them. Under callgrind, an opaque bearer
  // check spent 1,743 instructions hashing strings and now 316 (twenty-seventh pass). `indexOf` compares two
  // strings itself only when both are sequential, which hashCredential's hashes are made to be (secrets.ts):
  // a pair of strings went to V8's runtime for every comparison (twenty-eighth pass).
  const distinct = hashes.length === 1 ? hashes : hashes.filter((hash, index) => hashes.indexOf(hash) === index);
  // Joined rather than JSON.stringify'd, which looks at every character for one to escape: a quarter of the time
  // for nine hashes (JSON.stringify was about 2,000 instructions of an opaque bearer check; twenty-sixth pass).
  const { rows } = await executeOn<Row>(target, CompiledQuery.raw(lookup.text[target.dialect], [`["${distinct.join('","')}"]`]));
  if (hashes.length === 1) return [rows[0]];
  const found = new Array<Row | undefined>(distinct.length).fill(undefined);
  for (const row of rows) {
    const at = distinct.indexOf(lookup.keyOf(row));
    if (at !== -1) found[at] = row;
  }
  return distinct.length === hashes.length ? found : hashes.map((hash) => found[distinct.indexOf(hash)]);
}

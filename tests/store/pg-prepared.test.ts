/**
 * The store's named prepared statements on PostgreSQL (pg-prepared.ts): a
 * registered SELECT is sent wrapped so that its rows come as one json column,
 * and is answered with the rows node-postgres would have made of the plain
 * text; a statement that answers json itself is unwrapped the same way; a
 * text not registered is sent as it is; and a connection whose statements a
 * migration made stale goes on unnamed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { registerPreparedText, withPreparedStatements } from '../../src/store/kysely/pg-prepared.js';
import { dialects, type TestDatabase } from '../support/databases.js';

const postgres = (await dialects()).find((dialect) => dialect.name === 'postgres');
if (postgres === undefined) throw new TypeError('no postgres dialect case');

/** BIGINT as a number, as the store's pool parses it (open.ts). */
const types = {
  getTypeParser: (oid: number, format?: 'text' | 'binary') => (oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)),
};

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

describe('named prepared statements (postgres)', { skip: postgres.skip }, () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let client: { query: Query; release(): void };

  before(async () => {
    database = await postgres.create();
    pool = new pg.Pool({ connectionString: database.databaseUrl, max: 2, types: types as pg.CustomTypesConfig });
    await pool.query('create table things (id text primary key, label text, count integer not null, at bigint, gone bigint)');
    await pool.query(`insert into things values ('a', 'first', 1, 1796425214692, null), ('b', null, 2, 9007199254740991, 5)`);
    client = (await withPreparedStatements(pool).connect()) as unknown as typeof client;
  });

  after(async () => {
    client?.release();
    await pool?.end();
    await database?.drop();
  });

  const plain = async (text: string, values: unknown[]) => (await pool.query(text, values)).rows;

  test('a registered SELECT comes as one json column and is answered with the rows of the plain text', async () => {
    const text = 'select id, label, count, at, gone, count > 1 as many from things where id = any($1::text[]) order by id';
    registerPreparedText(text);
    const result = await client.query(text, [['a', 'b']]);
    assert.deepEqual(
      result.fields.map((field) => field.name),
      ['row'],
    );
    assert.deepEqual(result.rows, await plain(text, [['a', 'b']]));
    assert.deepEqual(result.rows[1], { id: 'b', label: null, count: 2, at: 9007199254740991, gone: 5, many: true });
    assert.equal(result.rowCount, 2);
    assert.deepEqual((await client.query(text, [['none']])).rows, []);
  });

  test('it runs as a named statement of the connection, prepared once', async () => {
    const text = 'select label from things where id = $1';
    registerPreparedText(text);
    for (const id of ['a', 'b', 'a']) assert.deepEqual((await client.query(text, [id])).rows, await plain(text, [id]));
    const { rows } = await client.query('select name, statement from pg_prepared_statements where statement like $1', ['%select label from things%']);
    assert.equal(rows.length, 1);
    assert.match(rows[0].name, /^lk_/);
    assert.match(rows[0].statement, /^select to_json\(q\) as row from \(select label from things where id = \$1\) as q$/);
  });

  test('a statement that answers json itself is unwrapped; a text not registered is sent as it is', async () => {
    const text = `WITH touched AS (UPDATE things SET gone = $2 WHERE id = $1 RETURNING id, gone)
SELECT to_json(answer) AS row FROM (SELECT touched.*, true AS saved FROM touched) AS answer`;
    registerPreparedText(text, { answersJson: true });
    assert.deepEqual((await client.query(text, ['a', 7])).rows, [{ id: 'a', gone: 7, saved: true }]);
    assert.deepEqual((await client.query(text, ['none', 7])).rows, []);
    const unregistered = await client.query('select id, gone from things where id = $1', ['a']);
    assert.deepEqual(
      unregistered.fields.map((field) => field.name),
      ['id', 'gone'],
    );
    assert.deepEqual(unregistered.rows, [{ id: 'a', gone: 7 }]);
  });

  test("every column of the store's schema has a type whose json is what node-postgres parses it to", async () => {
    // text → string, integer and bigint → number (open.ts parses BIGINT as a number): a column of
    // another type (a timestamp, numeric, bytea) would come back otherwise through to_json.
    const store = await database.open();
    const { rows } = await pool.query(
      `select distinct data_type from information_schema.columns where table_schema = 'public' and table_name not like 'kysely_%' and table_name <> 'things'`,
    );
    assert.deepEqual(rows.map((row) => row.data_type).sort(), ['bigint', 'integer', 'text']);
    await store.close();
  });

  test('a statement a migration made stale runs unnamed on that connection from then on', async () => {
    // Not a SELECT at its top, so not wrapped: its result type is the table's.
    const text = 'with all_things as (select * from things) select * from all_things where id = $1';
    registerPreparedText(text);
    assert.deepEqual(Object.keys((await client.query(text, ['a'])).rows[0]), ['id', 'label', 'count', 'at', 'gone']);
    await pool.query('alter table things add column added text');
    const after = await client.query(text, ['a']);
    assert.deepEqual(Object.keys(after.rows[0]), ['id', 'label', 'count', 'at', 'gone', 'added']);
    assert.deepEqual((await client.query(text, ['b'])).rows[0]?.added, null);
  });
});

/**
 * The SQLite driver's connections (src/store/kysely/sqlite-driver.ts): one
 * handed back is handed out again, so Kysely wraps it with its query logging
 * once rather than for every query; one still in a transaction never is.
 * Rows come as better-sqlite3's own objects would, though built from raw
 * arrays (row-objects.ts); temporary storage is in memory.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Driver } from 'kysely';
import { rowObjects } from '../../src/store/kysely/row-objects.js';
import { sqliteDialect } from '../../src/store/kysely/sqlite-driver.js';

/** Runs `body` with the driver over a new database file, then closes and deletes it. */
async function withDriver(body: (driver: Driver, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const file = join(dir, 'db.sqlite');
  const driver = sqliteDialect({ file, synchronous: 'full' }).createDriver();
  try {
    await driver.init();
    await body(driver, file);
  } finally {
    await driver.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a connection handed back is handed out again; concurrent ones are distinct; one in a transaction is not kept', () =>
  withDriver(async (driver) => {
    const first = await driver.acquireConnection();
    const second = await driver.acquireConnection();
    assert.notEqual(first, second, 'two queries in flight have a connection each');
    await first.executeQuery(CompiledQuery.raw('create table notes (id integer primary key)'));
    await driver.releaseConnection(first);
    await driver.releaseConnection(second);
    const again = await driver.acquireConnection();
    assert.ok(again === first || again === second, 'a released connection is used again');

    await driver.beginTransaction(again, {});
    await again.executeQuery(CompiledQuery.raw('insert into notes (id) values (1)'));
    // Released without a commit (as a crashed caller would): it must not serve the next query.
    await driver.releaseConnection(again);
    const next = await driver.acquireConnection();
    assert.notEqual(next, again);
    await driver.rollbackTransaction(again);
    const { rows } = await next.executeQuery<{ count: number }>(CompiledQuery.raw('select count(*) as count from notes'));
    assert.equal(rows[0]?.count, 0);
  }));

test('rows read through raw arrays are the objects better-sqlite3 makes: keys, order, values, a repeated name', () =>
  withDriver(async (driver, file) => {
    const own = new BetterSqlite3(file);
    try {
      const connection = await driver.acquireConnection();
      await connection.executeQuery(CompiledQuery.raw('create table notes (id integer primary key, body text, score real, data blob)'));
      await connection.executeQuery(CompiledQuery.raw("insert into notes values (1, 'one', 1.5, x'00ff'), (2, null, null, null)"));
      const queries = [
        'select * from notes order by id',
        'select id, body as "id" from notes order by id',
        `select 1 as "a""quote", 2 as "back\\slash", 3 as "line\nbreak", 4 as "é", 5 as "constructor", 6 as "__proto__", 7 as "0"`,
        'select * from notes where id > 5',
      ];
      for (const query of queries) {
        const { rows } = await connection.executeQuery(CompiledQuery.raw(query));
        const expected = own.prepare(query).all();
        assert.deepStrictEqual(rows, expected, query);
        assert.deepStrictEqual(
          rows.map((row) => Object.keys(row as object)),
          expected.map((row) => Object.keys(row as object)),
          query,
        );
      }
      const { rows: returned } = await connection.executeQuery(CompiledQuery.raw("insert into notes (id, body) values (3, 'three') returning id, body"));
      assert.deepStrictEqual(returned, [{ id: 3, body: 'three' }]);
      await driver.releaseConnection(connection);
    } finally {
      own.close();
    }
  }));

test('rowObjects switches its statement to raw rows: better-sqlite3 no longer builds the objects', () => {
  const db = new BetterSqlite3(':memory:');
  try {
    const statement = db.prepare("select 1 as id, 'x' as name");
    const read = rowObjects(statement);
    assert.deepStrictEqual(statement.all(), [[1, 'x']]);
    assert.deepStrictEqual(read([]), [{ id: 1, name: 'x' }]);
    assert.throws(() => rowObjects(db.prepare('create table t (x)')), TypeError);
  } finally {
    db.close();
  }
});

test('temporary storage (a savepoint journal, sorts) is in memory: nothing written outside the data directory', () =>
  withDriver(async (driver) => {
    const connection = await driver.acquireConnection();
    const { rows } = await connection.executeQuery<{ temp_store: number }>(CompiledQuery.raw('pragma temp_store'));
    assert.deepStrictEqual(rows, [{ temp_store: 2 }], '2: MEMORY');
    await driver.releaseConnection(connection);
  }));

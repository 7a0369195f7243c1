/**
 * The SQLite driver's connections (src/store/kysely/sqlite-driver.ts): one
 * handed back is handed out again, so Kysely wraps it with its query logging
 * once rather than for every query; one still in a transaction never is.
 * Rows come as better-sqlite3's own objects would, though built from raw
 * arrays (row-objects.ts); temporary storage is in memory. Queries that need
 * not wait run at once, off Kysely's executor, routed and logged as the
 * driver and Kysely would. The writer's data version tells of other
 * connections' commits.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, type Driver, Kysely, type LogEvent, sql } from 'kysely';
import { allWith, runWith } from '../../src/store/kysely/bind-values.js';
import { rowObjects } from '../../src/store/kysely/row-objects.js';
import type { Database } from '../../src/store/kysely/schema.js';
import { KyselyStore } from '../../src/store/kysely/store.js';
import { openSqlite } from '../../src/store/kysely/sqlite-driver.js';
import { migrateToLatest, openStore } from '../../src/store/open.js';

/** Runs `body` with the driver over a new database file, then closes and deletes it. */
async function withDriver(body: (driver: Driver, file: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const file = join(dir, 'db.sqlite');
  const driver = openSqlite({ file, synchronous: 'full' }).dialect.createDriver();
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

test('values bind as they would in one array: each kind of value as itself; an array or plain object value refused, not read as a list', () => {
  const db = new BetterSqlite3(':memory:');
  try {
    const select = db.prepare('select ? as a, ? as b, ? as c, ? as d, ? as e');
    const values = ['text', 42, 1.5, null, Buffer.from([1, 2])];
    assert.deepStrictEqual(allWith(select, values), [{ a: 'text', b: 42, c: 1.5, d: null, e: Buffer.from([1, 2]) }]);
    db.exec('create table t (a, b)');
    const insert = db.prepare('insert into t (a, b) values (?, ?)');
    assert.equal(runWith(insert, ['x', 7n]).changes, 1);
    assert.deepStrictEqual(db.prepare('select a, b from t').all(), [{ a: 'x', b: 7 }]);
    // As separate arguments, [] and ['x', 'y'] would be read as the lists they are, and bind 'x' and 'y'.
    const pair = db.prepare('select ? as a, ? as b');
    assert.throws(() => allWith(pair, [[], ['x', 'y']]), TypeError);
    assert.throws(() => runWith(insert, [{ a: 1 }, 'y']), TypeError);
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

test('immediate queries run where the driver would run them, at once: in the transaction on the writer, outside it on the reader; a write outside one waits', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const events: LogEvent[] = [];
  const { dialect, immediate } = openSqlite({ file: join(dir, 'db.sqlite'), synchronous: 'full' }, (event) => events.push(event));
  const db = new Kysely<Record<string, never>>({ dialect });
  const count = CompiledQuery.raw('select count(*) as count from notes');
  const countOf = (inTransaction: boolean) => (immediate.run(count, inTransaction)?.rows[0] as { count: number } | undefined)?.count;
  try {
    await sql`create table notes (id integer primary key)`.execute(db);
    assert.equal(immediate.run(CompiledQuery.raw('insert into notes (id) values (?)', [9]), false), undefined, 'a write outside a transaction is not run');
    assert.equal(countOf(false), 0);

    await db.transaction().execute(async () => {
      const inserted = immediate.run(CompiledQuery.raw('insert into notes (id) values (?)', [1]), true);
      assert.equal(inserted?.numAffectedRows, 1n);
      assert.equal(countOf(true), 1, 'the transaction sees its own write');
      assert.equal(countOf(false), 0, 'a read outside it goes to the reader, which does not');
    });
    assert.equal(countOf(false), 1, 'committed');

    // Logged as Kysely logs a query: the query and its duration, or the error, which is thrown as it was.
    events.length = 0;
    countOf(false);
    const broken = CompiledQuery.raw('select * from missing');
    assert.throws(() => immediate.run(broken, false), /no such table: missing/);
    assert.deepEqual(
      events.map((event) => [event.level, event.query.sql, Number.isFinite(event.queryDurationMillis)]),
      [
        ['query', count.sql, true],
        ['error', broken.sql, true],
      ],
    );
    assert.match(String((events[1] as { error: unknown }).error), /no such table/);
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the writer's data version moves with another connection's commit, not with this process's own; undefined once closed", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const file = join(dir, 'db.sqlite');
  const { dialect, dataVersion } = openSqlite({ file, synchronous: 'full' });
  const db = new Kysely<Record<string, never>>({ dialect });
  try {
    await sql`create table notes (id integer primary key)`.execute(db);
    const start = dataVersion();
    assert.equal(typeof start, 'number');
    await sql`insert into notes (id) values (1)`.execute(db);
    await db.transaction().execute((trx) => sql`insert into notes (id) values (2)`.execute(trx));
    await sql`select count(*) from notes`.execute(db);
    assert.equal(dataVersion(), start, "this process's writes and reads");
    const other = new BetterSqlite3(file);
    try {
      other.prepare('insert into notes (id) values (3)').run();
    } finally {
      other.close();
    }
    const after = dataVersion();
    assert.notEqual(after, start, "another connection's commit");
    assert.equal(dataVersion(), after, 'read again: unchanged');
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(dataVersion(), undefined, 'closed');
});

test("the store's prepared queries and group commit's savepoints take the immediate path on SQLite, with their query metrics", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const events: LogEvent[] = [];
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite'), onQuery: (event) => events.push(event) });
  const executeQuery = Kysely.prototype.executeQuery;
  try {
    await migrateToLatest(store);
    // Every query given to Kysely's executor, a transaction's included (Transaction extends Kysely).
    const viaExecutor: string[] = [];
    Kysely.prototype.executeQuery = function (this: Kysely<Database>, query: CompiledQuery) {
      viaExecutor.push(query.sql);
      return executeQuery.call(this, query);
    } as typeof executeQuery;
    events.length = 0;
    assert.equal(await store.findRefreshToken('no such token'), undefined);
    assert.deepEqual(viaExecutor, [], "a lookup by hash (its turn's, lookups.ts) skips Kysely's executor");
    assert.equal(events.length, 1, 'and is still measured');
    assert.match(events[0]?.query.sql ?? '', /join "refresh_tokens"/);

    // Savepoints: a unit that throws is still rolled back alone.
    const outcomes = await Promise.allSettled([
      store.transaction(async (tx) => tx.tokens.insertRefreshToken({ tokenHash: 'h1', grantId: 'none', clientId: 'none', scopes: [], createdAt: 1, expiresAt: 2, rotatedAt: null, revokedAt: null })),
      store.transaction(async () => 'nothing written'),
    ]);
    assert.equal(outcomes[0]?.status, 'rejected', 'a token of no grant breaks a foreign key');
    assert.equal(outcomes[1]?.status, 'fulfilled');
    assert.ok(events.some((event) => event.query.sql === 'savepoint unit'), 'savepoints are measured');
    assert.deepEqual(viaExecutor.filter((text) => /savepoint/.test(text)), [], "and skip Kysely's executor");
    assert.ok(events.some((event) => event.level === 'error' && /insert into "refresh_tokens"/.test(event.query.sql)));

    // Without immediate queries (PostgreSQL's case), the same query goes through the executor.
    const plain = new KyselyStore(store.db as Kysely<Database>, 'sqlite');
    assert.equal(await plain.findRefreshToken('no such token'), undefined);
    assert.equal(viaExecutor.filter((text) => /join "refresh_tokens"/.test(text)).length, 1);
  } finally {
    Kysely.prototype.executeQuery = executeQuery;
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * The SQLite driver's connections (src/store/kysely/sqlite-driver.ts): one
 * handed back is handed out again, so Kysely wraps it with its query logging
 * once rather than for every query; one still in a transaction never is.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CompiledQuery } from 'kysely';
import { sqliteDialect } from '../../src/store/kysely/sqlite-driver.js';

test('a connection handed back is handed out again; concurrent ones are distinct; one in a transaction is not kept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-driver-'));
  const driver = sqliteDialect({ file: join(dir, 'db.sqlite'), synchronous: 'full' }).createDriver();
  try {
    await driver.init();
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
  } finally {
    await driver.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});

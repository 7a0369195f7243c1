/** SQLite durability: synchronous=FULL unless the operator opts out (sqliteSynchronous=normal). */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/schema.js';
import { openStore } from '../../src/store/open.js';

async function synchronousOf(option: 'full' | 'normal' | undefined): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-sync-'));
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite'), sqliteSynchronous: option });
  try {
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    return Number(rows[0]?.synchronous);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('synchronous is FULL (2) by default and NORMAL (1) only when the operator opts out', async () => {
  assert.equal(loadConfig({}, {}).sqliteSynchronous, 'full');
  assert.equal(loadConfig({}, { LATCHKEY_SQLITE_SYNCHRONOUS: 'normal' }).sqliteSynchronous, 'normal');
  assert.equal(await synchronousOf(undefined), 2);
  assert.equal(await synchronousOf('full'), 2);
  assert.equal(await synchronousOf('normal'), 1);
});

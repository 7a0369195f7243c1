/**
 * SQLite durability (src/store/kysely/sqlite-driver.ts): by default every
 * commit and every autocommit write is on disk (its WAL file fsynced) before
 * the store reports it; with sqliteSynchronous=normal, only at checkpoints.
 */
import assert from 'node:assert/strict';
import fs, { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { sql } from 'kysely';
import { loadConfig } from '../../src/config/schema.js';
import { openStore } from '../../src/store/open.js';

/** What happened, in order: each fsync of a WAL file as it completes, and each store call as it resolves. */
const events: string[] = [];
const realFsync = fs.fsync;

before(() => {
  fs.fsync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    realFsync(fd, (error) => {
      if (path.endsWith('-wal')) events.push('wal synced');
      callback(error);
    });
  }) as typeof fs.fsync;
  syncBuiltinESMExports();
});

after(() => {
  fs.fsync = realFsync;
  syncBuiltinESMExports();
});

async function writesWith(option: 'full' | 'normal' | undefined): Promise<{ events: string[]; synchronous: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-sync-'));
  const store = openStore({ sqliteFile: join(dir, 'db.sqlite'), sqliteSynchronous: option });
  events.length = 0;
  try {
    await sql`create table notes (id integer primary key, text text)`.execute(store.db);
    events.push('autocommit write reported');
    await store.transaction(async (tx) => {
      await sql`insert into notes (text) values ('in a transaction')`.execute((tx as typeof store).db);
    });
    events.push('transaction reported');
    await sql`select count(*) from notes`.execute(store.db);
    events.push('read reported');
    const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
    return { events: [...events], synchronous: Number(rows[0]?.synchronous) };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the default is full durability; normal only when the operator opts out', () => {
  assert.equal(loadConfig({}, {}).sqliteSynchronous, 'full');
  assert.equal(loadConfig({}, { LATCHKEY_SQLITE_SYNCHRONOUS: 'normal' }).sqliteSynchronous, 'normal');
});

test('full: every write is reported only after the WAL is fsynced; reads wait for no sync', async () => {
  for (const option of [undefined, 'full'] as const) {
    const { events: seen, synchronous } = await writesWith(option);
    assert.deepEqual(seen, ['wal synced', 'autocommit write reported', 'wal synced', 'transaction reported', 'read reported']);
    // SQLite itself does not sync per commit (NORMAL): the driver does, off the event loop.
    assert.equal(synchronous, 1);
  }
});

test('normal: nothing waits for the disk', async () => {
  const { events: seen } = await writesWith('normal');
  assert.deepEqual(seen, ['autocommit write reported', 'transaction reported', 'read reported']);
});

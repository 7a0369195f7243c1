/**
 * How a store's caches learn of other instances' changes, for tests on every
 * dialect: PostgreSQL's listener (pg-changes.ts) hears them in the background;
 * SQLite reads the file's data version before serving (sqlite-changes.ts).
 */
import assert from 'node:assert/strict';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { eventually } from './eventually.js';

/** Waits until `store` serves from its caches: on PostgreSQL once it listens (from its first cached lookup on); on SQLite at once. */
export async function cachesServing(store: KyselyStore): Promise<void> {
  if (store.dialect === 'postgres') await eventually('listening', () => store.caches.changes?.isListening === true);
}

/** Asserts another instance's committed change reaches `store`: by its next lookup on SQLite, once notified on PostgreSQL. */
export async function changeReaches(store: KyselyStore, what: string, condition: () => Promise<boolean>): Promise<void> {
  if (store.dialect === 'sqlite') assert.ok(await condition(), what);
  else await eventually(what, condition);
}

// Types of floor-database.mjs, for bench/floor.ts.
import type { Database } from 'better-sqlite3';
import type { migrateToLatest, openStore } from '../src/store/open.js';

export function openFloorDatabase(latchkey: { openStore: typeof openStore; migrateToLatest: typeof migrateToLatest }, file: string): Promise<Database>;

/** What every `latchkey` command shares: store flags, output, argument parsing, the exit-code errors. */
import { userInfo } from 'node:os';
import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config/schema.js';
import type { Actor } from '../services/audit.js';
import { migrateToLatest, openStore } from '../store/open.js';
import type { KyselyStore } from '../store/kysely/store.js';

/** Exit codes: 1 for a failed operation, 2 for bad arguments or input. */
export class UsageError extends Error {}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(parsed)) throw new InvalidArgumentError('must be a whole number');
  return parsed;
}

export function splitScopes(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(/[\s,]+/).filter((scope) => scope !== '');
}

export interface StoreFlags {
  config?: string;
  databaseUrl?: string;
  dataDir?: string;
  json?: boolean;
}

/** Opens the configured store, up to date, for one command. */
export async function withStore<T>(flags: StoreFlags, work: (store: KyselyStore) => Promise<T>): Promise<T> {
  const config = loadConfig({ databaseUrl: flags.databaseUrl, dataDir: flags.dataDir }, process.env, { file: flags.config });
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    await migrateToLatest(store);
    return await work(store);
  } finally {
    await store.close();
  }
}

/** One JSON object with --json, else the text. */
export function print(json: boolean | undefined, value: Record<string, unknown>, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text}\n`);
}

export function storeOptions(command: Command): Command {
  return command
    .option('--config <file>', 'config file (default ./latchkey.config.json when present)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); SQLite under --data-dir otherwise')
    .option('--data-dir <dir>', 'where the SQLite database lives (env LATCHKEY_DATA_DIR)')
    .option('--json', 'print one JSON object');
}

/** The operator at the command line, for the audit trail: "cli:<os user>". */
export function cliActor(): Actor {
  let name = 'unknown';
  try {
    name = userInfo().username || name;
  } catch {
    // No passwd entry (some containers): the actor is still the CLI.
  }
  return { actor: `cli:${name}`, ip: null, via: 'cli' };
}

/** Rows as aligned text columns. */
export function table(rows: ReadonlyArray<ReadonlyArray<string>>): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => void (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, index) => (index === row.length - 1 ? cell : cell.padEnd(widths[index] ?? 0))).join('  ')).join('\n');
}

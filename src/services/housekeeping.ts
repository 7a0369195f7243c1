/**
 * The periodic sweep of expired rows. It deletes in bounded batches and yields
 * between them, so requests are never blocked behind one large delete; several
 * instances may sweep at once (deleting a row twice is harmless).
 */
import { setImmediate as yieldToRequests } from 'node:timers/promises';
import { EXPIRING_TABLES, type ExpiringTable, type Store } from '../store/types.js';

/**
 * How long a row is kept after it expires. Used codes are kept a day so that a
 * late replay is still recognised and revokes its grant (RFC 6749 §4.1.2).
 */
const RETENTION_MS: Record<ExpiringTable, number> = {
  authorization_codes: 24 * 3600 * 1000,
  access_tokens: 0,
  refresh_tokens: 0,
  sessions: 0,
  pending_authorizations: 0,
  rate_limits: 0,
};

export type SweepCounts = Record<ExpiringTable, number>;

export async function sweepExpired(
  store: Store,
  now: number,
  options: { batchSize?: number; maxBatchesPerTable?: number } = {},
): Promise<SweepCounts> {
  const batchSize = options.batchSize ?? 500;
  const maxBatches = options.maxBatchesPerTable ?? 200;
  const counts = {} as SweepCounts;
  for (const table of EXPIRING_TABLES) {
    counts[table] = 0;
    for (let batch = 0; batch < maxBatches; batch++) {
      const deleted = await store.deleteExpired(table, now - RETENTION_MS[table], batchSize);
      counts[table] += deleted;
      if (deleted < batchSize) break;
      await yieldToRequests();
    }
  }
  return counts;
}

export interface Housekeeper {
  stop(): Promise<void>;
}

/** Sweeps every `intervalSeconds` (0 disables); reports each sweep's counts. */
export function startHousekeeping(
  store: Store,
  options: { intervalSeconds: number; now: () => number; onSweep?: (counts: SweepCounts) => void; onError?: (error: unknown) => void },
): Housekeeper {
  if (options.intervalSeconds <= 0) return { stop: async () => {} };
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = sweepExpired(store, options.now()).then(options.onSweep, options.onError);
  }, options.intervalSeconds * 1000);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

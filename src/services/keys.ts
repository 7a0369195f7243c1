/**
 * Operating the JWT signing keys: listing and rotating them (CLI), and the
 * rotation schedule every server instance runs.
 */
import type { Clock } from '../core/clock.js';
import { pruneSigningKeys, rotateIfDue, rotateSigningKey } from '../core/signing-keys.js';
import type { Store } from '../store/types.js';

export interface KeySummary {
  kid: string;
  alg: string;
  status: 'active' | 'retired';
  createdAt: number;
  retiredAt: number | null;
}

export async function listKeys(store: Store): Promise<KeySummary[]> {
  return (await store.listSigningKeys()).map((key) => ({
    kid: key.kid,
    alg: key.alg,
    status: key.retiredAt === null ? 'active' : 'retired',
    createdAt: key.createdAt,
    retiredAt: key.retiredAt,
  }));
}

/**
 * A new signing key now; the previous ones stay published until their tokens
 * expire. With `dropPrevious` (a key that may have leaked) every previous key
 * is deleted at once and every token it signed revoked: a JWT they signed, or
 * one forged with them, is refused as soon as verifiers refresh their keys.
 */
export async function rotateKeys(
  store: Store,
  now: number,
  options: { dropPrevious?: boolean } = {},
): Promise<{ kid: string; retired: string[]; pruned: string[]; dropped: string[]; revokedTokens: number }> {
  const previous = await store.listSigningKeys();
  const before = previous.filter((key) => key.retiredAt === null).map((key) => key.kid);
  const created = await rotateSigningKey(store, now);
  if (!created) throw new Error('the rotation did not take place');
  const dropped = options.dropPrevious ? previous.map((key) => key.kid) : [];
  const revokedTokens = await store.dropSigningKeys(dropped, now);
  const pruned = options.dropPrevious ? [] : await pruneSigningKeys(store, now);
  await store.recordAudit(
    { type: 'signing_key.rotated', actor: null, ip: null, subject: created.kid, detail: { retired: before, dropped, revokedTokens } },
    now,
  );
  return { kid: created.kid, retired: before, pruned, dropped, revokedTokens };
}

export interface KeyRotationSchedule {
  /** One check: rotate if the active key is due, prune keys no token needs. */
  tick(): Promise<void>;
  /** Stops the timer and waits for a check in progress. */
  stop(): Promise<void>;
}

/**
 * Checks every `checkEveryMs` (default: a tenth of the interval, between 1 s
 * and 1 min) whether the active key is older than `intervalSeconds`. Every
 * instance runs it; the conditional write in the rotation makes one of them win.
 */
export function scheduleKeyRotation(options: {
  store: Store;
  clock: Clock;
  intervalSeconds: number;
  checkEveryMs?: number;
  log: { info(object: object, message: string): void; error(object: object, message: string): void };
}): KeyRotationSchedule {
  const { store, clock, intervalSeconds, log } = options;
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= (async () => {
      try {
        const now = clock.now();
        const { rotated, pruned } = await rotateIfDue(store, now, intervalSeconds);
        if (rotated) {
          log.info({ kid: rotated.kid }, 'signing key rotated');
          await store.recordAudit({ type: 'signing_key.rotated', actor: null, ip: null, subject: rotated.kid, detail: { scheduled: true } }, now);
        }
        if (pruned.length > 0) log.info({ kids: pruned }, 'retired signing keys pruned');
      } catch (error) {
        log.error({ err: error }, 'signing key rotation failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const every = options.checkEveryMs ?? Math.min(60_000, Math.max(1_000, (intervalSeconds * 1000) / 10));
  const timer = setInterval(() => void tick(), every);
  timer.unref();
  return {
    tick,
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

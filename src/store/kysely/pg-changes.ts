/**
 * Changes to cached rows, told between the processes of one PostgreSQL
 * database with LISTEN/NOTIFY. A process that changes a client, its secrets,
 * a user, an account or a scope sends `NOTIFY latchkey_changes` in the change's own
 * transaction, so PostgreSQL delivers it when (and only if) the change
 * commits; every process listening empties its caches on receipt.
 *
 * A notification sent while a listener is disconnected is lost to it, so a
 * cache that relies on them must not serve while the listener is down: the
 * listener reports `lost` at once (the connection ended or failed) and
 * `listening` only after its `LISTEN` has been answered on a new connection,
 * from which point nothing is missed. A connection that dies without a word
 * (a network cut) is found by TCP keepalive; the caches' own lifetime bounds
 * what is served meanwhile.
 */
import type pg from 'pg';

export const CHANGES_CHANNEL = 'latchkey_changes';

export interface ChangeHandlers {
  /** Another process (or this one) committed a change. */
  changed(): void;
  /** Listening: every change committed from now on will be told. */
  listening(): void;
  /** No longer listening: changes may go untold until `listening()`. */
  lost(): void;
}

/** Waits between attempts to reconnect: doubling from the first, up to the last. */
const RETRY_MS = { first: 250, last: 30_000 };

export class ChangeListener {
  /** The connection listening or being opened; undefined between attempts. */
  private client: pg.Client | undefined;
  private started = false;
  private closed = false;
  private retries = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private listeningNow = false;

  constructor(
    /** A new, unconnected client for the database (not from the pool: LISTEN holds its connection). */
    private readonly newClient: () => pg.Client,
    private readonly handlers: ChangeHandlers,
  ) {}

  get isListening(): boolean {
    return this.listeningNow;
  }

  /** Starts listening in the background (once; later calls do nothing). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (this.listeningNow) {
      this.listeningNow = false;
      this.handlers.lost();
    }
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = this.newClient();
    this.client = client;
    // 'error' and 'end' both come when a connection fails; `drop` acts once per connection.
    client.on('error', () => this.drop(client));
    client.on('end', () => this.drop(client));
    client.on('notification', (message) => {
      if (message.channel === CHANGES_CHANNEL) this.handlers.changed();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGES_CHANNEL}`);
    } catch {
      this.drop(client);
      return;
    }
    if (this.client !== client) return;
    this.retries = 0;
    this.listeningNow = true;
    this.handlers.listening();
  }

  private drop(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = undefined;
    if (this.listeningNow) {
      this.listeningNow = false;
      this.handlers.lost();
    }
    void client.end().catch(() => {});
    if (this.closed) return;
    const wait = Math.min(RETRY_MS.last, RETRY_MS.first * 2 ** this.retries);
    this.retries += 1;
    this.retryTimer = setTimeout(() => void this.connect(), wait);
    this.retryTimer.unref();
  }
}

/** Starting and stopping a Latchkey server process. */
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildApp, issuerOf } from './app.js';
import { createMetrics } from './http/metrics.js';
import { systemClock } from './core/clock.js';
import type { Config } from './config/schema.js';
import { ensureSigningKey } from './core/signing-keys.js';
import { bootstrapIfEmpty, type FirstRun } from './services/bootstrap.js';
import { startHousekeeping } from './services/housekeeping.js';
import { keepTickObjectShape } from './tick-object-shape.js';
import { migrateToLatest, openStore, withStartupLock } from './store/open.js';
import type { KyselyStore } from './store/kysely/store.js';

export interface RunningServer {
  app: FastifyInstance;
  store: KyselyStore;
  url: string;
  /** The issuer in use (with the bound port when started on port 0). */
  issuer: string;
  firstRun: FirstRun | undefined;
  /**
   * Stops accepting connections, lets the requests in flight finish (for at most
   * `graceSeconds`, default config.shutdownGraceSeconds; then the connections
   * still open are cut), stops the housekeeping and closes the database.
   * Resolves to whether every request in flight could finish.
   */
  stop(graceSeconds?: number): Promise<{ drained: boolean }>;
}

/** A port held for this process until `release` (idempotent); then the server binds it. */
export interface ReservedPort {
  port: number;
  release(): Promise<void>;
}

/**
 * A free port on the host, held until the server binds it, so that `--port 0`
 * still yields a truthful issuer URL. Held, because a port merely picked and
 * let go can be taken in between by anything on the machine (an outgoing
 * connection gets its local port from the same range), and starting a server
 * takes a while (migrations, the first run's set-up).
 */
export function reservePort(host: string): Promise<ReservedPort> {
  return new Promise((resolve, reject) => {
    const holder = createServer();
    holder.once('error', reject);
    holder.listen(0, host, () => {
      const address = holder.address();
      if (typeof address !== 'object' || address === null) {
        holder.close();
        reject(new Error('no port'));
        return;
      }
      let released: Promise<void> | undefined;
      const release = () => (released ??= new Promise<void>((done) => holder.close(() => done())));
      resolve({ port: address.port, release });
    });
  });
}

export async function startServer(requested: Config): Promise<RunningServer> {
  await keepTickObjectShape();
  // The issuer is derived from the port when not configured, so port 0 is resolved first.
  const reserved = requested.port === 0 && !requested.issuer ? await reservePort(requested.host) : undefined;
  try {
    return await startOn(reserved ? { ...requested, port: reserved.port } : requested, async () => reserved?.release());
  } finally {
    await reserved?.release();
  }
}

/** Starts the server on `config.port`, calling `beforeListen` just before it binds it. */
async function startOn(config: Config, beforeListen: () => Promise<void>): Promise<RunningServer> {
  const metrics = createMetrics({ processMetrics: true });
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, sqliteSynchronous: config.sqliteSynchronous, poolSize: config.databasePoolSize, onQuery: metrics.observeQuery, partiesCacheMs: config.resourceGuardCacheSeconds * 1000, clientCacheMs: config.clientCacheSeconds * 1000 });
  try {
    // Several instances may start at once on one database: one at a time migrates and bootstraps.
    const firstRun = await withStartupLock(store, async () => {
      await migrateToLatest(store);
      const created = await bootstrapIfEmpty(store, issuerOf(config), systemClock.now());
      // The JWT signing key is generated on first start, so /oauth/jwks.json has it before any token.
      await ensureSigningKey(store, systemClock.now());
      return created;
    });
    const app = await buildApp({ config, store, metrics });
    await beforeListen();
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    const housekeeper = startHousekeeping(store, {
      intervalSeconds: config.housekeepingIntervalSeconds,
      now: () => systemClock.now(),
      onSweep: (counts) => {
        metrics.observeSweep(counts);
        app.log.info({ swept: counts }, 'housekeeping sweep');
      },
      onError: (error) => {
        metrics.observeSweepFailure();
        app.log.warn({ err: error }, 'housekeeping sweep failed');
      },
    });
    let stopping: Promise<{ drained: boolean }> | undefined;
    return {
      app,
      store,
      url,
      issuer: issuerOf(config),
      firstRun,
      stop: (graceSeconds = config.shutdownGraceSeconds) => {
        stopping ??= (async () => {
          let drained = true;
          const deadline = setTimeout(() => {
            drained = false;
            app.log.warn({ graceSeconds }, 'shutdown deadline passed: closing the connections still open');
            app.server.closeAllConnections();
          }, graceSeconds * 1000);
          // Node closes the keep-alive connections that are idle when the server closes; one whose
          // last response finishes a moment later would stay open until the deadline. Close those
          // as they fall idle.
          const idleSweep = setInterval(() => app.server.closeIdleConnections(), 50);
          try {
            // app.close() stops accepting at once, closes idle keep-alive connections,
            // and resolves when the requests in flight have been answered.
            await Promise.all([app.close(), housekeeper.stop()]);
          } finally {
            clearInterval(idleSweep);
            clearTimeout(deadline);
            await store.close();
          }
          return { drained };
        })();
        return stopping;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export function firstRunBanner(firstRun: FirstRun, issuer: string, authorizePath = '/oauth/authorize'): string {
  const authorize = new URL(`${issuer}${authorizePath}`);
  authorize.search = new URLSearchParams({
    response_type: 'code',
    client_id: firstRun.clientId,
    redirect_uri: firstRun.redirectUri,
    scope: 'profile read',
    state: 'demo',
  }).toString();
  return [
    '',
    'Latchkey is set up. These credentials are shown once; store them now.',
    '',
    `  Admin user      ${firstRun.adminEmail}`,
    `  Admin password  ${firstRun.adminPassword}`,
    `  Admin console   ${issuer}/admin`,
    '',
    '  Demo client',
    `    client_id      ${firstRun.clientId}`,
    `    client_secret  ${firstRun.clientSecret}`,
    `    redirect_uri   ${firstRun.redirectUri}`,
    '',
    'Try the flow: open this URL in a browser and sign in as the admin user:',
    `  ${authorize.toString()}`,
    '',
  ].join('\n');
}

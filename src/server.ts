/** Starting and stopping a Latchkey server process. */
import type { FastifyInstance } from 'fastify';
import { buildApp, issuerOf } from './app.js';
import { systemClock } from './core/clock.js';
import type { Config } from './config/schema.js';
import { bootstrapIfEmpty, type FirstRun } from './services/bootstrap.js';
import { migrateToLatest, openStore } from './store/open.js';
import type { KyselyStore } from './store/kysely/store.js';

export interface RunningServer {
  app: FastifyInstance;
  store: KyselyStore;
  url: string;
  firstRun: FirstRun | undefined;
  stop(): Promise<void>;
}

export async function startServer(config: Config): Promise<RunningServer> {
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrateToLatest(store);
    const firstRun = await bootstrapIfEmpty(store, issuerOf(config), systemClock.now());
    const app = await buildApp({ config, store });
    await app.listen({ port: config.port, host: config.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
    let stopping: Promise<void> | undefined;
    return {
      app,
      store,
      url,
      firstRun,
      stop: () => {
        stopping ??= app.close().then(() => store.close());
        return stopping;
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export function firstRunBanner(firstRun: FirstRun, issuer: string): string {
  const authorize = new URL(`${issuer}/oauth/authorize`);
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

/** A migrated database, seed data and an app, set up and torn down around a describe block. */
import { after, before } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { ConfigInput } from '../../src/config/schema.js';
import type { Clock } from '../../src/core/clock.js';
import type { Client } from '../../src/core/model.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { Agent, runBrowserFlow, testApp, type FlowOptions } from './agent.js';
import type { DialectCase, TestDatabase } from './databases.js';
import { makeClient, makeUser, seedScopes } from './fixtures.js';

export interface TestServer {
  database: TestDatabase;
  store: KyselyStore;
  app: FastifyInstance;
  client: Client;
  secret: string;
  publicClient: Client;
  /** A clock tests may move forward. */
  clock: Clock & { advance(ms: number): void };
  /** Runs the browser flow and returns the code from the redirect. */
  code(options?: Partial<FlowOptions>): Promise<string>;
}

export function useServer(dialect: DialectCase, config: ConfigInput = {}): TestServer {
  const server = {} as TestServer;
  let offset = 0;
  server.clock = { now: () => Date.now() + offset, advance: (ms: number) => void (offset += ms) };
  before(async () => {
    server.database = await dialect.create();
    server.store = await server.database.open();
    await seedScopes(server.store);
    await makeUser(server.store);
    ({ client: server.client, secret: server.secret } = await makeClient(server.store));
    ({ client: server.publicClient } = await makeClient(server.store, { name: 'Mobile App', isPublic: true }));
    server.app = await testApp(server.store, { clock: server.clock, config });
    server.code = async (options = {}) => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: server.client.id, ...options });
      const code = redirect.searchParams.get('code');
      if (!code) throw new Error(`no code in ${redirect}`);
      return code;
    };
  });
  after(async () => {
    await server.app?.close();
    await server.database?.drop();
  });
  return server;
}

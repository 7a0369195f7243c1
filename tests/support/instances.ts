/**
 * Several `latchkey serve` processes on one database, seeded with a user and a
 * confidential client, for tests of what only the database coordinates.
 */
import { after, before } from 'node:test';
import { protocolSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { approveAuthorization } from '../../src/core/authorize.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { basic } from './agent.js';
import type { DialectCase, TestDatabase } from './databases.js';
import { makeClient, makeUser, REDIRECT_URI, seedScopes } from './fixtures.js';
import { type ServerProcess, startServerProcess } from './process.js';

export interface Instances {
  store: KyselyStore;
  processes: ServerProcess[];
  /** A fresh code on a fresh grant, issued by the core directly on the shared database. */
  newCode(): Promise<string>;
  /** POSTs to one process's token endpoint as the seeded client. */
  token(process: ServerProcess, fields: Record<string, string>): Promise<{ status: number; body: Record<string, string> }>;
}

export function useInstances(dialect: DialectCase, count: number): Instances {
  let database: TestDatabase;
  let authorization = '';
  let clientId = '';
  let userId = '';
  let accountId = '';
  const instances = { processes: [] } as unknown as Instances;

  before(async () => {
    database = await dialect.create();
    instances.store = await database.open();
    await seedScopes(instances.store);
    const { user, accounts } = await makeUser(instances.store);
    userId = user.id;
    accountId = (accounts[0] as { id: string }).id;
    const { client, secret } = await makeClient(instances.store);
    clientId = client.id;
    authorization = basic(client.id, secret);
    const location = database.databaseUrl
      ? { databaseUrl: database.databaseUrl }
      : { dataDir: (database.sqliteFile as string).replace(/\/latchkey\.sqlite$/, '') };
    instances.processes = await Promise.all(Array.from({ length: count }, () => startServerProcess(location)));
  });
  after(async () => {
    await Promise.all(instances.processes.map((instance) => instance.stop()));
    await database?.drop();
  });

  instances.newCode = async () => {
    const request = {
      clientId,
      redirectUri: REDIRECT_URI,
      redirectUriExplicit: true,
      scopes: ['profile'],
      state: undefined,
      codeChallenge: undefined,
      codeChallengeMethod: undefined,
      prompt: [],
      channel: 'default',
      extensions: {},
    };
    const settings = protocolSettings(loadConfig({}, {}));
    const { code } = await approveAuthorization(request, { userId, accountId, partnerId: null }, { store: instances.store, settings, now: Date.now() });
    return code;
  };
  instances.token = async (process, fields) => {
    const response = await fetch(`${process.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      body: new URLSearchParams(fields),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  };
  return instances;
}

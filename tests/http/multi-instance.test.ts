/**
 * Two server processes on one database: a code and a refresh token can each be
 * used exactly once across them, even when raced concurrently. Nothing but the
 * database coordinates the two processes.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { approveAuthorization } from '../../src/core/authorize.js';
import { protocolSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, REDIRECT_URI, seedScopes } from '../support/fixtures.js';
import { type ServerProcess, startServerProcess } from '../support/process.js';

const ROUNDS = 15;
const RACERS = 6;

for (const dialect of await dialects()) {
  describe(`two instances on one ${dialect.name} database`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let instances: ServerProcess[] = [];
    let authorization: string;
    let clientId: string;
    let userId: string;
    let accountId: string;

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
      const { user, accounts } = await makeUser(store);
      userId = user.id;
      accountId = (accounts[0] as { id: string }).id;
      const { client, secret } = await makeClient(store);
      clientId = client.id;
      authorization = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
      const location = database.databaseUrl ? { databaseUrl: database.databaseUrl } : { dataDir: (database.sqliteFile as string).replace(/\/latchkey\.sqlite$/, '') };
      instances = await Promise.all([startServerProcess(location), startServerProcess(location)]);
    });
    after(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await database?.drop();
    });

    /** A fresh code on a fresh grant, issued by the core directly on the shared database. */
    async function newCode(): Promise<string> {
      const settings = protocolSettings(loadConfig({}, {}));
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
      const { code } = await approveAuthorization(request, { userId, accountId, partnerId: null }, { store, settings, now: Date.now() });
      return code;
    }

    function post(instance: ServerProcess, fields: Record<string, string>) {
      return fetch(`${instance.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        body: new URLSearchParams(fields),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as Record<string, string> }));
    }

    /** Sends the same request RACERS times at once, alternating instances. */
    function race(fields: Record<string, string>) {
      return Promise.all(Array.from({ length: RACERS }, (_, index) => post(instances[index % 2] as ServerProcess, fields)));
    }

    test('each code is redeemed exactly once when raced across the instances', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const code = await newCode();
        const results = await race({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
        const winners = results.filter((result) => result.status === 200);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((result) => result.status))}`);
        for (const loser of results.filter((result) => result.status !== 200)) {
          assert.equal(loser.status, 400);
          assert.equal(loser.body.error, 'invalid_grant');
        }
      }
    });

    test('a refresh token rotated on one instance is refused on the other', async () => {
      const first = await post(instances[0] as ServerProcess, { grant_type: 'authorization_code', code: await newCode(), redirect_uri: REDIRECT_URI });
      assert.equal(first.status, 200);
      const next = await post(instances[0] as ServerProcess, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
      assert.equal(next.status, 200);
      const replay = await post(instances[1] as ServerProcess, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
    });

    test('each refresh token is rotated exactly once when raced across the instances', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const issued = await post(instances[round % 2] as ServerProcess, { grant_type: 'authorization_code', code: await newCode(), redirect_uri: REDIRECT_URI });
        assert.equal(issued.status, 200);
        const results = await race({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string });
        const winners = results.filter((result) => result.status === 200);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((result) => result.status))}`);
      }
    });
  });
}

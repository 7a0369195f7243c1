/**
 * Races across instances (issue 8; RFC 6749 §4.1.2, §10.5; RFC 9700 §4.14.2;
 * the CVE class "refresh-token reuse raced by concurrent requests"): three
 * server processes on one PostgreSQL database, two on one SQLite file, and
 * 100 concurrent redemptions of one code and 100 concurrent refreshes with
 * one refresh token, spread over the processes. Exactly one request wins;
 * every other answer is 400 invalid_grant; and because the losers are
 * replays, the grant is revoked, the winner's tokens included.
 * Extends the pattern of tests/http/multi-instance.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { protocolSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { approveAuthorization } from '../../src/core/authorize.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { basic } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, REDIRECT_URI, seedScopes } from '../support/fixtures.js';
import { type ServerProcess, startServerProcess } from '../support/process.js';

const RACERS = 100;
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 2);

export const raceCount = { runs: 0 };

for (const dialect of await dialects()) {
  const processes = dialect.name === 'postgres' ? 3 : 2;
  describe(`races: ${RACERS} concurrent requests over ${processes} instances on one ${dialect.name} database`, { skip: dialect.skip }, () => {
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
      authorization = basic(client.id, secret);
      const location = database.databaseUrl
        ? { databaseUrl: database.databaseUrl }
        : { dataDir: (database.sqliteFile as string).replace(/\/latchkey\.sqlite$/, '') };
      instances = await Promise.all(Array.from({ length: processes }, () => startServerProcess(location)));
    });
    after(async () => {
      await Promise.all(instances.map((instance) => instance.stop()));
      await database?.drop();
    });

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
      return (await approveAuthorization(request, { userId, accountId, partnerId: null }, { store, settings, now: Date.now() })).code;
    }

    async function post(instance: ServerProcess, fields: Record<string, string>) {
      const response = await fetch(`${instance.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        body: new URLSearchParams(fields),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    async function race(fields: Record<string, string>) {
      raceCount.runs++;
      const results = await Promise.all(Array.from({ length: RACERS }, (_, index) => post(instances[index % processes] as ServerProcess, fields)));
      const winners = results.filter((result) => result.status === 200);
      const losers = results.filter((result) => result.status !== 200);
      assert.equal(winners.length, 1, `statuses: ${JSON.stringify(results.map((result) => result.status))}`);
      for (const loser of losers) assert.deepEqual([loser.status, loser.body.error], [400, 'invalid_grant']);
      return winners[0]?.body as Record<string, string>;
    }

    /** The grant behind a refresh token is revoked, with every token on it. */
    async function assertGrantRevoked(winner: Record<string, string>): Promise<void> {
      const me = await fetch(`${(instances[0] as ServerProcess).url}/api/me`, { headers: { authorization: `Bearer ${winner.access_token}` } });
      assert.equal(me.status, 401, "the winner's access token is revoked with the grant");
      const refreshed = await post(instances[processes - 1] as ServerProcess, { grant_type: 'refresh_token', refresh_token: winner.refresh_token as string });
      assert.deepEqual([refreshed.status, refreshed.body.error], [400, 'invalid_grant']);
      const live = await store.db
        .selectFrom('refresh_tokens')
        .innerJoin('grants', 'grants.id', 'refresh_tokens.grant_id')
        .select(['grants.id', 'grants.revoked_at'])
        .where('refresh_tokens.revoked_at', 'is', null)
        .where('refresh_tokens.rotated_at', 'is', null)
        .where('grants.revoked_at', 'is', null)
        .execute();
      assert.deepEqual(live, [], 'no live refresh token is left on a revoked grant');
    }

    test(`RFC 6749 §4.1.2 / §10.5: ${RACERS} concurrent redemptions of one code: one 200, the rest invalid_grant, the grant revoked`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const winner = await race({ grant_type: 'authorization_code', code: await newCode(), redirect_uri: REDIRECT_URI });
        await assertGrantRevoked(winner);
      }
    });

    test(`RFC 9700 §4.14.2: ${RACERS} concurrent refreshes with one refresh token: one 200, the rest invalid_grant, the grant revoked`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const issued = await post(instances[round % processes] as ServerProcess, { grant_type: 'authorization_code', code: await newCode(), redirect_uri: REDIRECT_URI });
        assert.equal(issued.status, 200);
        const winner = await race({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string });
        await assertGrantRevoked(winner);
        // The original access token went with the grant too.
        const me = await fetch(`${(instances[1] as ServerProcess).url}/api/me`, { headers: { authorization: `Bearer ${issued.body.access_token}` } });
        assert.equal(me.status, 401);
      }
    });

    test('no 5xx and no crash: every instance is still serving after the races', async () => {
      for (const instance of instances) {
        assert.equal(instance.child.exitCode, null, instance.output());
        assert.doesNotMatch(instance.output(), /"level":(50|60)/, 'no error was logged');
      }
    });
  });
}

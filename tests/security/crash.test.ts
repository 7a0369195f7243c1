/**
 * Crashes (issue 8): a server process under refresh load is killed with
 * SIGKILL at a random moment, restarted on the same database, and the
 * invariants are checked:
 * - every token pair the client received in full is still usable (its access
 *   token answers /api/me, its refresh token refreshes);
 * - a refresh whose answer was lost in the crash either never happened (the
 *   old refresh token still works) or was committed (the old token is then a
 *   replay: invalid_grant and the grant revoked, RFC 9700 §4.14.2) — nothing
 *   in between;
 * - no grant has two live refresh tokens, no live grant has none (a rotation
 *   committed without its successor would be a half-written row), and every
 *   token row points to an existing grant; SQLite passes integrity_check.
 * SQLite runs in WAL mode and reports a commit only once its WAL is fsynced
 * (src/store/kysely/sqlite-driver.ts), so a committed rotation survives the kill. CRASHES (default 3 per dialect) sets
 * how many kills.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { protocolSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { approveAuthorization } from '../../src/core/authorize.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { basic } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, REDIRECT_URI, seedScopes } from '../support/fixtures.js';
import { type ServerProcess, startServerProcess } from '../support/process.js';

const CRASHES = Number(process.env.CRASHES ?? 3);
const CHAINS = 4;

interface Chain {
  owner: number;
  access: string;
  refresh: string;
  /** A refresh was sent and its answer lost in the crash. */
  uncertain: boolean;
}

for (const dialect of await dialects()) {
  describe(`crashes under refresh load (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let location: { databaseUrl?: string; dataDir?: string };
    let authorization: string;
    let clientId: string;
    /** One user per chain, so each chain is its own grant (a grant is one connection: client, user, account). */
    const owners: Array<{ userId: string; accountId: string }> = [];
    let server: ServerProcess | undefined;

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
      for (let i = 0; i < CHAINS; i++) {
        const { user, accounts } = await makeUser(store, `crash${i}@example.com`);
        owners.push({ userId: user.id, accountId: (accounts[0] as { id: string }).id });
      }
      const { client, secret } = await makeClient(store);
      clientId = client.id;
      authorization = basic(client.id, secret);
      location = database.databaseUrl ? { databaseUrl: database.databaseUrl } : { dataDir: (database.sqliteFile as string).replace(/\/latchkey\.sqlite$/, '') };
    });
    after(async () => {
      await server?.stop('SIGKILL');
      await database?.drop();
    });

    async function post(fields: Record<string, string>) {
      const response = await fetch(`${(server as ServerProcess).url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
        body: new URLSearchParams(fields),
      });
      return { status: response.status, body: (await response.json()) as Record<string, string> };
    }

    async function newChain(owner: number): Promise<Chain> {
      const { userId, accountId } = owners[owner] as { userId: string; accountId: string };
      const settings = protocolSettings(loadConfig({}, {}));
      const { code } = await approveAuthorization(
        {
          clientId, redirectUri: REDIRECT_URI, redirectUriExplicit: true, scopes: ['profile'], state: undefined,
          codeChallenge: undefined, codeChallengeMethod: undefined, prompt: [], channel: 'default', extensions: {},
        },
        { userId, accountId, partnerId: null },
        { store, settings, now: Date.now() },
      );
      const issued = await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
      assert.equal(issued.status, 200, JSON.stringify(issued.body));
      return { owner, access: issued.body.access_token as string, refresh: issued.body.refresh_token as string, uncertain: false };
    }

    /** Refreshes the chain over and over until the server dies. */
    async function load(chain: Chain, stop: { killed: boolean }): Promise<number> {
      let rotations = 0;
      while (!stop.killed) {
        let result: Awaited<ReturnType<typeof post>>;
        try {
          result = await post({ grant_type: 'refresh_token', refresh_token: chain.refresh });
        } catch {
          chain.uncertain = true; // the answer was lost: the rotation may or may not have committed
          return rotations;
        }
        assert.equal(result.status, 200, `a refresh failed without a crash: ${JSON.stringify(result.body)}`);
        chain.access = result.body.access_token as string;
        chain.refresh = result.body.refresh_token as string;
        rotations++;
      }
      return rotations;
    }

    async function me(accessToken: string): Promise<number> {
      return (await fetch(`${(server as ServerProcess).url}/api/me`, { headers: { authorization: `Bearer ${accessToken}` } })).status;
    }

    async function checkDatabase(): Promise<void> {
      const twoLive = await store.db
        .selectFrom('refresh_tokens')
        .select(['grant_id', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('revoked_at', 'is', null)
        .where('rotated_at', 'is', null)
        .groupBy('grant_id')
        .having((eb) => eb.fn.countAll(), '>', 1)
        .execute();
      assert.deepEqual(twoLive, [], 'a grant with two live refresh tokens');
      const orphanedGrants = await store.db
        .selectFrom('grants')
        .select('grants.id')
        .where('grants.revoked_at', 'is', null)
        .where('grants.client_id', '=', clientId)
        .where(({ not, exists, selectFrom }) =>
          not(exists(selectFrom('refresh_tokens').select('token_hash').whereRef('refresh_tokens.grant_id', '=', 'grants.id').where('refresh_tokens.revoked_at', 'is', null).where('refresh_tokens.rotated_at', 'is', null))),
        )
        .execute();
      assert.deepEqual(orphanedGrants, [], 'a live grant whose refresh token was retired without a successor (half-written rotation)');
      for (const table of ['access_tokens', 'refresh_tokens'] as const) {
        const dangling = await store.db
          .selectFrom(table)
          .leftJoin('grants', 'grants.id', `${table}.grant_id`)
          .select(`${table}.token_hash`)
          .where('grants.id', 'is', null)
          .execute();
        assert.deepEqual(dangling, [], `${table} rows without a grant`);
      }
      if (dialect.name === 'sqlite') {
        const { rows } = await sql<{ integrity_check: string }>`pragma integrity_check`.execute(store.db);
        assert.deepEqual(rows.map((row) => row.integrity_check), ['ok']);
      }
    }

    if (dialect.name === 'sqlite') test('the SQLite store runs in WAL mode (each commit is fsynced before it is reported: tests/store/sqlite-settings.test.ts)', async () => {
      const { rows: journal } = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(store.db);
      assert.equal(journal[0]?.journal_mode, 'wal');
    });

    test(`SIGKILL at random moments under refresh load, ${CRASHES} times: every received token works or was legitimately rotated`, async () => {
      server = await startServerProcess(location);
      let chains = await Promise.all(Array.from({ length: CHAINS }, (_, owner) => newChain(owner)));
      let survived = 0;
      let lostAnswers = 0;
      let totalRotations = 0;
      for (let crash = 0; crash < CRASHES; crash++) {
        const stop = { killed: false };
        const running = chains.map((chain) => load(chain, stop));
        await new Promise((resolve) => setTimeout(resolve, 150 + Math.floor(Math.random() * 600)));
        stop.killed = true;
        await server.stop('SIGKILL');
        totalRotations += (await Promise.all(running)).reduce((sum, count) => sum + count, 0);

        server = await startServerProcess(location);
        survived++;
        await checkDatabase();
        const next: Chain[] = [];
        for (const chain of chains) {
          if (!chain.uncertain) {
            assert.equal(await me(chain.access), 200, 'the last access token received still works');
            next.push(chain);
            continue;
          }
          lostAnswers++;
          const retry = await post({ grant_type: 'refresh_token', refresh_token: chain.refresh });
          if (retry.status === 200) {
            // The crashed rotation never committed: the old pair is intact.
            next.push({ owner: chain.owner, access: retry.body.access_token as string, refresh: retry.body.refresh_token as string, uncertain: false });
          } else {
            // It committed and its answer was lost: the old token is now a replay, and the grant goes (RFC 9700 §4.14.2).
            assert.deepEqual([retry.status, retry.body.error], [400, 'invalid_grant']);
            assert.equal(await me(chain.access), 401, 'the grant was revoked as a whole');
            next.push(await newChain(chain.owner));
          }
        }
        // Every certain pair refreshes after the restart.
        for (const chain of next) {
          const refreshed = await post({ grant_type: 'refresh_token', refresh_token: chain.refresh });
          assert.equal(refreshed.status, 200, JSON.stringify(refreshed.body));
          chain.access = refreshed.body.access_token as string;
          chain.refresh = refreshed.body.refresh_token as string;
        }
        chains = next;
        await checkDatabase();
      }
      assert.equal(survived, CRASHES);
      assert.ok(totalRotations > 0, 'the load rotated tokens before the kills');
      console.log(`crash (${dialect.name}): ${survived} SIGKILLs survived, ${totalRotations} rotations under load, ${lostAnswers} answers lost in a crash`);
    });
  });
}

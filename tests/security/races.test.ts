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
import { describe, test } from 'node:test';
import { dialects } from '../support/databases.js';
import { REDIRECT_URI } from '../support/fixtures.js';
import { useInstances } from '../support/instances.js';
import type { ServerProcess } from '../support/process.js';

const RACERS = 100;
const ROUNDS = Number(process.env.RACE_ROUNDS ?? 2);

export const raceCount = { runs: 0 };

for (const dialect of await dialects()) {
  const processes = dialect.name === 'postgres' ? 3 : 2;
  describe(`races: ${RACERS} concurrent requests over ${processes} instances on one ${dialect.name} database`, { skip: dialect.skip }, () => {
    const cluster = useInstances(dialect, processes);
    const post = cluster.token;
    const newCode = cluster.newCode;

    async function race(fields: Record<string, string>) {
      raceCount.runs++;
      const results = await Promise.all(Array.from({ length: RACERS }, (_, index) => post(cluster.processes[index % processes] as ServerProcess, fields)));
      const winners = results.filter((result) => result.status === 200);
      const losers = results.filter((result) => result.status !== 200);
      assert.equal(winners.length, 1, `statuses: ${JSON.stringify(results.map((result) => result.status))}`);
      for (const loser of losers) assert.deepEqual([loser.status, loser.body.error], [400, 'invalid_grant']);
      return winners[0]?.body as Record<string, string>;
    }

    /** The grant behind a refresh token is revoked, with every token on it. */
    async function assertGrantRevoked(winner: Record<string, string>): Promise<void> {
      const me = await fetch(`${(cluster.processes[0] as ServerProcess).url}/api/me`, { headers: { authorization: `Bearer ${winner.access_token}` } });
      assert.equal(me.status, 401, "the winner's access token is revoked with the grant");
      const refreshed = await post(cluster.processes[processes - 1] as ServerProcess, { grant_type: 'refresh_token', refresh_token: winner.refresh_token as string });
      assert.deepEqual([refreshed.status, refreshed.body.error], [400, 'invalid_grant']);
      const live = await cluster.store.db
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
        const issued = await post(cluster.processes[round % processes] as ServerProcess, { grant_type: 'authorization_code', code: await newCode(), redirect_uri: REDIRECT_URI });
        assert.equal(issued.status, 200);
        const winner = await race({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string });
        await assertGrantRevoked(winner);
        // The original access token went with the grant too.
        const me = await fetch(`${(cluster.processes[1] as ServerProcess).url}/api/me`, { headers: { authorization: `Bearer ${issued.body.access_token}` } });
        assert.equal(me.status, 401);
      }
    });

    test('no 5xx and no crash: every instance is still serving after the races', async () => {
      for (const instance of cluster.processes) {
        assert.equal(instance.child.exitCode, null, instance.output());
        assert.doesNotMatch(instance.output(), /"level":(50|60)/, 'no error was logged');
      }
    });
  });
}

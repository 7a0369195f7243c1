/**
 * Two server processes on one database: a code and a refresh token can each be
 * used exactly once across them, even when raced concurrently. Nothing but the
 * database coordinates the two processes. (tests/security/races.test.ts runs
 * the same with 100 racers.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { REDIRECT_URI } from '../support/fixtures.js';
import { dialects } from '../support/databases.js';
import { useInstances } from '../support/instances.js';
import type { ServerProcess } from '../support/process.js';

const ROUNDS = 15;
const RACERS = 6;

for (const dialect of await dialects()) {
  describe(`two instances on one ${dialect.name} database`, { skip: dialect.skip }, () => {
    const cluster = useInstances(dialect, 2);
    const instance = (index: number) => cluster.processes[index % 2] as ServerProcess;

    /** Sends the same request RACERS times at once, alternating instances. */
    function race(fields: Record<string, string>) {
      return Promise.all(Array.from({ length: RACERS }, (_, index) => cluster.token(instance(index), fields)));
    }

    test('each code is redeemed exactly once when raced across the instances', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const code = await cluster.newCode();
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
      const first = await cluster.token(instance(0), { grant_type: 'authorization_code', code: await cluster.newCode(), redirect_uri: REDIRECT_URI });
      assert.equal(first.status, 200);
      const next = await cluster.token(instance(0), { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
      assert.equal(next.status, 200);
      const replay = await cluster.token(instance(1), { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string });
      assert.equal(replay.status, 400);
      assert.equal(replay.body.error, 'invalid_grant');
    });

    test('each refresh token is rotated exactly once when raced across the instances', async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const issued = await cluster.token(instance(round), { grant_type: 'authorization_code', code: await cluster.newCode(), redirect_uri: REDIRECT_URI });
        assert.equal(issued.status, 200);
        const results = await race({ grant_type: 'refresh_token', refresh_token: issued.body.refresh_token as string });
        const winners = results.filter((result) => result.status === 200);
        assert.equal(winners.length, 1, `round ${round}: ${JSON.stringify(results.map((result) => result.status))}`);
      }
    });
  });
}

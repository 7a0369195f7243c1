/** The sweep of expired rows, over every dialect. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashCredential } from '../../src/core/secrets.js';
import { sweepExpired } from '../../src/services/housekeeping.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

for (const dialect of await dialects()) {
  describe(`housekeeping (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
    });
    after(async () => database?.drop());

    test('expired rows are deleted in bounded batches; live ones and recently used codes stay', async () => {
      const now = Date.now();
      const { user, accounts } = await makeUser(store);
      const { client } = await makeClient(store);
      const accountId = (accounts[0] as { id: string }).id;
      const grant = await store.saveGrant({ clientId: client.id, userId: user.id, accountId, scopes: ['profile'], partnerId: null }, now);
      const token = (name: string, expiresAt: number) => ({
        tokenHash: hashCredential(name), grantId: grant.id, clientId: client.id, userId: user.id, accountId, scopes: ['profile'],
        createdAt: now - 2 * DAY, expiresAt, revokedAt: null,
      });
      for (let i = 0; i < 25; i++) await store.insertAccessToken(token(`expired-${i}`, now - HOUR));
      await store.insertAccessToken(token('live', now + HOUR));
      await store.insertRefreshToken({ ...token('rt-expired', now - 1), rotatedAt: now - DAY });
      await store.insertRefreshToken({ ...token('rt-live', now + DAY), rotatedAt: null });
      const code = (name: string, expiresAt: number) => ({
        codeHash: hashCredential(name), grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'],
        codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: expiresAt - 60_000, expiresAt, consumedAt: expiresAt - 30_000,
      });
      await store.insertCode(code('old-code', now - 2 * DAY));
      await store.insertCode(code('recent-code', now - HOUR));
      await store.createSession({ idHash: 'gone', userId: null, csrfToken: 'c', createdAt: now - DAY, expiresAt: now - 1, authenticatedAt: null });
      await store.createSession({ idHash: 'kept', userId: null, csrfToken: 'c', createdAt: now, expiresAt: now + HOUR, authenticatedAt: null });

      await store.countAttempt('signin:ip:old', 60_000, now - DAY);
      await store.countAttempt('signin:ip:current', 60_000, now);
      // Two instances sweeping at once delete each row once between them.
      const [first, second] = await Promise.all([sweepExpired(store, now, { batchSize: 4 }), sweepExpired(store, now, { batchSize: 4 })]);
      const total = (table: keyof typeof first) => first[table] + second[table];
      assert.equal(total('access_tokens'), 25);
      assert.equal(total('refresh_tokens'), 1);
      assert.equal(total('authorization_codes'), 1, 'a used code is kept a day after it expires, so a late replay still revokes');
      assert.equal(total('sessions'), 1);
      assert.equal(total('rate_limits'), 1, 'only the lapsed counter');

      assert.ok(await store.findAccessToken(hashCredential('live')));
      assert.equal(await store.findAccessToken(hashCredential('expired-0')), undefined);
      assert.ok(await store.findRefreshToken(hashCredential('rt-live')));
      assert.ok(await store.findCode(hashCredential('recent-code')));
      assert.equal(await store.findCode(hashCredential('old-code')), undefined);
      assert.ok(await store.findSession('kept', now));
      assert.deepEqual(Object.values(await sweepExpired(store, now)), [0, 0, 0, 0, 0, 0]);
    });
  });
}

/** The Store contract, one suite looped over every dialect (Kysely style). */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import type { AuthorizationCode, RefreshToken } from '../../src/core/model.js';
import { s256 } from '../../src/core/pkce.js';
import type { CodeExchange, MachineTokenIssue, RefreshRotation, TokenIssue } from '../../src/core/ports.js';
import { hashCredential } from '../../src/core/secrets.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { DuplicateError } from '../../src/store/types.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const HOUR = 3_600_000;

for (const dialect of await dialects()) {
  describe(`store (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
    });
    after(async () => database?.drop());

    async function count(table: 'grants' | 'access_tokens' | 'refresh_tokens' | 'authorization_codes' | 'users' | 'clients' | 'client_secrets' | 'accounts'): Promise<number> {
      const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    }

    async function connection() {
      const { user, accounts } = await makeUser(store, `u${Math.random().toString(36).slice(2)}@example.com`);
      const { client } = await makeClient(store);
      const account = accounts[0] as (typeof accounts)[number];
      const grant = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account.id, scopes: ['profile'], partnerId: null }, Date.now());
      return { user, account, client, grant };
    }

    test('migrations are idempotent and every table exists', async () => {
      const again = await database.open();
      assert.deepEqual(await again.listScopes().then((scopes) => scopes.map((scope) => scope.name)), ['profile', 'read', 'write']);
    });

    test('clients: create, find, list, update, destroy (secrets deleted, a tombstone kept)', async () => {
      const { client } = await makeClient(store, { name: 'CRUD App', scopes: ['read'] });
      assert.deepEqual((await store.findClient(client.id))?.scopes, ['read']);
      assert.ok((await store.listClients()).some((listed) => listed.id === client.id));
      const updated = await store.updateClient(client.id, { name: 'Renamed', redirectUris: ['https://a.example/cb', 'https://b.example/cb'], isLegacy: true }, Date.now());
      assert.equal(updated?.name, 'Renamed');
      assert.deepEqual(updated?.redirectUris, ['https://a.example/cb', 'https://b.example/cb']);
      assert.equal(updated?.isLegacy, true);
      assert.equal(await store.updateClient('lkc_missing', { name: 'x' }, Date.now()), undefined);
      const secretsBefore = await count('client_secrets');
      assert.equal((await store.admin.destroyClient(client.id, Date.now()))?.secrets, 1);
      assert.equal(await store.findClient(client.id), undefined);
      assert.ok(!(await store.listClients()).some((listed) => listed.id === client.id));
      assert.equal(await store.updateClient(client.id, { name: 'Back' }, Date.now()), undefined, 'a destroyed client cannot be changed');
      assert.equal(await count('client_secrets'), secretsBefore - 1);
      assert.equal(await store.admin.destroyClient(client.id, Date.now()), undefined);
      assert.equal((await store.admin.findClientRecord(client.id))?.name, 'Renamed', 'the tombstone keeps the name');
    });

    test('client secrets: rotation keeps the old secret until the overlap ends', async () => {
      const { client } = await makeClient(store);
      const now = Date.now();
      const [original] = (await store.findClientWithSecrets(client.id, now))?.secretHashes ?? [];
      assert.ok(original);
      await store.rotateClientSecret(client.id, hashCredential('new'), now, now + HOUR);
      // Client authentication's one lookup: the client with its active hashes.
      const during = await store.findClientWithSecrets(client.id, now);
      assert.deepEqual(during?.client, await store.findClient(client.id));
      assert.deepEqual(during?.secretHashes.sort(), [original, hashCredential('new')].sort());
      assert.deepEqual((await store.findClientWithSecrets(client.id, now + 2 * HOUR))?.secretHashes, [hashCredential('new')]);
      const { client: publicClient } = await makeClient(store, { isPublic: true });
      assert.deepEqual(await store.findClientWithSecrets(publicClient.id, now), { client: await store.findClient(publicClient.id), secretHashes: [] });
      assert.equal(await store.findClientWithSecrets('lkc_missing', now), undefined);
      await store.admin.destroyClient(client.id, now);
      assert.equal(await store.findClientWithSecrets(client.id, now), undefined, 'a destroyed client authenticates no more');
    });

    test('users: emails are unique case-insensitively; accounts and memberships', async () => {
      const { user, accounts } = await makeUser(store, 'Grace@Example.com', [
        { name: 'One', kind: 'participant' },
        { name: 'Two', kind: 'advisor' },
      ]);
      assert.equal(user.email, 'grace@example.com');
      assert.equal((await store.findUserByEmail('GRACE@example.COM'))?.id, user.id);
      assert.deepEqual((await store.listAccountsOfUser(user.id)).map((account) => account.kind), ['participant', 'advisor']);
      assert.equal((await store.findAccount((accounts[1] as { id: string }).id))?.name, 'Two');
      await assert.rejects(
        store.createUser({ email: 'grace@example.com', passwordHash: 'x', firstName: '', lastName: '', isAdmin: false }, Date.now()),
        DuplicateError,
      );
    });

    test('a failed transaction leaves nothing behind', async () => {
      const users = await count('users');
      const accounts = await count('accounts');
      await assert.rejects(
        store.transaction(async (tx) => {
          const user = await tx.createUser({ email: 'rollback@example.com', passwordHash: 'x', firstName: '', lastName: '', isAdmin: false }, Date.now());
          await tx.createAccount({ name: 'Doomed', kind: 'company', partnerId: null }, Date.now());
          await tx.addMembership(user.id, 'acc_does_not_exist', 'owner', Date.now());
        }),
      );
      assert.equal(await count('users'), users);
      assert.equal(await count('accounts'), accounts);
    });

    test('grants: consent accumulates on the live grant; a revoked grant is not reused', async () => {
      const { user, account, client, grant } = await connection();
      const widened = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account.id, scopes: ['read'], partnerId: null }, Date.now());
      assert.equal(widened.id, grant.id);
      assert.deepEqual(widened.scopes.sort(), ['profile', 'read']);
      await store.revokeGrant(grant.id, Date.now(), 'test');
      assert.equal(await store.findActiveGrant(client.id, user.id, account.id), undefined);
      const fresh = await store.saveGrant({ clientId: client.id, userId: user.id, accountId: account.id, scopes: ['profile'], partnerId: null }, Date.now());
      assert.notEqual(fresh.id, grant.id);
    });

    /** A token response's rows for `grant`, each token's hash from `label`. */
    function issueOf(grant: { id: string; clientId: string; userId: string | null; accountId: string | null; lastUsedAt: number | null }, label: string, now: number, spends?: TokenIssue['spends']): TokenIssue {
      const accessToken = { tokenHash: hashCredential(`at-${label}`), grantId: grant.id, clientId: grant.clientId, userId: grant.userId, accountId: grant.accountId, scopes: ['profile', 'read'], createdAt: now, expiresAt: now + HOUR, revokedAt: null, signingKeyId: null };
      const refreshToken = { tokenHash: hashCredential(`rt-${label}`), grantId: grant.id, clientId: grant.clientId, scopes: ['profile'], createdAt: now, expiresAt: now + 2 * HOUR, rotatedAt: null, revokedAt: null };
      return { spends, grant, accessToken, refreshToken, now };
    }

    test('a token response is saved whole: both tokens as given, and the grant\'s use', async () => {
      const { grant } = await connection();
      const now = Date.now();
      const issue = issueOf(grant, `whole-${now}`, now);
      assert.equal(await store.saveIssue(issue), 'saved');
      assert.deepEqual(await store.findAccessToken(issue.accessToken.tokenHash), issue.accessToken);
      assert.deepEqual((await store.findRefreshToken(issue.refreshToken?.tokenHash as string))?.record, issue.refreshToken);
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now);
      // Without a refresh token (client credentials), only the access token.
      const bare = { ...issueOf(grant, `bare-${now}`, now), refreshToken: undefined };
      assert.equal(await store.saveIssue(bare), 'saved');
      assert.deepEqual(await store.findAccessToken(bare.accessToken.tokenHash), bare.accessToken);
      assert.equal(await store.findRefreshToken(hashCredential(`rt-bare-${now}`)), undefined);
    });

    test('codes: a code is spent by one token response only, even when raced; the others write nothing', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const codeHash = hashCredential(`code-${now}`);
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      const issues = Array.from({ length: 8 }, (_, i) => issueOf(grant, `code-race-${now}-${i}`, now, { codeHash }));
      const results = await Promise.all(issues.map((issue) => store.saveIssue(issue)));
      assert.equal(results.filter((outcome) => outcome === 'saved').length, 1);
      for (const [i, issue] of issues.entries()) {
        assert.equal((await store.findAccessToken(issue.accessToken.tokenHash)) !== undefined, results[i] === 'saved', `access token ${i}`);
        assert.equal((await store.findRefreshToken(issue.refreshToken?.tokenHash as string)) !== undefined, results[i] === 'saved', `refresh token ${i}`);
      }
      assert.equal((await store.findCode(codeHash))?.record.consumedAt, now);
    });

    test('a token response that fails part-way writes nothing: the code stays unspent', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const codeHash = hashCredential(`code-partial-${now}`);
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      const taken = issueOf(grant, `partial-taken-${now}`, now);
      assert.equal(await store.saveIssue(taken), 'saved');
      // The new refresh token's hash collides with a stored one: the last insert fails.
      const failing = { ...issueOf(grant, `partial-${now}`, now + 1, { codeHash }), refreshToken: taken.refreshToken };
      await assert.rejects(store.saveIssue(failing));
      assert.equal((await store.findCode(codeHash))?.record.consumedAt, null);
      assert.equal(await store.findAccessToken(failing.accessToken.tokenHash), undefined);
      assert.equal(await store.saveIssue(issueOf(grant, `partial-retry-${now}`, now + 2, { codeHash })), 'saved');
    });

    test('a code and a refresh token come with the grant they were issued from, in one statement', async () => {
      const { client, grant, user, account } = await connection();
      const now = Date.now();
      const codeHash = hashCredential(`code-joined-${now}`);
      const refreshHash = hashCredential(`rt-joined-${now}`);
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      await store.insertRefreshToken({ tokenHash: refreshHash, grantId: grant.id, clientId: client.id, scopes: ['read'], createdAt: now, expiresAt: now + HOUR, rotatedAt: null, revokedAt: null });
      assert.equal(await store.saveIssue({ ...issueOf(grant, `joined-${now}`, now), refreshToken: undefined }), 'saved');
      const expectedGrant = { id: grant.id, clientId: client.id, userId: user.id, accountId: account.id, scopes: ['profile'], partnerId: null, createdAt: grant.createdAt, lastUsedAt: now, revokedAt: null };
      let statements = 0;
      const counted = await database.open({ onQuery: () => void statements++ });
      statements = 0;
      const code = await counted.findCode(codeHash);
      assert.equal(statements, 1);
      // The code's own columns are not mixed up with the grant's of the same name.
      assert.deepEqual(code?.record, { codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      assert.deepEqual(code?.grant, expectedGrant);
      const refresh = await counted.findRefreshToken(refreshHash);
      assert.equal(statements, 2);
      assert.deepEqual(refresh?.record, { tokenHash: refreshHash, grantId: grant.id, clientId: client.id, scopes: ['read'], createdAt: now, expiresAt: now + HOUR, rotatedAt: null, revokedAt: null });
      assert.deepEqual(refresh?.grant, expectedGrant);
      await store.revokeGrant(grant.id, now + 1, 'test');
      assert.equal((await counted.findCode(codeHash))?.grant.revokedAt, now + 1);
      assert.equal((await counted.findRefreshToken(refreshHash))?.grant.revokedAt, now + 1);
      assert.equal(await counted.findCode(hashCredential('no such code')), undefined);
      assert.equal(await counted.findRefreshToken(hashCredential('no such token')), undefined);
    });

    test('refresh tokens: rotation spends a token once, even when raced; revokeGrant revokes every token and code of the grant', async () => {
      const { client, grant, user, account } = await connection();
      const now = Date.now();
      const refreshHash = hashCredential(`rt-${now}`);
      const accessHash = hashCredential(`at-${now}`);
      const codeHash = hashCredential(`code2-${now}`);
      await store.insertRefreshToken({ tokenHash: refreshHash, grantId: grant.id, clientId: client.id, scopes: ['profile'], createdAt: now, expiresAt: now + HOUR, rotatedAt: null, revokedAt: null });
      await store.insertAccessToken({ tokenHash: accessHash, grantId: grant.id, clientId: client.id, userId: user.id, accountId: account.id, scopes: ['profile'], createdAt: now, expiresAt: now + HOUR, revokedAt: null });
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      const issues = Array.from({ length: 8 }, (_, i) => issueOf(grant, `rotation-${now}-${i}`, now, { refreshTokenHash: refreshHash }));
      const results = await Promise.all(issues.map((issue) => store.saveIssue(issue)));
      assert.equal(results.filter((outcome) => outcome === 'saved').length, 1);
      const winner = issues[results.indexOf('saved')] as TokenIssue;
      for (const [i, issue] of issues.entries()) {
        assert.equal((await store.findRefreshToken(issue.refreshToken?.tokenHash as string)) !== undefined, results[i] === 'saved', `successor ${i}`);
      }
      assert.equal((await store.findRefreshToken(refreshHash))?.record.rotatedAt, now);
      // The rotated token cannot be spent again.
      assert.equal(await store.saveIssue(issueOf(grant, `rotation-again-${now}`, now, { refreshTokenHash: refreshHash })), 'spent');

      await store.revokeGrant(grant.id, now, 'refresh_token_reuse');
      assert.notEqual((await store.findAccessToken(accessHash))?.revokedAt, null);
      assert.notEqual((await store.findAccessToken(winner.accessToken.tokenHash))?.revokedAt, null);
      assert.notEqual((await store.findRefreshToken(refreshHash))?.record.revokedAt, null);
      // Nothing more is issued on the grant: not for its unused code, its current refresh token, or nothing spent.
      assert.equal(await store.saveIssue(issueOf(grant, `after-revoke-code-${now}`, now, { codeHash })), 'grant_revoked');
      assert.equal(await store.saveIssue(issueOf(grant, `after-revoke-rt-${now}`, now, { refreshTokenHash: winner.refreshToken?.tokenHash as string })), 'grant_revoked');
      assert.equal(await store.saveIssue(issueOf(grant, `after-revoke-${now}`, now)), 'grant_revoked');
      for (const label of ['after-revoke-code', 'after-revoke-rt', 'after-revoke']) {
        assert.equal(await store.findAccessToken(hashCredential(`at-${label}-${now}`)), undefined, label);
      }
      assert.equal((await store.findCode(codeHash))?.record.consumedAt, now, 'consumed by the revocation, not by the refused issue');
      assert.notEqual((await store.findGrant(grant.id))?.revokedAt, null);
    });

    /** The one step's input: `presented` shown by `clientId`, the new tokens' hashes from `label`. */
    function rotationOf(presented: string, clientId: string, label: string, now: number, requested: string[] = []): RefreshRotation {
      return {
        presentedHash: presented,
        clientId,
        requested,
        accessToken: { tokenHash: hashCredential(`at-${label}`), expiresAt: now + HOUR },
        refreshToken: { tokenHash: hashCredential(`rt-${label}`), expiresAt: now + 2 * HOUR },
        now,
      };
    }

    /** A refresh token of `grant` as given, stored. */
    async function storedRefreshToken(grant: { id: string; clientId: string }, label: string, now: number, state: Partial<RefreshToken> = {}): Promise<string> {
      const tokenHash = hashCredential(`rt-${label}`);
      await store.insertRefreshToken({ tokenHash, grantId: grant.id, clientId: grant.clientId, scopes: ['profile', 'read'], createdAt: now, expiresAt: now + HOUR, rotatedAt: null, revokedAt: null, ...state });
      return tokenHash;
    }

    /** A code of `grant` as given (by default: S256 challenge of `verifier`, a redirect URI), stored. */
    async function storedCode(grant: { id: string; clientId: string }, label: string, now: number, state: Partial<AuthorizationCode> = {}): Promise<string> {
      const codeHash = hashCredential(`code-${label}`);
      await store.insertCode({
        codeHash,
        grantId: grant.id,
        clientId: grant.clientId,
        redirectUri: 'https://partner.example/cb',
        scopes: ['profile', 'read'],
        codeChallenge: s256(VERIFIER),
        codeChallengeMethod: 'S256',
        channel: 'default',
        createdAt: now,
        expiresAt: now + 60_000,
        consumedAt: null,
        ...state,
      });
      return codeHash;
    }
    const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';

    test('lookups by hash at once share one statement per kind, each answered as if alone', async () => {
      const { grant } = await connection();
      const revoked = await connection();
      const now = Date.now();
      const accessOf = async (grantOf: { id: string; clientId: string }, label: string) => {
        const tokenHash = hashCredential(`lookup-at-${label}-${now}`);
        await store.insertAccessToken({ tokenHash, grantId: grantOf.id, clientId: grantOf.clientId, userId: null, accountId: null, scopes: ['profile'], createdAt: now, expiresAt: now + HOUR, revokedAt: null, signingKeyId: null });
        return tokenHash;
      };
      const [live, other, ofRevoked] = await Promise.all([accessOf(grant, 'live'), accessOf(grant, 'other'), accessOf(revoked.grant, 'revoked')]);
      await store.revokeGrant(revoked.grant.id, now + 1, 'test');
      const unknown = hashCredential(`lookup-none-${now}`);
      // PostgreSQL sends the first alone, the rest (one asked twice) come while it runs; SQLite, all at the turn's end.
      const accessHashes = [live, other, ofRevoked, unknown, other];
      const refreshHashes = await Promise.all([storedRefreshToken(grant, `lookup-a-${now}`, now), storedRefreshToken(grant, `lookup-b-${now}`, now, { rotatedAt: now })]);
      const codeHashes = await Promise.all([storedCode(grant, `lookup-a-${now}`, now), storedCode(revoked.grant, `lookup-b-${now}`, now)]);
      const expected = {
        access: await Promise.all(accessHashes.map((hash) => store.tokens.findAccessToken(hash))),
        refresh: await Promise.all([...refreshHashes, unknown].map((hash) => store.tokens.findRefreshToken(hash))),
        codes: await Promise.all([...codeHashes, unknown].map((hash) => store.codes.findCode(hash))),
      };
      assert.equal(expected.access[2]?.revokedAt, now + 1, "the revoked grant's token reads revoked");
      assert.equal(expected.access[3], undefined);
      let statements = 0;
      const counted = await database.open({ onQuery: () => void statements++ });
      statements = 0;
      const [access, refresh, codes] = await Promise.all([
        Promise.all(accessHashes.map((hash) => counted.findAccessToken(hash))),
        Promise.all([...refreshHashes, unknown].map((hash) => counted.findRefreshToken(hash))),
        Promise.all([...codeHashes, unknown].map((hash) => counted.findCode(hash))),
      ]);
      if (dialect.name === 'sqlite') assert.equal(statements, 3, 'one statement of each kind');
      else assert.equal(statements, 6, 'of each kind, the lead alone, then the others in one statement');
      assert.deepEqual({ access, refresh, codes }, expected);
    });

    test("a store bound to a transaction looks up in it, and sees the transaction's own writes", async () => {
      const { grant } = await connection();
      const now = Date.now();
      const tokenHash = hashCredential(`in-transaction-${now}`);
      const found = await store.transaction(async (tx) => {
        await tx.insertAccessToken({ tokenHash, grantId: grant.id, clientId: grant.clientId, userId: null, accountId: null, scopes: [], createdAt: now, expiresAt: now + HOUR, revokedAt: null, signingKeyId: null });
        return tx.findAccessToken(tokenHash);
      });
      assert.equal(found?.tokenHash, tokenHash);
    });

    /**
     * The one step's statements: on PostgreSQL one; on SQLite one unit of the group commit's
     * transaction (its savepoint), the lookup within it, then the spend, the access token,
     * the grant's use and the refresh token.
     */
    function assertOneStep(queries: string[]) {
      if (dialect.name === 'postgres') {
        assert.equal(queries.length, 1);
        return;
      }
      assert.deepEqual(
        queries.map((query) => query.split(' ', 1)[0]),
        ['savepoint', 'select', 'update', 'insert', 'update', 'insert', 'release'],
      );
    }

    test('rotateRefreshToken: one step finds a current token and writes what saveIssue would', async () => {
      const { client, grant, user, account } = await connection();
      const now = Date.now();
      const presented = await storedRefreshToken(grant, `one-step-${now}`, now);
      const asFound = await store.findRefreshToken(presented);
      const queries: string[] = [];
      const counted = await database.open({ onQuery: (event) => void queries.push(event.query.sql) });
      queries.length = 0;
      const narrowed = rotationOf(presented, client.id, `one-step-next-${now}`, now + 1000, ['read']);
      assert.deepEqual(await counted.rotateRefreshToken?.(narrowed), { ...asFound, saved: true });
      assertOneStep(queries);
      assert.equal((await store.findRefreshToken(presented))?.record.rotatedAt, now + 1000);
      // The access token with the scope requested, the refresh token with the presented one's (RFC 6749 §6).
      const accessToken = { grantId: grant.id, clientId: client.id, userId: user.id, accountId: account.id, revokedAt: null, signingKeyId: null };
      assert.deepEqual(await store.findAccessToken(narrowed.accessToken.tokenHash), {
        ...accessToken,
        tokenHash: narrowed.accessToken.tokenHash,
        scopes: ['read'],
        createdAt: now + 1000,
        expiresAt: now + 1000 + HOUR,
      });
      const successor = narrowed.refreshToken?.tokenHash as string;
      assert.deepEqual((await store.findRefreshToken(successor))?.record, {
        tokenHash: successor,
        grantId: grant.id,
        clientId: client.id,
        scopes: ['profile', 'read'],
        createdAt: now + 1000,
        expiresAt: now + 1000 + 2 * HOUR,
        rotatedAt: null,
        revokedAt: null,
      });
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now + 1000, "the grant's use");
      // Nothing requested: the token's own scope. No refresh token asked for: none written.
      const whole = { ...rotationOf(successor, client.id, `one-step-last-${now}`, now + 2000), refreshToken: undefined };
      assert.equal((await store.rotateRefreshToken?.(whole))?.saved, true);
      assert.deepEqual((await store.findAccessToken(whole.accessToken.tokenHash))?.scopes, ['profile', 'read']);
      assert.equal(await store.findRefreshToken(hashCredential(`rt-one-step-last-${now}`)), undefined);
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now + 1000, 'recorded to the minute');
      assert.equal(await store.rotateRefreshToken?.(rotationOf(hashCredential('no such token'), client.id, `one-step-none-${now}`, now)), undefined);
    });

    test('rotateRefreshToken writes nothing unless the token is current, its grant live and its scope covers the request', async () => {
      const { client, grant } = await connection();
      const { client: other } = await makeClient(store, { name: 'Other App' });
      const revoked = await connection();
      await store.revokeGrant(revoked.grant.id, Date.now(), 'test');
      const now = Date.now();
      const refusals: Array<[string, Promise<string>, string, string[]?]> = [
        ['presented by another client', storedRefreshToken(grant, `other-${now}`, now), other.id],
        ['expired', storedRefreshToken(grant, `expired-${now}`, now, { expiresAt: now + 1000 }), client.id],
        ['rotated', storedRefreshToken(grant, `rotated-${now}`, now, { rotatedAt: now }), client.id],
        ['revoked', storedRefreshToken(grant, `revoked-${now}`, now, { revokedAt: now }), client.id],
        ['of a revoked grant', storedRefreshToken(revoked.grant, `dead-${now}`, now), revoked.client.id],
        ['asked for a scope it does not cover', storedRefreshToken(grant, `wider-${now}`, now), client.id, ['read', 'write']],
      ];
      await Promise.all(refusals.map(([, stored]) => stored));
      for (const [label, stored, clientId, requested] of refusals) {
        const presented = await stored;
        const asFound = await store.findRefreshToken(presented);
        const before = [await count('access_tokens'), await count('refresh_tokens')];
        const rotation = rotationOf(presented, clientId, `refused-${label}-${now}`, now + 1000, requested);
        assert.deepEqual(await store.rotateRefreshToken?.(rotation), { ...asFound, saved: false }, label);
        assert.deepEqual([await count('access_tokens'), await count('refresh_tokens')], before, `${label}: nothing written`);
        assert.deepEqual(await store.findRefreshToken(presented), asFound, `${label}: the token unchanged`);
      }
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, grant.lastUsedAt, "no use recorded");
    });

    /** The one step's input: the code presented by `clientId` with the default's redirect URI and verifier. */
    function exchangeOf(presented: string, clientId: string, label: string, now: number, overrides: Partial<CodeExchange> = {}): CodeExchange {
      const { accessToken, refreshToken } = rotationOf(presented, clientId, label, now);
      return { presentedHash: presented, clientId, channel: 'default', redirectUri: 'https://partner.example/cb', s256Challenge: s256(VERIFIER), accessToken, refreshToken, now, ...overrides };
    }

    test('exchangeCode: one step finds a usable code and writes what saveIssue would', async () => {
      const { client, grant, user, account } = await connection();
      const now = Date.now();
      const presented = await storedCode(grant, `one-step-${now}`, now);
      const asFound = await store.findCode(presented);
      const queries: string[] = [];
      const counted = await database.open({ onQuery: (event) => void queries.push(event.query.sql) });
      queries.length = 0;
      const exchange = exchangeOf(presented, client.id, `code-one-step-${now}`, now + 1000);
      assert.deepEqual(await counted.exchangeCode?.(exchange), { ...asFound, saved: true });
      assertOneStep(queries);
      assert.equal((await store.findCode(presented))?.record.consumedAt, now + 1000);
      assert.deepEqual(await store.findAccessToken(exchange.accessToken.tokenHash), {
        tokenHash: exchange.accessToken.tokenHash,
        grantId: grant.id,
        clientId: client.id,
        userId: user.id,
        accountId: account.id,
        scopes: ['profile', 'read'],
        createdAt: now + 1000,
        expiresAt: now + 1000 + HOUR,
        revokedAt: null,
        signingKeyId: null,
      });
      const refreshHash = exchange.refreshToken?.tokenHash as string;
      assert.deepEqual((await store.findRefreshToken(refreshHash))?.record.scopes, ['profile', 'read']);
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now + 1000, "the grant's use");
      // A code issued without a challenge or a redirect URI, exchanged without either.
      const bare = await storedCode(grant, `one-step-bare-${now}`, now, { codeChallenge: null, codeChallengeMethod: null, redirectUri: null });
      assert.equal((await store.exchangeCode?.(exchangeOf(bare, client.id, `code-bare-${now}`, now + 1000, { s256Challenge: null, redirectUri: null })))?.saved, true);
      assert.equal(await store.exchangeCode?.(exchangeOf(hashCredential('no such code'), client.id, `code-none-${now}`, now)), undefined);
    });

    test('exchangeCode writes nothing unless every check of the token endpoint holds', async () => {
      const { client, grant } = await connection();
      const { client: other } = await makeClient(store, { name: 'Other App' });
      const revoked = await connection();
      await store.revokeGrant(revoked.grant.id, Date.now(), 'test');
      const now = Date.now();
      const at = now + 1000;
      const refusals: Array<[string, Promise<string>, Partial<CodeExchange>]> = [
        ['presented by another client', storedCode(grant, `other-${now}`, now), { clientId: other.id }],
        ['used', storedCode(grant, `used-${now}`, now, { consumedAt: now }), {}],
        ['expired', storedCode(grant, `expired-${now}`, now, { expiresAt: at }), {}],
        ['on another channel', storedCode(grant, `channel-${now}`, now), { channel: 'legacy' }],
        ['with another redirect URI', storedCode(grant, `redirect-${now}`, now), { redirectUri: 'https://partner.example/other' }],
        ['without its redirect URI', storedCode(grant, `no-redirect-${now}`, now), { redirectUri: null }],
        ['with the wrong verifier', storedCode(grant, `wrong-${now}`, now), { s256Challenge: s256(`${VERIFIER}x`) }],
        ['without a verifier', storedCode(grant, `no-verifier-${now}`, now), { s256Challenge: null }],
        ['with a verifier for a code without a challenge', storedCode(grant, `downgrade-${now}`, now, { codeChallenge: null, codeChallengeMethod: null }), {}],
        ['with a plain challenge (left to the endpoint)', storedCode(grant, `plain-${now}`, now, { codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }), { s256Challenge: VERIFIER }],
        ['of a revoked grant', storedCode(revoked.grant, `dead-${now}`, now), { clientId: revoked.client.id }],
      ];
      await Promise.all(refusals.map(([, stored]) => stored));
      for (const [label, stored, overrides] of refusals) {
        const presented = await stored;
        const asFound = await store.findCode(presented);
        const before = [await count('access_tokens'), await count('refresh_tokens')];
        const exchange = exchangeOf(presented, client.id, `refused-code-${label}-${now}`, at, overrides);
        assert.deepEqual(await store.exchangeCode?.(exchange), { ...asFound, saved: false }, label);
        assert.deepEqual([await count('access_tokens'), await count('refresh_tokens')], before, `${label}: nothing written`);
        assert.deepEqual(await store.findCode(presented), asFound, `${label}: the code unchanged`);
      }
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, grant.lastUsedAt, 'no use recorded');
    });

    test('exchangeCode spends a code once, even when raced', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const presented = await storedCode(grant, `raced-${now}`, now);
      const exchanges = Array.from({ length: 8 }, (_, i) => exchangeOf(presented, client.id, `code-raced-${now}-${i}`, now + 1000));
      const results = await Promise.all(exchanges.map((exchange) => store.exchangeCode?.(exchange)));
      assert.equal(results.filter((result) => result?.saved).length, 1);
      for (const [i, exchange] of exchanges.entries()) {
        const issued = await store.findAccessToken(exchange.accessToken.tokenHash);
        assert.equal(issued !== undefined, results[i]?.saved, `tokens of exchange ${i}`);
      }
    });

    test('rotateRefreshToken spends a token once, even when raced', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const presented = await storedRefreshToken(grant, `raced-${now}`, now);
      const rotations = Array.from({ length: 8 }, (_, i) => rotationOf(presented, client.id, `raced-${now}-${i}`, now + 1000));
      const results = await Promise.all(rotations.map((rotation) => store.rotateRefreshToken?.(rotation)));
      assert.equal(results.filter((result) => result?.saved).length, 1);
      for (const [i, rotation] of rotations.entries()) {
        const successor = await store.findRefreshToken(rotation.refreshToken?.tokenHash as string);
        assert.equal(successor !== undefined, results[i]?.saved, `successor ${i}`);
      }
    });
    if (dialect.name === 'sqlite') {
      test('SQLite has no one step for client-credentials tokens: the core saves the machine grant and the token apart', () => {
        assert.equal(store.issueOnMachineGrant, undefined);
      });

      test('token responses saved together share one savepoint; one that fails part-way fails alone, the others saved', async () => {
        const { grant } = await connection();
        const now = Date.now();
        const queries: string[] = [];
        const counted = await database.open({ onQuery: (event) => void queries.push(event.query.sql) });
        try {
          const savepoints = () => queries.filter((query) => query === 'savepoint unit').length;
          const together = Array.from({ length: 4 }, (_, i) => issueOf(grant, `shared-${now}-${i}`, now));
          const before = savepoints();
          assert.deepEqual(await Promise.all(together.map((issue) => counted.saveIssue(issue))), ['saved', 'saved', 'saved', 'saved']);
          assert.equal(savepoints() - before, 1);
          // The third's new refresh token collides with a stored one: its last insert fails.
          const batch = Array.from({ length: 4 }, (_, i) => issueOf(grant, `shared-failing-${now}-${i}`, now));
          batch[2] = { ...(batch[2] as TokenIssue), refreshToken: together[0]?.refreshToken };
          const outcomes = await Promise.allSettled(batch.map((issue) => counted.saveIssue(issue)));
          assert.deepEqual(
            outcomes.map((outcome) => outcome.status),
            ['fulfilled', 'fulfilled', 'rejected', 'fulfilled'],
          );
          for (const [i, issue] of batch.entries()) {
            assert.equal((await store.findAccessToken(issue.accessToken.tokenHash)) !== undefined, i !== 2, `access token ${i}`);
          }
        } finally {
          await counted.close();
        }
      });
    } else {
      /** Runs `requests` at once on a store of its own, counting its statements; each result is answered or the error it met. */
      async function atOnce<Input, Output>(requests: Input[], send: (counted: KyselyStore, input: Input) => Promise<Output> | undefined) {
        let statements = 0;
        const counted = await database.open({ onQuery: () => void statements++ });
        statements = 0;
        const outcomes = await Promise.allSettled(requests.map((input) => send(counted, input)));
        return { statements, outcomes: outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : (outcome.reason as Error))) };
      }

      test('exchanges at once share one statement, each answered and written as if alone', async () => {
        // The lead is sent alone; the others come while it runs (its grant is none of theirs).
        const lead = await connection();
        const first = await connection();
        const second = await connection();
        const revoked = await connection();
        await store.revokeGrant(revoked.grant.id, Date.now(), 'test');
        const now = Date.now();
        const at = now + 1000;
        const cases: Array<[string, Promise<string>, string, boolean | undefined]> = [
          ['the lead', storedCode(lead.grant, `batch-lead-${now}`, now), lead.client.id, true],
          ['a code', storedCode(first.grant, `batch-a-${now}`, now), first.client.id, true],
          ['another code of the same grant', storedCode(first.grant, `batch-b-${now}`, now), first.client.id, true],
          ["another grant's code", storedCode(second.grant, `batch-c-${now}`, now), second.client.id, true],
          ['a code presented by another client', storedCode(second.grant, `batch-d-${now}`, now), first.client.id, false],
          ['a used code', storedCode(first.grant, `batch-e-${now}`, now, { consumedAt: now }), first.client.id, false],
          ["a revoked grant's code", storedCode(revoked.grant, `batch-f-${now}`, now), revoked.client.id, false],
          ['an unknown code', Promise.resolve(hashCredential(`batch-none-${now}`)), first.client.id, undefined],
        ];
        const asFound = await Promise.all(cases.map(async ([, stored]) => store.findCode(await stored)));
        const exchanges = await Promise.all(cases.map(async ([label, stored, clientId]) => exchangeOf(await stored, clientId, `batch-${label}-${now}`, at)));
        const { statements, outcomes } = await atOnce(exchanges, (counted, exchange) => counted.exchangeCode?.(exchange));
        assert.equal(statements, 2, 'the lead alone, the seven that came while it ran in one statement');
        for (const [index, [label, , , saved]] of cases.entries()) {
          const found = asFound[index];
          assert.deepEqual(outcomes[index], found && { ...found, saved }, label);
          const exchange = exchanges[index] as CodeExchange;
          assert.equal((await store.findAccessToken(exchange.accessToken.tokenHash)) !== undefined, saved === true, `${label}: its access token`);
          assert.equal((await store.findRefreshToken(exchange.refreshToken?.tokenHash as string)) !== undefined, saved === true, `${label}: its refresh token`);
          if (found) assert.equal((await store.findCode(found.record.codeHash))?.record.consumedAt, saved ? at : found.record.consumedAt, `${label}: the code`);
        }
        assert.equal((await store.findGrant(first.grant.id))?.lastUsedAt, at);
        assert.equal((await store.findGrant(second.grant.id))?.lastUsedAt, at);
      });

      test('refreshes at once share one statement, each answered and written as if alone', async () => {
        const lead = await connection();
        const first = await connection();
        const second = await connection();
        const now = Date.now();
        const at = now + 1000;
        const cases: Array<[string, Promise<string>, string, string[], boolean | undefined]> = [
          ['the lead', storedRefreshToken(lead.grant, `batch-lead-${now}`, now), lead.client.id, [], true],
          ['a current token', storedRefreshToken(first.grant, `batch-a-${now}`, now), first.client.id, [], true],
          ['another current token of the same grant, narrowed', storedRefreshToken(first.grant, `batch-b-${now}`, now), first.client.id, ['read'], true],
          ["another grant's token", storedRefreshToken(second.grant, `batch-c-${now}`, now), second.client.id, ['profile', 'read'], true],
          ['a token asked for a scope it does not cover', storedRefreshToken(second.grant, `batch-d-${now}`, now), second.client.id, ['write'], false],
          ['a rotated token', storedRefreshToken(first.grant, `batch-e-${now}`, now, { rotatedAt: now }), first.client.id, [], false],
          ['an unknown token', Promise.resolve(hashCredential(`batch-none-${now}`)), first.client.id, [], undefined],
        ];
        const asFound = await Promise.all(cases.map(async ([, stored]) => store.findRefreshToken(await stored)));
        const rotations = await Promise.all(cases.map(async ([label, stored, clientId, requested]) => rotationOf(await stored, clientId, `batch-${label}-${now}`, at, requested)));
        const { statements, outcomes } = await atOnce(rotations, (counted, rotation) => counted.rotateRefreshToken?.(rotation));
        assert.equal(statements, 2);
        for (const [index, [label, , , requested, saved]] of cases.entries()) {
          const found = asFound[index];
          assert.deepEqual(outcomes[index], found && { ...found, saved }, label);
          const rotation = rotations[index] as RefreshRotation;
          const access = await store.findAccessToken(rotation.accessToken.tokenHash);
          assert.equal(access !== undefined, saved === true, `${label}: its access token`);
          if (access) assert.deepEqual(access.scopes, requested.length > 0 ? requested : found?.record.scopes, `${label}: the access token's scope`);
          const successor = await store.findRefreshToken(rotation.refreshToken?.tokenHash as string);
          assert.equal(successor !== undefined, saved === true, `${label}: its successor`);
          if (successor) assert.deepEqual(successor.record.scopes, found?.record.scopes, `${label}: the successor keeps the scope`);
        }
      });

      test('a request value that is not well-formed Unicode is refused by the conditions, not by the statement', async () => {
        // A JSON request body can carry a lone surrogate ("\ud800"). The batch's json would be refused
        // whole by PostgreSQL; like a plain text parameter, it is sent as U+FFFD and matches nothing.
        const { client, grant } = await connection();
        const now = Date.now();
        const code = await storedCode(grant, `surrogate-${now}`, now);
        const exchanged = await store.exchangeCode?.(exchangeOf(code, client.id, `surrogate-code-${now}`, now + 1000, { redirectUri: 'https://partner.example/cb\ud800' }));
        assert.equal(exchanged?.saved, false);
        const token = await storedRefreshToken(grant, `surrogate-${now}`, now);
        const rotated = await store.rotateRefreshToken?.(rotationOf(token, client.id, `surrogate-rt-${now}`, now + 1000, ['read\ud800']));
        assert.equal(rotated?.saved, false);
        assert.equal((await store.findCode(code))?.record.consumedAt, null);
      });

      test('a batch PostgreSQL refuses writes nothing, and each of its requests is then answered alone', async () => {
        const { client, grant } = await connection();
        const now = Date.now();
        const at = now + 1000;
        const codes = await Promise.all(['lead', 'one', 'two'].map((label) => storedCode(grant, `refused-batch-${label}-${now}`, now)));
        const [lead, one, two] = codes.map((code, index) => exchangeOf(code, client.id, `refused-batch-${index}-${now}`, at)) as [CodeExchange, CodeExchange, CodeExchange];
        // The two that share a statement would issue the same access token: together, a unique violation.
        const clash = { ...two, accessToken: one.accessToken };
        const { statements, outcomes } = await atOnce([lead, one, clash], (counted, exchange) => counted.exchangeCode?.(exchange));
        assert.equal(statements, 4, 'the lead alone, the refused pair, then each of the pair alone');
        assert.equal((outcomes[0] as { saved: boolean }).saved, true);
        assert.equal((outcomes[1] as { saved: boolean }).saved, true, 'the first of the pair, alone, is saved');
        assert.equal((outcomes[2] as { code?: string }).code, '23505', "the second meets its own error");
        assert.equal((await store.findCode(codes[2] as string))?.record.consumedAt, null, 'its code not spent');
        assert.equal(await store.findRefreshToken(clash.refreshToken?.tokenHash as string), undefined, 'its refresh token not written');
      });

      test('an exchange waiting on a locked grant does not hold back the exchanges behind it', async () => {
        // A transaction holds one grant's row; the exchange of its code waits for it. Another grant's
        // code, sent while that statement waits, is answered past the wait's limit (100 ms), not after the lock.
        const locked = await connection();
        const free = await connection();
        const now = Date.now();
        const [lockedCode, freeCode] = await Promise.all([storedCode(locked.grant, `stalled-${now}`, now), storedCode(free.grant, `behind-${now}`, now)]);
        const exchanges = await database.open();
        let unlock = () => {};
        const unlocked = new Promise<void>((resolve) => void (unlock = resolve));
        let holding = () => {};
        const held = new Promise<void>((resolve) => void (holding = resolve));
        const holder = store.db.transaction().execute(async (trx) => {
          await trx.selectFrom('grants').select('id').where('id', '=', locked.grant.id).forUpdate().execute();
          holding();
          await unlocked;
        });
        try {
          await held;
          const waiting = exchanges.exchangeCode?.(exchangeOf(lockedCode, locked.client.id, `stalled-code-${now}`, now + 1000));
          // The statement has reached the lock when one of this database's backends waits for a lock.
          const lockWaits = sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`;
          while (Number((await lockWaits.execute(store.db)).rows[0]?.n) === 0) {
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
          const behind = exchanges.exchangeCode?.(exchangeOf(freeCode, free.client.id, `behind-code-${now}`, now + 1000));
          const first = await Promise.race([behind, new Promise((resolve) => setTimeout(resolve, 10_000, 'still waiting'))]);
          assert.equal((first as { saved?: boolean }).saved, true, 'answered while the other grant is locked');
          unlock();
          assert.equal((await waiting)?.saved, true, 'the waiting exchange goes on once the lock is released');
        } finally {
          unlock();
          await holder;
        }
      });

      /** A client-credentials token of `clientId` asked of the one step. */
      function machineIssueOf(clientId: string, label: string, now: number, scopes: string[] = ['read']): MachineTokenIssue {
        return { clientId, scopes, now, accessToken: { tokenHash: hashCredential(`at-${label}`), expiresAt: now + HOUR, signingKeyId: `kid-${label}` } };
      }

      /** A machine client whose live machine grant (read, write) last recorded its use at `usedAt`. */
      async function machineClient(usedAt: number | null) {
        const { client } = await makeClient(store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read', 'write'] });
        const grant = await store.saveMachineGrant({ clientId: client.id, scopes: ['read', 'write'], partnerId: null }, Date.now());
        await store.db.updateTable('grants').set({ last_used_at: usedAt }).where('id', '=', grant.id).execute();
        return { client, grant: { ...grant, lastUsedAt: usedAt } };
      }

      test('issueOnMachineGrant: one statement saves a client-credentials token on the live machine grant, writing nothing to the grant', async () => {
        const now = Date.now();
        const { client, grant } = await machineClient(now);
        let statements = 0;
        const counted = await database.open({ onQuery: () => void statements++ });
        statements = 0;
        const issue = machineIssueOf(client.id, `machine-${now}`, now + 1000);
        assert.deepEqual(await counted.issueOnMachineGrant?.(issue), grant);
        assert.equal(statements, 1);
        assert.deepEqual(await store.findAccessToken(issue.accessToken.tokenHash), {
          tokenHash: issue.accessToken.tokenHash,
          grantId: grant.id,
          clientId: client.id,
          userId: null,
          accountId: null,
          scopes: ['read'],
          createdAt: now + 1000,
          expiresAt: now + 1000 + HOUR,
          revokedAt: null,
          signingKeyId: `kid-machine-${now}`,
        });
        assert.deepEqual(await store.findGrant(grant.id), grant, 'the grant unchanged');
        // Every scope of the grant, and none: still the one grant.
        assert.equal((await store.issueOnMachineGrant?.(machineIssueOf(client.id, `machine-both-${now}`, now + 1000, ['write', 'read'])))?.id, grant.id);
        assert.equal((await store.issueOnMachineGrant?.(machineIssueOf(client.id, `machine-none-${now}`, now + 1000, [])))?.id, grant.id);
      });

      test('issueOnMachineGrant writes nothing unless a live machine grant holds the scope and its use needs no record', async () => {
        const now = Date.now();
        const usable = await machineClient(now);
        const revoked = await machineClient(now);
        await store.revokeGrant(revoked.grant.id, now, 'test');
        const { client: withoutGrant } = await makeClient(store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
        // A client with a user's connection only: that grant is not its own.
        const { client: withConnection } = await connection();
        const refusals: Array<[string, string, number, string[]?]> = [
          ['a client without a machine grant', withoutGrant.id, now],
          ['a client with a connection only', withConnection.id, now],
          ['a revoked machine grant', revoked.client.id, now],
          ['a scope the grant lacks', usable.client.id, now, ['read', 'profile']],
          ['a use never recorded', (await machineClient(null)).client.id, now],
          ['a use recorded more than a minute ago', (await machineClient(now - 60_000)).client.id, now],
          ['a use recorded after now (a clock set back)', (await machineClient(now + 5000)).client.id, now],
        ];
        for (const [label, clientId, at, scopes] of refusals) {
          const before = await count('access_tokens');
          const grantsBefore = await store.db.selectFrom('grants').selectAll().where('client_id', '=', clientId).execute();
          const issue = machineIssueOf(clientId, `machine-refused-${label}-${now}`, at, scopes);
          assert.equal(await store.issueOnMachineGrant?.(issue), undefined, label);
          assert.equal(await count('access_tokens'), before, `${label}: nothing written`);
          assert.deepEqual(await store.db.selectFrom('grants').selectAll().where('client_id', '=', clientId).execute(), grantsBefore, `${label}: the grants unchanged`);
        }
      });

      test('client-credentials requests at once share one statement, each answered and written as if alone', async () => {
        const now = Date.now();
        const lead = await machineClient(now);
        const first = await machineClient(now);
        const second = await machineClient(now);
        const due = await machineClient(now - 60_000);
        const revoked = await machineClient(now);
        await store.revokeGrant(revoked.grant.id, now, 'test');
        const cases: Array<[string, MachineTokenIssue, { id: string } | undefined]> = [
          ['the lead', machineIssueOf(lead.client.id, `batch-lead-${now}`, now), lead.grant],
          ["a client's request", machineIssueOf(first.client.id, `batch-a-${now}`, now), first.grant],
          ["the same client's second, for another scope", machineIssueOf(first.client.id, `batch-b-${now}`, now, ['write']), first.grant],
          ["another client's", machineIssueOf(second.client.id, `batch-c-${now}`, now, []), second.grant],
          ['a scope the grant lacks', machineIssueOf(second.client.id, `batch-d-${now}`, now, ['profile']), undefined],
          ['a use due', machineIssueOf(due.client.id, `batch-e-${now}`, now), undefined],
          ['a revoked grant', machineIssueOf(revoked.client.id, `batch-f-${now}`, now), undefined],
        ];
        const { statements, outcomes } = await atOnce(
          cases.map(([, issue]) => issue),
          (counted, issue) => counted.issueOnMachineGrant?.(issue),
        );
        assert.equal(statements, 2, 'the lead alone, the others that came while it ran in one statement');
        for (const [index, [label, issue, grant]] of cases.entries()) {
          assert.equal((outcomes[index] as { id: string } | undefined)?.id, grant?.id, label);
          const access = await store.findAccessToken(issue.accessToken.tokenHash);
          assert.equal(access?.grantId, grant?.id, `${label}: its access token`);
          if (access) assert.deepEqual([access.scopes, access.clientId, access.signingKeyId], [issue.scopes, issue.clientId, issue.accessToken.signingKeyId], label);
        }
        assert.equal((await store.findGrant(due.grant.id))?.lastUsedAt, now - 60_000, 'nothing written to a grant');
      });

      test('issueOnMachineGrant: concurrent requests share the grant; a revocation racing them refuses each or revokes its token', async () => {
        const now = Date.now();
        const { client, grant } = await machineClient(now);
        const together = await Promise.all(Array.from({ length: 8 }, (_, i) => store.issueOnMachineGrant?.(machineIssueOf(client.id, `machine-together-${now}-${i}`, now))));
        assert.deepEqual(together.map((saved) => saved?.id), Array(8).fill(grant.id));
        for (let round = 0; round < 5; round++) {
          const { client: raced, grant: racedGrant } = await machineClient(now);
          const issues = Array.from({ length: 12 }, (_, i) => machineIssueOf(raced.id, `machine-race-${round}-${now}-${i}`, now));
          const saving = issues.map((issue) => store.issueOnMachineGrant?.(issue));
          await store.revokeGrant(racedGrant.id, now, 'test');
          const outcomes = await Promise.all(saving);
          for (const [i, issue] of issues.entries()) {
            const access = await store.findAccessToken(issue.accessToken.tokenHash);
            if (outcomes[i] === undefined) assert.equal(access, undefined, `refused ${i} wrote nothing`);
            else assert.notEqual(access?.revokedAt, null, `saved ${i} was revoked with its grant`);
          }
        }
      });
    }

    test('nothing is issued on a revoked grant, whatever the state of the code or token it spends', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const codeHash = hashCredential(`code-dead-${now}`);
      const refreshHash = hashCredential(`rt-dead-${now}`);
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      await store.insertRefreshToken({ tokenHash: refreshHash, grantId: grant.id, clientId: client.id, scopes: ['profile'], createdAt: now, expiresAt: now + HOUR, rotatedAt: null, revokedAt: null });
      // The grant alone is marked revoked: its code and refresh token are left as they were.
      await store.db.updateTable('grants').set({ revoked_at: now }).where('id', '=', grant.id).execute();
      for (const [label, spends] of [['code', { codeHash }], ['rt', { refreshTokenHash: refreshHash }], ['none', undefined]] as const) {
        assert.equal(await store.saveIssue(issueOf(grant, `dead-${label}-${now}`, now, spends)), 'grant_revoked', label);
        assert.equal(await store.findAccessToken(hashCredential(`at-dead-${label}-${now}`)), undefined, label);
      }
      assert.equal((await store.findCode(codeHash))?.record.consumedAt, null);
      assert.equal((await store.findRefreshToken(refreshHash))?.record.rotatedAt, null);
    });

    test('a revocation racing token responses: each response is refused, or its tokens are revoked with the rest; none deadlocks', async () => {
      for (let round = 0; round < 5; round++) {
        const { grant } = await connection();
        const now = Date.now();
        // Half of them due to record the grant's use (they lock it for update), half not.
        const issues = Array.from({ length: 12 }, (_, i) => issueOf({ ...grant, lastUsedAt: i % 2 ? now : null }, `revoke-race-${round}-${now}-${i}`, now));
        const saving = issues.map((issue) => store.saveIssue(issue));
        await store.revokeGrant(grant.id, now, 'test');
        const outcomes = await Promise.all(saving);
        for (const [i, issue] of issues.entries()) {
          const access = await store.findAccessToken(issue.accessToken.tokenHash);
          if (outcomes[i] === 'grant_revoked') assert.equal(access, undefined, `refused ${i} wrote nothing`);
          else {
            assert.equal(outcomes[i], 'saved');
            assert.notEqual(access?.revokedAt, null, `saved ${i} was revoked with its grant`);
            assert.notEqual((await store.findRefreshToken(issue.refreshToken?.tokenHash as string))?.record.revokedAt, null);
          }
        }
      }
    });

    test('sessions expire; pending authorizations follow a session replacement', async () => {
      const now = Date.now();
      await store.createSession({ idHash: 'old', userId: null, csrfToken: 'c', createdAt: now, expiresAt: now + HOUR, authenticatedAt: null });
      assert.equal((await store.findSession('old', now))?.csrfToken, 'c');
      assert.equal(await store.findSession('old', now + 2 * HOUR), undefined);
      const request = { clientId: 'c', redirectUri: 'https://x.example/cb', redirectUriExplicit: true, scopes: [], state: 's', codeChallenge: undefined, codeChallengeMethod: undefined, prompt: [], channel: 'default', extensions: {} };
      await store.savePendingAuthorization({ id: 'int_test', sessionHash: 'old', request, accountId: null, createdAt: now, expiresAt: now + HOUR });
      await store.rebindPendingAuthorizations('old', 'new');
      const pending = await store.findPendingAuthorization('int_test', now);
      assert.equal(pending?.sessionHash, 'new');
      assert.equal(pending?.request.state, 's');
      await store.chooseAccount('int_test', 'acc_x');
      assert.equal((await store.findPendingAuthorization('int_test', now))?.accountId, 'acc_x');
      assert.equal(await store.findPendingAuthorization('int_test', now + 2 * HOUR), undefined);
      assert.equal(await store.deletePendingAuthorization('int_test'), true);
      assert.equal(await store.deletePendingAuthorization('int_test'), false);
    });

    test('times round-trip as numbers (epoch milliseconds) in both dialects', async () => {
      const { grant } = await connection();
      const found = await store.findGrant(grant.id);
      assert.equal(typeof found?.createdAt, 'number');
      assert.equal(found?.createdAt, grant.createdAt);
    });

    test('audit events are recorded', async () => {
      await store.recordAudit({ type: 'test.event', actor: 'me', ip: '127.0.0.1', subject: 'x', detail: { a: 1 } }, Date.now());
      const row = await store.db.selectFrom('audit_events').selectAll().where('type', '=', 'test.event').executeTakeFirst();
      assert.deepEqual(JSON.parse(row?.detail ?? '{}'), { a: 1 });
    });

    test("a token's parties in one lookup: client, user and account; null where the token has none; undefined where one is gone", async () => {
      const { user, account, client } = await connection();
      const all = await store.findParties({ clientId: client.id, userId: user.id, accountId: account.id });
      assert.deepEqual(all, { client: await store.findClient(client.id), user: await store.findUser(user.id), account: await store.findAccount(account.id) });

      // A client's own token (client credentials) has no user or account.
      assert.deepEqual(await store.findParties({ clientId: client.id, userId: null, accountId: null }), {
        client: await store.findClient(client.id),
        user: null,
        account: null,
      });
      const missing = await store.findParties({ clientId: client.id, userId: 'usr_gone', accountId: 'acc_gone' });
      assert.equal(missing.user, undefined);
      assert.equal(missing.account, undefined);
      assert.equal((await store.findParties({ clientId: 'lkc_gone', userId: user.id, accountId: null })).client, undefined);
    });

    test('a grant\'s last use is recorded to the minute: a busy grant is not rewritten by every request', async () => {
      const { grant } = await connection();
      const now = Date.now();
      const save = (target: KyselyStore, asLoaded: { lastUsedAt: number | null }, at: number, label: string) =>
        target.saveIssue({ ...issueOf({ ...grant, ...asLoaded }, `use-${label}-${now}`, at), refreshToken: undefined });
      // The grant as first loaded (never used): the condition in the statement decides each time.
      await save(store, { lastUsedAt: null }, now, 'a');
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now);
      await save(store, { lastUsedAt: null }, now + 59_000, 'b');
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now);
      await save(store, { lastUsedAt: null }, now + 61_000, 'c');
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now + 61_000);
      // A grant loaded after its last use costs no write of the grant within the minute.
      const sent: string[] = [];
      const counted = await database.open({ onQuery: (event) => void sent.push(event.query.sql) });
      const updatesGrant = () => sent.some((text) => /update "?grants"?/i.test(text));
      sent.length = 0;
      await save(counted, { lastUsedAt: now + 61_000 }, now + 90_000, 'd');
      assert.equal(updatesGrant(), false, 'nothing sent for the grant within the minute');
      await save(counted, { lastUsedAt: now + 61_000 }, now + 122_000, 'e');
      assert.equal(updatesGrant(), true, 'one conditional update once the minute has passed');
      assert.equal((await store.findGrant(grant.id))?.lastUsedAt, now + 122_000);
    });

    test('a token response is one statement on PostgreSQL (one round trip), a transaction of its four writes on SQLite', async () => {
      const { client, grant } = await connection();
      const now = Date.now();
      const codeHash = hashCredential(`code-trips-${now}`);
      await store.insertCode({ codeHash, grantId: grant.id, clientId: client.id, redirectUri: null, scopes: ['profile'], codeChallenge: null, codeChallengeMethod: null, channel: 'default', createdAt: now, expiresAt: now + 60_000, consumedAt: null });
      const sent: string[] = [];
      const counted = await database.open({ onQuery: (event) => void sent.push(event.query.sql) });
      sent.length = 0;
      assert.equal(await counted.saveIssue(issueOf(grant, `trips-${now}`, now, { codeHash })), 'saved');
      if (store.dialect === 'postgres') assert.equal(sent.length, 1, sent.join('\n'));
      // SQLite: the spend (which checks the grant itself), the grant's use and the two inserts; nothing read.
      else assert.equal(sent.filter((text) => !/^(begin|commit|savepoint|release)/i.test(text)).length, 4, sent.join('\n'));
    });
  });
}

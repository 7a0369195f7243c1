/**
 * The grant handlers against a real store, without HTTP: the authorization
 * code grant (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6) and the refresh token grant
 * with rotation (RFC 6749 §6, RFC 9700 §4.14.2) on every dialect, since each
 * store finds and spends the code or token in one step of its own (a statement
 * on PostgreSQL, a transaction on SQLite); and the client credentials grant,
 * which on PostgreSQL saves its token in one step too.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { approveAuthorization, validateAuthorizationRequest } from '../../src/core/authorize.js';
import { InvalidGrant, InvalidRequest, InvalidScope, TemporarilyUnavailable } from '../../src/core/errors.js';
import { grantHandlers } from '../../src/core/grants/index.js';
import type { Client } from '../../src/core/model.js';
import { s256 } from '../../src/core/pkce.js';
import { hashCredential } from '../../src/core/secrets.js';
import type { ProtocolSettings, TokenEndpointSettings } from '../../src/core/settings.js';
import type { IssuedTokens } from '../../src/core/tokens.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, REDIRECT_URI } from '../support/fixtures.js';
import {
  authorizeEndpoint,
  caught,
  freshAccount,
  protocolSettings,
  type StoreHandle,
  tokenEndpoint,
  useSqliteStore,
  useStore,
} from './core-fixtures.js';

const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = s256(VERIFIER);

const authorizationCode = grantHandlers.get('authorization_code')!;
const refreshToken = grantHandlers.get('refresh_token')!;

function assertError(error: unknown, type: abstract new (...args: never[]) => Error, code: string): void {
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  assert.equal((error as { error?: string }).error, code);
}

interface Fixture {
  db: StoreHandle;
  client: Client;
  otherClient: Client;
  publicClient: Client;
  userId: string;
}

/** Seeds the fixture's clients and user in the describe block's store. */
function useFixture(db: StoreHandle = useSqliteStore()): Fixture {
  const fixture = { db } as Fixture;
  before(async () => {
    const { store } = fixture.db;
    ({ client: fixture.client } = await makeClient(store));
    ({ client: fixture.otherClient } = await makeClient(store, { name: 'Other App' }));
    ({ client: fixture.publicClient } = await makeClient(store, { name: 'Mobile App', isPublic: true }));
    ({
      user: { id: fixture.userId },
    } = await makeUser(store));
  });
  return fixture;
}

/** Validates an authorization request, approves it for a new account and returns the code. */
async function authorize(
  fixture: Fixture,
  options: {
    client?: Client;
    params?: Record<string, string>;
    omitRedirectUri?: boolean;
    channel?: string;
    now?: number;
    settings?: ProtocolSettings;
  } = {},
): Promise<{ code: string; issuedAt: number; accountId: string }> {
  const { store } = fixture.db;
  const client = options.client ?? fixture.client;
  const settings = options.settings ?? protocolSettings();
  const issuedAt = options.now ?? Date.now();
  const params: Record<string, string> = {
    response_type: 'code',
    client_id: client.id,
    scope: 'profile read',
    state: 'xyz',
    ...(options.omitRedirectUri ? {} : { redirect_uri: REDIRECT_URI }),
    ...options.params,
  };
  const { request } = await validateAuthorizationRequest(
    { params, repeated: [] },
    { store, settings, endpoint: authorizeEndpoint({ channel: options.channel ?? 'default' }) },
  );
  const accountId = await freshAccount(store, fixture.userId, issuedAt);
  const { code } = await approveAuthorization(request, { userId: fixture.userId, accountId, partnerId: null }, { store, settings, now: issuedAt });
  return { code, issuedAt, accountId };
}

function redeem(
  fixture: Fixture,
  params: Record<string, string>,
  options: { client?: Client; now?: number; endpoint?: TokenEndpointSettings; settings?: ProtocolSettings } = {},
): Promise<IssuedTokens> {
  return authorizationCode.handle({
    params,
    client: options.client ?? fixture.client,
    store: fixture.db.store,
    settings: options.settings ?? protocolSettings(),
    endpoint: options.endpoint ?? tokenEndpoint(),
    now: options.now ?? Date.now(),
  });
}

function refresh(
  fixture: Fixture,
  params: Record<string, string>,
  options: { client?: Client; now: number; settings?: ProtocolSettings },
): Promise<IssuedTokens> {
  return refreshToken.handle({
    params,
    client: options.client ?? fixture.client,
    store: fixture.db.store,
    settings: options.settings ?? protocolSettings(),
    endpoint: tokenEndpoint(),
    now: options.now,
  });
}

describe('the grant registry', () => {
  test('has the authorization_code and refresh_token handlers under their canonical names', () => {
    assert.ok(grantHandlers.has('authorization_code'));
    assert.ok(grantHandlers.has('refresh_token'));
    assert.equal(authorizationCode.type, 'authorization_code');
    assert.equal(refreshToken.type, 'refresh_token');
  });
});

// Over every dialect: a code is exchanged in one step of the store (exchangeCode: a statement on PostgreSQL, a transaction on SQLite).
for (const dialect of await dialects()) {
  describe(`authorization_code grant (${dialect.name})`, { skip: dialect.skip }, () => {
    const fixture = useFixture(useStore(dialect));
    const store = () => fixture.db.store;

    test('RFC 6749 §4.1.3: a valid code is exchanged for tokens bound to the user, account, client and scopes', async () => {
      const { code, issuedAt, accountId } = await authorize(fixture);
      const now = issuedAt + 1000;
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now });
      assert.match(issued.accessToken, /^lk_at_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
      assert.match(issued.refreshToken ?? '', /^lk_rt_[0-9a-f]{12}[A-Za-z0-9_-]{43}$/);
      assert.equal(issued.expiresIn, 3600);
      assert.deepEqual(issued.scopes, ['profile', 'read']);
      assert.equal(issued.client.id, fixture.client.id);

      const access = await store().findAccessToken(hashCredential(issued.accessToken));
      assert.ok(access);
      assert.equal(access.clientId, fixture.client.id);
      assert.equal(access.userId, fixture.userId);
      assert.equal(access.accountId, accountId);
      assert.deepEqual(access.scopes, ['profile', 'read']);
      assert.equal(access.expiresAt, now + 3600 * 1000);
      assert.equal(access.revokedAt, null);
      const refreshRecord = await store().findRefreshToken(hashCredential(issued.refreshToken ?? ''));
      assert.equal(refreshRecord?.record.grantId, access.grantId);
      assert.equal(refreshRecord?.grant.id, access.grantId, 'the refresh token comes with its grant');
      assert.equal((await store().findCode(hashCredential(code)))?.record.consumedAt, now);
      assert.equal((await store().findGrant(access.grantId))?.lastUsedAt, now);
    });

    test('RFC 6749 §4.1.3: the code parameter is required', async () => {
      assertError(await caught(() => redeem(fixture, { redirect_uri: REDIRECT_URI })), InvalidRequest, 'invalid_request');
    });

    test('RFC 6749 §5.2: an unknown code is invalid_grant', async () => {
      assertError(await caught(() => redeem(fixture, { code: 'lk_ac_unknown' })), InvalidGrant, 'invalid_grant');
    });

    test('RFC 6749 §4.1.2: a second use is invalid_grant and revokes the tokens issued from the first', async () => {
      const { code, issuedAt } = await authorize(fixture);
      const first = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now: issuedAt + 1000 });
      const error = await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now: issuedAt + 2000 }));
      assertError(error, InvalidGrant, 'invalid_grant');

      const access = await store().findAccessToken(hashCredential(first.accessToken));
      assert.equal(access?.revokedAt, issuedAt + 2000);
      const refreshRecord = await store().findRefreshToken(hashCredential(first.refreshToken ?? ''));
      assert.equal(refreshRecord?.record.revokedAt, issuedAt + 2000);
      assert.notEqual((await store().findGrant(first.grant.id))?.revokedAt, null);
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken ?? '' }, { now: issuedAt + 3000 })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('RFC 6749 §4.1.2: of concurrent exchanges of one code, one succeeds and the others revoke the grant', async () => {
      const { code, issuedAt } = await authorize(fixture);
      const now = issuedAt + 1000;
      const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now })));
      const issued = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      assert.equal(issued.length, 1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assertError(outcome.reason, InvalidGrant, 'invalid_grant');
      }
      assert.equal((await store().findGrant((issued[0] as IssuedTokens).grant.id))?.revokedAt, now);
      assert.equal((await store().findAccessToken(hashCredential((issued[0] as IssuedTokens).accessToken)))?.revokedAt, now);
    });

    test('one step: a code spent by another exchange between the step\'s read and its spend is a race: invalid_grant, the grant revoked', async () => {
      const { code, issuedAt } = await authorize(fixture);
      const asRead = await store().findCode(hashCredential(code));
      assert.ok(asRead);
      const first = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now: issuedAt + 1000 });
      // The real store, except that its one step answers as when the other exchange committed
      // after the step's read: the code as read (unused), and not spent by this step.
      const racing = Object.create(store()) as KyselyStore;
      Object.defineProperty(racing, 'exchangeCode', { value: async () => ({ ...asRead, saved: false }) });
      const error = await caught(() =>
        authorizationCode.handle({ params: { code, redirect_uri: REDIRECT_URI }, client: fixture.client, store: racing, settings: protocolSettings(), endpoint: tokenEndpoint(), now: issuedAt + 1000 }),
      );
      assertError(error, InvalidGrant, 'invalid_grant');
      assert.equal((error as InvalidGrant).detail, 'code raced by a concurrent request: grant revoked');
      assert.equal((await store().findAccessToken(hashCredential(first.accessToken)))?.revokedAt, issuedAt + 1000);
    });

    test('RFC 6749 §4.1.3: a code issued to another client is invalid_grant', async () => {
      const { code } = await authorize(fixture);
      assertError(
        await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { client: fixture.otherClient })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('RFC 6749 §4.1.2: an expired code is invalid_grant; just before expiry it is accepted', async () => {
      const ttl = protocolSettings().codeTtlSeconds * 1000;
      const expired = await authorize(fixture);
      assertError(
        await caught(() => redeem(fixture, { code: expired.code, redirect_uri: REDIRECT_URI }, { now: expired.issuedAt + ttl })),
        InvalidGrant,
        'invalid_grant',
      );
      const fresh = await authorize(fixture);
      const issued = await redeem(fixture, { code: fresh.code, redirect_uri: REDIRECT_URI }, { now: fresh.issuedAt + ttl - 1 });
      assert.match(issued.accessToken, /^lk_at_/);
    });

    test('RFC 6749 §4.1.3: when redirect_uri was in the request, a token request without it is invalid_grant', async () => {
      const { code } = await authorize(fixture);
      assertError(await caught(() => redeem(fixture, { code })), InvalidGrant, 'invalid_grant');
    });

    test('RFC 6749 §4.1.3: a redirect_uri different from the one in the request is invalid_grant', async () => {
      const { code } = await authorize(fixture);
      for (const uri of [`${REDIRECT_URI}/`, 'https://evil.example/callback', REDIRECT_URI.toUpperCase(), '']) {
        assertError(await caught(() => redeem(fixture, { code, redirect_uri: uri })), InvalidGrant, 'invalid_grant');
      }
      // The failed attempts did not use the code up.
      assert.match((await redeem(fixture, { code, redirect_uri: REDIRECT_URI })).accessToken, /^lk_at_/);
    });

    test('RFC 6749 §4.1.3: when redirect_uri was omitted from the request, the token request need not send it', async () => {
      const { code } = await authorize(fixture, { omitRedirectUri: true });
      assert.match((await redeem(fixture, { code })).accessToken, /^lk_at_/);
    });

    test('RFC 7636 §4.6: the right code_verifier redeems a PKCE code', async () => {
      const { code } = await authorize(fixture, {
        client: fixture.publicClient,
        params: { code_challenge: CHALLENGE, code_challenge_method: 'S256' },
      });
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { client: fixture.publicClient });
      assert.equal(issued.client.id, fixture.publicClient.id);
    });

    test('RFC 7636 §4.6: a wrong code_verifier is invalid_grant', async () => {
      const { code } = await authorize(fixture, { params: { code_challenge: CHALLENGE, code_challenge_method: 'S256' } });
      for (const verifier of [`${VERIFIER.slice(0, -1)}l`, CHALLENGE, 'short']) {
        assertError(
          await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI, code_verifier: verifier })),
          InvalidGrant,
          'invalid_grant',
        );
      }
    });

    test('RFC 7636 §4.5: a missing code_verifier for a PKCE code is invalid_grant', async () => {
      const { code } = await authorize(fixture, {
        client: fixture.publicClient,
        params: { code_challenge: CHALLENGE, code_challenge_method: 'S256' },
      });
      assertError(
        await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { client: fixture.publicClient })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('RFC 7636 §4.6: a plain challenge (where allowed) is matched by the identical verifier only', async () => {
      const settings = protocolSettings({ pkce: { requiredFor: 'public', allowPlain: true } });
      const { code } = await authorize(fixture, { params: { code_challenge: VERIFIER, code_challenge_method: 'plain' }, settings });
      assertError(
        await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI, code_verifier: `${VERIFIER}x` }, { settings })),
        InvalidGrant,
        'invalid_grant',
      );
      assert.match((await redeem(fixture, { code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { settings })).accessToken, /^lk_at_/);
    });

    test('RFC 9700 §4.8.2: a code_verifier sent for a code issued without a challenge is invalid_grant (downgrade)', async () => {
      const { code } = await authorize(fixture);
      assertError(
        await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('a code issued on another authorize endpoint (channel) is invalid_grant', async () => {
      const { code } = await authorize(fixture, { channel: 'legacy' });
      assertError(await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI })), InvalidGrant, 'invalid_grant');
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { endpoint: tokenEndpoint({ channel: 'legacy' }) });
      assert.match(issued.accessToken, /^lk_at_/);
    });

    test('RFC 6749 §10.5: a code of a revoked grant is invalid_grant', async () => {
      const { code } = await authorize(fixture);
      const found = await store().findCode(hashCredential(code));
      assert.ok(found);
      await store().revokeGrant(found.record.grantId, Date.now(), 'test');
      assertError(await caught(() => redeem(fixture, { code, redirect_uri: REDIRECT_URI })), InvalidGrant, 'invalid_grant');
    });

    test('an endpoint or client access-token lifetime overrides the server default', async () => {
      const { code } = await authorize(fixture);
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { endpoint: tokenEndpoint({ accessTokenTtlSeconds: 120 }) });
      assert.equal(issued.expiresIn, 120);
    });

    test('a client without the refresh_token grant gets no refresh token', async () => {
      const { client } = await makeClient(store(), { name: 'Code Only', grantTypes: ['authorization_code'] });
      const { code } = await authorize(fixture, { client });
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { client });
      assert.equal(issued.refreshToken, undefined);
    });
  });}


// Over every dialect: a refresh is asked of the store in one step (rotateRefreshToken: a statement on PostgreSQL, a transaction on SQLite).
for (const dialect of await dialects()) {
  describe(`refresh_token grant (${dialect.name})`, { skip: dialect.skip }, () => {
    const fixture = useFixture(useStore(dialect));
    const store = () => fixture.db.store;

    /** A fresh grant: the tokens of a redeemed code, issued at `at`. */
    async function tokens(at = Date.now(), client?: Client): Promise<IssuedTokens & { refreshToken: string }> {
      const { code } = await authorize(fixture, { now: at, ...(client ? { client } : {}) });
      const issued = await redeem(fixture, { code, redirect_uri: REDIRECT_URI }, { now: at, ...(client ? { client } : {}) });
      assert.ok(issued.refreshToken);
      return issued as IssuedTokens & { refreshToken: string };
    }

    test('RFC 6749 §6: the refresh_token parameter is required', async () => {
      assertError(await caught(() => refresh(fixture, {}, { now: Date.now() })), InvalidRequest, 'invalid_request');
    });

    test('RFC 6749 §5.2: an unknown refresh token is invalid_grant', async () => {
      assertError(await caught(() => refresh(fixture, { refresh_token: 'lk_rt_unknown' }, { now: Date.now() })), InvalidGrant, 'invalid_grant');
    });

    test('RFC 9700 §4.14.2: a refresh rotates the refresh token and issues a new access token', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const second = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 });
      assert.ok(second.refreshToken);
      assert.notEqual(second.refreshToken, first.refreshToken);
      assert.notEqual(second.accessToken, first.accessToken);
      assert.equal(second.grant.id, first.grant.id);
      assert.deepEqual(second.scopes, ['profile', 'read']);
      assert.equal((await store().findRefreshToken(hashCredential(first.refreshToken)))?.record.rotatedAt, t0 + 1000);
      // The successor works in turn.
      const third = await refresh(fixture, { refresh_token: second.refreshToken }, { now: t0 + 2000 });
      assert.match(third.accessToken, /^lk_at_/);
    });

    test('RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the whole grant, newest tokens included', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const second = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 });
      const third = await refresh(fixture, { refresh_token: second.refreshToken ?? '' }, { now: t0 + 2000 });

      assertError(await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 3000 })), InvalidGrant, 'invalid_grant');

      assert.equal((await store().findGrant(first.grant.id))?.revokedAt, t0 + 3000);
      assert.equal((await store().findAccessToken(hashCredential(third.accessToken)))?.revokedAt, t0 + 3000);
      assert.equal((await store().findAccessToken(hashCredential(first.accessToken)))?.revokedAt, t0 + 3000);
      assert.equal((await store().findRefreshToken(hashCredential(third.refreshToken ?? '')))?.record.revokedAt, t0 + 3000);
      assertError(
        await caught(() => refresh(fixture, { refresh_token: third.refreshToken ?? '' }, { now: t0 + 4000 })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('RFC 9700 §4.14.2: with no grace window, reuse in the very millisecond of the rotation still revokes the grant', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const second = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 });
      assert.equal(protocolSettings().refreshReuseGraceSeconds, 0);
      assertError(await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 })), InvalidGrant, 'invalid_grant');
      assert.equal((await store().findGrant(first.grant.id))?.revokedAt, t0 + 1000);
      assert.equal((await store().findAccessToken(hashCredential(second.accessToken)))?.revokedAt, t0 + 1000);
    });

    test('RFC 6749 §6: a narrower scope may be requested and the new access token carries it', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const narrowed = await refresh(fixture, { refresh_token: first.refreshToken, scope: 'profile' }, { now: t0 + 1000 });
      assert.deepEqual(narrowed.scopes, ['profile']);
      assert.deepEqual((await store().findAccessToken(hashCredential(narrowed.accessToken)))?.scopes, ['profile']);
    });

    test('RFC 6749 §6: the new refresh token keeps the original scope after a narrowed refresh', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const narrowed = await refresh(fixture, { refresh_token: first.refreshToken, scope: 'profile' }, { now: t0 + 1000 });
      const stored = await store().findRefreshToken(hashCredential(narrowed.refreshToken as string));
      assert.deepEqual(stored?.record.scopes, first.scopes);
      const widenedBack = await refresh(fixture, { refresh_token: narrowed.refreshToken as string, scope: first.scopes.join(' ') }, { now: t0 + 2000 });
      assert.deepEqual(widenedBack.scopes, first.scopes);
    });

    test('RFC 6749 §6: a scope not originally granted is invalid_scope, even one the client may use', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      assert.ok(fixture.client.scopes.includes('write'));
      const error = await caught(() => refresh(fixture, { refresh_token: first.refreshToken, scope: 'profile write' }, { now: t0 + 1000 }));
      assertError(error, InvalidScope, 'invalid_scope');
      // The refused request did not rotate the token.
      assert.equal((await store().findRefreshToken(hashCredential(first.refreshToken)))?.record.rotatedAt, null);
    });

    test('RFC 6749 §3.3: a malformed scope on refresh is invalid_scope', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken, scope: 'profile "read"' }, { now: t0 + 1000 })),
        InvalidScope,
        'invalid_scope',
      );
    });

    test('RFC 6749 §6: another client\'s refresh token is invalid_grant and does not harm its owner', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { client: fixture.otherClient, now: t0 + 1000 })),
        InvalidGrant,
        'invalid_grant',
      );
      assert.equal((await store().findGrant(first.grant.id))?.revokedAt, null);
      assert.match((await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 2000 })).accessToken, /^lk_at_/);
    });

    test('RFC 6749 §5.2: an expired refresh token is invalid_grant', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const ttl = protocolSettings().refreshTokenTtlSeconds * 1000;
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + ttl })),
        InvalidGrant,
        'invalid_grant',
      );
      assert.match((await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + ttl - 1 })).accessToken, /^lk_at_/);
    });

    test('RFC 6749 §10.4: a refresh token of a revoked grant is invalid_grant', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      await store().revokeGrant(first.grant.id, t0 + 500, 'user_revoked');
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 })),
        InvalidGrant,
        'invalid_grant',
      );
    });

    test('a revocation that lands between the lookup and the write: invalid_grant, nothing issued, no reuse reported', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      // The real store, except that the grant is revoked right after the refresh token is looked up.
      const racing = Object.create(store()) as KyselyStore;
      // The lookup and the write apart, as a store without the one step runs them.
      Object.defineProperty(racing, 'rotateRefreshToken', { value: undefined });
      racing.findRefreshToken = async (hash) => {
        const found = await store().findRefreshToken(hash);
        await store().revokeGrant(first.grant.id, t0 + 500, 'user_revoked');
        return found;
      };
      const error = await caught(() =>
        refreshToken.handle({ params: { refresh_token: first.refreshToken }, client: fixture.client, store: racing, settings: protocolSettings(), endpoint: tokenEndpoint(), now: t0 + 1000 }),
      );
      assertError(error, InvalidGrant, 'invalid_grant');
      assert.equal((error as InvalidGrant).detail, 'grant revoked');
      const events = await store().db.selectFrom('audit_events').select('type').where('subject', '=', first.grant.id).execute();
      assert.deepEqual(events.filter((event) => event.type === 'refresh_token.reuse_detected'), []);
      assert.equal((await store().findRefreshToken(hashCredential(first.refreshToken)))?.record.rotatedAt, null, 'not rotated by the refused refresh');
    });

    test('RFC 9700 §4.14.2: of concurrent refreshes with one token, one succeeds and the others revoke the grant', async () => {
      const t0 = Date.now();
      const first = await tokens(t0);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, () => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 })),
      );
      const issued = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
      assert.equal(issued.length, 1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') assertError(outcome.reason, InvalidGrant, 'invalid_grant');
      }
      assert.equal((await store().findGrant(first.grant.id))?.revokedAt, t0 + 1000);
      assert.equal((await store().findAccessToken(hashCredential((issued[0] as IssuedTokens).accessToken)))?.revokedAt, t0 + 1000);
    });

    test(
      'one step: a token rotated by another refresh between the step\'s read and its spend is a race: invalid_grant, the grant revoked',
      async () => {
        const t0 = Date.now();
        const first = await tokens(t0);
        const asRead = await store().findRefreshToken(hashCredential(first.refreshToken));
        assert.ok(asRead);
        await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 });
        // The real store, except that its one step answers as when the other refresh committed
        // after the step's read: the token as read (current), and not rotated by this step.
        const racing = Object.create(store()) as KyselyStore;
        Object.defineProperty(racing, 'rotateRefreshToken', { value: async () => ({ ...asRead, saved: false }) });
        const error = await caught(() =>
          refreshToken.handle({ params: { refresh_token: first.refreshToken }, client: fixture.client, store: racing, settings: protocolSettings(), endpoint: tokenEndpoint(), now: t0 + 1000 }),
        );
        assertError(error, InvalidGrant, 'invalid_grant');
        assert.equal((error as InvalidGrant).detail, 'refresh token raced by a concurrent request: grant revoked');
        assert.equal((await store().findGrant(first.grant.id))?.revokedAt, t0 + 1000);
      },
    );

    test('with refreshReuseGraceSeconds > 0 the old token may be reused within the window without revoking', async () => {
      const settings = protocolSettings({ refreshReuseGraceSeconds: 30 });
      const t0 = Date.now();
      const first = await tokens(t0);
      const second = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000, settings });
      const again = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 10_000, settings });
      assert.match(again.accessToken, /^lk_at_/);
      assert.notEqual(again.refreshToken, second.refreshToken);
      assert.equal((await store().findGrant(first.grant.id))?.revokedAt, null);
      assert.equal((await store().findAccessToken(hashCredential(second.accessToken)))?.revokedAt, null);
      // The successor issued first still works.
      assert.match((await refresh(fixture, { refresh_token: second.refreshToken ?? '' }, { now: t0 + 11_000, settings })).accessToken, /^lk_at_/);
    });

    test('with refreshReuseGraceSeconds > 0, reuse after the window still revokes the grant', async () => {
      const settings = protocolSettings({ refreshReuseGraceSeconds: 30 });
      const t0 = Date.now();
      const first = await tokens(t0);
      const second = await refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000, settings });
      assertError(
        await caught(() => refresh(fixture, { refresh_token: first.refreshToken }, { now: t0 + 1000 + 30_001, settings })),
        InvalidGrant,
        'invalid_grant',
      );
      assert.notEqual((await store().findGrant(first.grant.id))?.revokedAt, null);
      assert.notEqual((await store().findAccessToken(hashCredential(second.accessToken)))?.revokedAt, null);
    });
  });
}

// Over every dialect: on PostgreSQL a token on a client's existing machine grant is one step of the store (issueOnMachineGrant).
for (const dialect of await dialects()) {
  describe(`client_credentials grant (${dialect.name})`, { skip: dialect.skip }, () => {
    const db = useStore(dialect);
    const clientCredentials = grantHandlers.get('client_credentials')!;
    let machine: Client;
    before(async () => {
      ({ client: machine } = await makeClient(db.store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] }));
    });

    const newMachineClient = async (overrides: Partial<Parameters<typeof makeClient>[1]> = {}) =>
      (await makeClient(db.store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read', 'write'], ...overrides })).client;

    const request = (store: KyselyStore, options: { client?: Client; scope?: string; now?: number; settings?: ProtocolSettings } = {}) =>
      clientCredentials.handle({
        params: { scope: options.scope ?? 'read' },
        client: options.client ?? machine,
        store,
        settings: options.settings ?? protocolSettings(),
        endpoint: tokenEndpoint(),
        now: options.now ?? Date.now(),
      });

    test("RFC 6749 §4.4: a client's tokens hang off its one machine grant; on PostgreSQL each after the first is one statement", async () => {
      const client = await newMachineClient();
      const now = Date.now();
      const first = await request(db.store, { client, now });
      assert.equal(first.refreshToken, undefined, '§4.4.3: no refresh token');
      assert.deepEqual({ userId: first.grant.userId, accountId: first.grant.accountId, scopes: first.grant.scopes }, { userId: null, accountId: null, scopes: ['read'] });
      let statements = 0;
      const counted = await db.database.open({ onQuery: () => void statements++ });
      statements = 0;
      const second = await request(counted, { client, now: now + 1000 });
      if (dialect.name === 'postgres') assert.equal(statements, 1);
      assert.equal(second.grant.id, first.grant.id);
      assert.deepEqual(await db.store.findAccessToken(hashCredential(second.accessToken)), {
        tokenHash: hashCredential(second.accessToken),
        grantId: first.grant.id,
        clientId: client.id,
        userId: null,
        accountId: null,
        scopes: ['read'],
        createdAt: now + 1000,
        expiresAt: now + 1000 + second.expiresIn * 1000,
        revokedAt: null,
        signingKeyId: null,
      });
    });

    test('a scope the machine grant does not hold yet widens it; the token carries the scope asked for', async () => {
      const client = await newMachineClient();
      const read = await request(db.store, { client, scope: 'read' });
      const write = await request(db.store, { client, scope: 'write' });
      assert.equal(write.grant.id, read.grant.id);
      assert.deepEqual(write.scopes, ['write']);
      assert.deepEqual((await db.store.findGrant(read.grant.id))?.scopes, ['read', 'write']);
      assert.deepEqual((await db.store.findAccessToken(hashCredential(write.accessToken)))?.scopes, ['write']);
    });

    test("the grant's use is recorded to the minute, by the request that finds it due", async () => {
      const client = await newMachineClient();
      const now = Date.now();
      const { grant } = await request(db.store, { client, now });
      assert.equal((await db.store.findGrant(grant.id))?.lastUsedAt, now);
      await request(db.store, { client, now: now + 30_000 });
      assert.equal((await db.store.findGrant(grant.id))?.lastUsedAt, now);
      const later = await request(db.store, { client, now: now + 61_000 });
      assert.equal(later.grant.id, grant.id);
      assert.equal((await db.store.findGrant(grant.id))?.lastUsedAt, now + 61_000);
    });

    test("RFC 9068: a JWT client's token names the client as its subject, and is stored by its hash with its signing key", async () => {
      const client = await newMachineClient({ accessTokenFormat: 'jwt' });
      const now = Date.now();
      await request(db.store, { client, now });
      const issued = await request(db.store, { client, now: now + 1000 });
      const payload = JSON.parse(Buffer.from(issued.accessToken.split('.')[1] as string, 'base64url').toString()) as Record<string, unknown>;
      assert.equal(payload.sub, client.id);
      assert.equal(payload.client_id, client.id);
      assert.equal(payload.scope, 'read');
      assert.equal(payload.account_id, undefined);
      const stored = await db.store.findAccessToken(hashCredential(issued.accessToken));
      assert.equal(stored?.grantId, issued.grant.id);
      assert.equal(stored?.signingKeyId, (await db.store.activeSigningKey())?.kid);
    });

    if (dialect.name === 'postgres') {
      test("a JWT client's token minted for the one step that saved nothing is the one the two steps save: signed once", async () => {
        const client = await newMachineClient({ accessTokenFormat: 'jwt' });
        const asked: (string | undefined)[] = [];
        const store = Object.create(db.store) as KyselyStore;
        Object.defineProperty(store, 'issueOnMachineGrant', {
          value: async (issue: Parameters<NonNullable<KyselyStore['issueOnMachineGrant']>>[0]) => {
            const grant = await db.store.issueOnMachineGrant!(issue);
            asked.push(grant ? undefined : issue.accessToken.tokenHash);
            return grant;
          },
        });
        const now = Date.now();
        // No machine grant yet, then one whose use is due: the one step saves nothing both times.
        for (const at of [now, now + 61_000]) {
          const issued = await request(store, { client, now: at });
          const tokenHash = hashCredential(issued.accessToken);
          assert.equal(asked.pop(), tokenHash);
          assert.equal((await db.store.findAccessToken(tokenHash))?.grantId, issued.grant.id);
        }
        assert.deepEqual(asked, []);
      });
    }

    test('a revoked machine grant is never issued on again: the next request creates a new one', async () => {
      const client = await newMachineClient();
      const now = Date.now();
      const { grant } = await request(db.store, { client, now });
      await db.store.revokeGrant(grant.id, now, 'client_revoked');
      const issued = await request(db.store, { client, now: now + 1000 });
      assert.notEqual(issued.grant.id, grant.id);
      const token = await db.store.findAccessToken(hashCredential(issued.accessToken));
      assert.equal(token?.grantId, issued.grant.id);
      assert.equal(token?.revokedAt, null);
    });

    test('concurrent requests of one client all succeed, on its one grant', async () => {
      const client = await newMachineClient();
      const { grant } = await request(db.store, { client });
      const issued = await Promise.all(Array.from({ length: 8 }, () => request(db.store, { client })));
      assert.deepEqual(
        issued.map((tokens) => tokens.grant.id),
        Array(8).fill(grant.id),
      );
    });

    /** The real store in two steps, except that the machine grant is revoked right after it is saved, `times` times. */
    function revokingAfterSave(times: number): { store: KyselyStore; saved: string[] } {
      const saved: string[] = [];
      const store = Object.create(db.store) as KyselyStore;
      Object.defineProperty(store, 'issueOnMachineGrant', { value: undefined });
      store.saveMachineGrant = async (grant, now) => {
        const live = await db.store.saveMachineGrant(grant, now);
        saved.push(live.id);
        if (saved.length <= times) await db.store.revokeGrant(live.id, now, 'client_revoked');
        return live;
      };
      return { store, saved };
    }

    test('a machine grant revoked between its lookup and the write: the token is issued on the grant saved again, never on the revoked one', async () => {
      const { store, saved } = revokingAfterSave(1);
      const issued = await request(store);
      assert.equal(saved.length, 2);
      assert.notEqual(saved[0], saved[1]);
      assert.equal(issued.grant.id, saved[1]);
      const token = await db.store.findAccessToken(hashCredential(issued.accessToken));
      assert.equal(token?.grantId, saved[1]);
      assert.equal(token?.revokedAt, null);
      const onRevoked = await db.store.db.selectFrom('access_tokens').select('token_hash').where('grant_id', '=', saved[0] as string).execute();
      assert.deepEqual(onRevoked, []);
    });

    test('revoked again on the second try: temporarily_unavailable, and no token', async () => {
      const tokensOfClient = () => db.store.db.selectFrom('access_tokens').select('token_hash').where('client_id', '=', machine.id).execute();
      const before = await tokensOfClient();
      const { store, saved } = revokingAfterSave(2);
      assertError(await caught(() => request(store)), TemporarilyUnavailable, 'temporarily_unavailable');
      assert.equal(saved.length, 2);
      assert.deepEqual(await tokensOfClient(), before);
    });
  });
}

/** The token endpoint: grant type dispatch, client authentication and the response body (RFC 6749 §3.2, §5). */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { type AuthorizationRequest, approveAuthorization } from '../../src/core/authorize.js';
import { InvalidClient, InvalidRequest, UnauthorizedClient, UnsupportedGrantType } from '../../src/core/errors.js';
import type { Client, Grant } from '../../src/core/model.js';
import { RFC6749_RESPONSE, type TokenEndpointSettings } from '../../src/core/settings.js';
import { handleTokenRequest, tokenResponseBody } from '../../src/core/token-endpoint.js';
import type { IssuedTokens } from '../../src/core/tokens.js';
import { makeClient, makeUser, REDIRECT_URI } from '../support/fixtures.js';
import { caught, freshAccount, protocolSettings, tokenEndpoint, useSqliteStore } from './core-fixtures.js';

function assertOAuthError(error: unknown, type: abstract new (...args: never[]) => Error, code: string): void {
  assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
  assert.equal((error as { error?: string }).error, code);
}

describe('handleTokenRequest (sqlite)', () => {
  const db = useSqliteStore();
  const settings = protocolSettings();
  let client: Client;
  let secret: string;
  let codeOnlyClient: Client;
  let codeOnlySecret: string;
  let userId: string;

  before(async () => {
    ({ client, secret } = await makeClient(db.store));
    ({ client: codeOnlyClient, secret: codeOnlySecret } = await makeClient(db.store, {
      name: 'No Refresh App',
      grantTypes: ['authorization_code'],
    }));
    ({
      user: { id: userId },
    } = await makeUser(db.store));
  });

  async function issueCode(forClient: Client, now: number): Promise<string> {
    const request: AuthorizationRequest = {
      clientId: forClient.id,
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
    const accountId = await freshAccount(db.store, userId);
    const { code } = await approveAuthorization(request, { userId, accountId, partnerId: null }, { store: db.store, settings, now });
    return code;
  }

  function run(params: Record<string, string>, endpoint: TokenEndpointSettings = tokenEndpoint(), authorization?: string) {
    return handleTokenRequest({ params, authorization }, { store: db.store, settings, endpoint, now: Date.now() });
  }

  test('RFC 6749 §5.2: a request without grant_type is invalid_request', async () => {
    assertOAuthError(await caught(() => run({ client_id: client.id, client_secret: secret })), InvalidRequest, 'invalid_request');
    assertOAuthError(await caught(() => run({ grant_type: '', client_id: client.id, client_secret: secret })), InvalidRequest, 'invalid_request');
  });

  test('RFC 6749 §5.2: an unknown grant_type is unsupported_grant_type', async () => {
    for (const grantType of ['password', 'client_credentials', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'AUTHORIZATION_CODE']) {
      assertOAuthError(
        await caught(() => run({ grant_type: grantType, client_id: client.id, client_secret: secret })),
        UnsupportedGrantType,
        'unsupported_grant_type',
      );
    }
  });

  test('grant_type values that are names of Object.prototype members are unsupported, not a crash', async () => {
    for (const grantType of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      assertOAuthError(
        await caught(() => run({ grant_type: grantType, client_id: client.id, client_secret: secret })),
        UnsupportedGrantType,
        'unsupported_grant_type',
      );
    }
  });

  test('an endpoint alias maps a wire grant_type to the canonical handler', async () => {
    const endpoint = tokenEndpoint({ grantTypes: { 'authorization-code': 'authorization_code' } });
    const code = await issueCode(client, Date.now());
    const issued = await run(
      { grant_type: 'authorization-code', code, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: secret },
      endpoint,
    );
    assert.match(issued.accessToken, /^lk_at_/);
    assert.equal(issued.client.id, client.id);
    assert.deepEqual(issued.scopes, ['profile']);
  });

  test('on an endpoint that only maps an alias, the canonical name itself is unsupported', async () => {
    const endpoint = tokenEndpoint({ grantTypes: { 'authorization-code': 'authorization_code' } });
    const code = await issueCode(client, Date.now());
    assertOAuthError(
      await caught(() => run({ grant_type: 'authorization_code', code, client_id: client.id, client_secret: secret }, endpoint)),
      UnsupportedGrantType,
      'unsupported_grant_type',
    );
  });

  test('an alias to a grant type the core has no handler for is unsupported', async () => {
    const endpoint = tokenEndpoint({ grantTypes: { custom: 'urn:example:grant-type:no-such-handler' } });
    assertOAuthError(
      await caught(() => run({ grant_type: 'custom', client_id: client.id, client_secret: secret }, endpoint)),
      UnsupportedGrantType,
      'unsupported_grant_type',
    );
  });

  test('RFC 6749 §5.2: a client not registered for the grant type is unauthorized_client', async () => {
    const error = await caught(() =>
      run({ grant_type: 'refresh_token', refresh_token: 'lk_rt_x', client_id: codeOnlyClient.id, client_secret: codeOnlySecret }),
    );
    assertOAuthError(error, UnauthorizedClient, 'unauthorized_client');
  });

  test('RFC 6749 §5.2: unauthorized_client names the wire grant_type the client sent', async () => {
    const endpoint = tokenEndpoint({ grantTypes: { refresh: 'refresh_token' } });
    const error = await caught(() =>
      run({ grant_type: 'refresh', refresh_token: 'lk_rt_x', client_id: codeOnlyClient.id, client_secret: codeOnlySecret }, endpoint),
    );
    assertOAuthError(error, UnauthorizedClient, 'unauthorized_client');
    assert.match((error as UnauthorizedClient).description, /refresh grant/);
  });

  test('RFC 6749 §3.2.1: the client is authenticated before the grant is processed', async () => {
    const code = await issueCode(client, Date.now());
    const error = await caught(() =>
      run({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: 'wrong' }),
    );
    assertOAuthError(error, InvalidClient, 'invalid_client');
    // The code was not consumed by the failed attempt.
    const issued = await run({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: secret });
    assert.match(issued.accessToken, /^lk_at_/);
  });

  test('RFC 6749 §3.2.1: the endpoint\'s client authentication methods are enforced', async () => {
    const endpoint = tokenEndpoint({ clientAuthMethods: ['client_secret_basic'] });
    const code = await issueCode(client, Date.now());
    assertOAuthError(
      await caught(() =>
        run({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, client_id: client.id, client_secret: secret }, endpoint),
      ),
      InvalidClient,
      'invalid_client',
    );
    const basic = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
    const issued = await run({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, endpoint, basic);
    assert.equal(issued.client.id, client.id);
  });

  test('RFC 6749 §4.1.3: a successful exchange through the endpoint issues tokens for the authenticated client', async () => {
    const code = await issueCode(codeOnlyClient, Date.now());
    const issued = await run({
      grant_type: 'authorization_code',
      code,
      redirect_uri: REDIRECT_URI,
      client_id: codeOnlyClient.id,
      client_secret: codeOnlySecret,
    });
    assert.equal(issued.client.id, codeOnlyClient.id);
    assert.equal(issued.expiresIn, settings.accessTokenTtlSeconds);
    assert.equal(issued.refreshToken, undefined, 'a client without the refresh_token grant gets no refresh token');
  });
});

describe('tokenResponseBody', () => {
  const client: Client = {
    id: 'lkc_test',
    name: 'Test',
    redirectUris: [REDIRECT_URI],
    scopes: ['profile', 'read'],
    grantTypes: ['authorization_code', 'refresh_token'],
    isPublic: false,
    isLegacy: false,
    accessTokenTtlSeconds: null,
    refreshTokenTtlSeconds: null,
    partnerId: null,
    createdAt: 0,
    updatedAt: 0,
  };
  const grant: Grant = {
    id: 'grt_test',
    clientId: client.id,
    userId: 'usr_test',
    accountId: 'acc_test',
    scopes: ['profile', 'read'],
    partnerId: null,
    createdAt: 0,
    lastUsedAt: null,
    revokedAt: null,
  };
  const issued: IssuedTokens = {
    accessToken: 'lk_at_access',
    refreshToken: 'lk_rt_refresh',
    expiresIn: 3600,
    scopes: ['profile', 'read'],
    grant,
    client,
  };

  test('RFC 6749 §5.1: the standard shape has access_token, token_type Bearer, numeric expires_in, refresh_token and scope', () => {
    assert.deepEqual(tokenResponseBody(issued, RFC6749_RESPONSE), {
      access_token: 'lk_at_access',
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: 'lk_rt_refresh',
      scope: 'profile read',
    });
  });

  test('RFC 6749 §5.1: no refresh_token member when none was issued', () => {
    const body = tokenResponseBody({ ...issued, refreshToken: undefined }, RFC6749_RESPONSE);
    assert.equal(Object.hasOwn(body, 'refresh_token'), false);
  });

  test('a legacy shape may send expires_in as a string', () => {
    const body = tokenResponseBody(issued, { ...RFC6749_RESPONSE, expiresIn: 'string' });
    assert.equal(body.expires_in, '3600');
    assert.equal(tokenResponseBody(issued, RFC6749_RESPONSE).expires_in, 3600);
  });

  test('token_type and scope can each be left out by the shape', () => {
    const withoutType = tokenResponseBody(issued, { ...RFC6749_RESPONSE, tokenType: false });
    assert.equal(Object.hasOwn(withoutType, 'token_type'), false);
    assert.equal(withoutType.scope, 'profile read');
    const withoutScope = tokenResponseBody(issued, { ...RFC6749_RESPONSE, scope: false });
    assert.equal(Object.hasOwn(withoutScope, 'scope'), false);
    assert.equal(withoutScope.token_type, 'Bearer');
  });

  test('constant fields are added to every response', () => {
    const body = tokenResponseBody(issued, { ...RFC6749_RESPONSE, constants: { version: '3', provider: 'latchkey' } });
    assert.equal(body.version, '3');
    assert.equal(body.provider, 'latchkey');
    assert.equal(body.access_token, 'lk_at_access');
  });

  test('an empty scope list is written as the empty string', () => {
    assert.equal(tokenResponseBody({ ...issued, scopes: [] }, RFC6749_RESPONSE).scope, '');
  });
});

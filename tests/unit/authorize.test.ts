/** The authorization endpoint (RFC 6749 §4.1.1, §4.1.2; RFC 7636; RFC 9207). */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  type AuthorizationRequest,
  AuthorizationRedirectError,
  approveAuthorization,
  consentRequired,
  errorRedirect,
  redirectWith,
  validateAuthorizationRequest,
} from '../../src/core/authorize.js';
import { AccessDenied, InvalidScope, UntrustedAuthorizationRequest } from '../../src/core/errors.js';
import type { Client, Grant } from '../../src/core/model.js';
import { s256 } from '../../src/core/pkce.js';
import { hashCredential } from '../../src/core/secrets.js';
import type { AuthorizeEndpointSettings } from '../../src/core/authorize.js';
import type { ProtocolSettings } from '../../src/core/settings.js';
import { makeClient, makeUser, REDIRECT_URI } from '../support/fixtures.js';
import { authorizeEndpoint, caught, freshAccount, ISSUER, protocolSettings, useSqliteStore } from './core-fixtures.js';

const OTHER_URI = 'https://partner.example/other-callback';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const CHALLENGE = s256(VERIFIER);

function assertUntrusted(error: unknown): asserts error is UntrustedAuthorizationRequest {
  assert.ok(error instanceof UntrustedAuthorizationRequest, `expected UntrustedAuthorizationRequest, got ${String(error)}`);
  assert.ok(!(error instanceof AuthorizationRedirectError));
}

function assertRedirectError(error: unknown, code: string): asserts error is AuthorizationRedirectError {
  assert.ok(error instanceof AuthorizationRedirectError, `expected AuthorizationRedirectError, got ${String(error)}`);
  assert.equal(error.oauthError.error, code, error.oauthError.description);
}

describe('validateAuthorizationRequest (sqlite)', () => {
  const db = useSqliteStore();
  let client: Client;
  let twoUris: Client;
  let publicClient: Client;
  let refreshOnly: Client;
  let noDefaults: Client;

  before(async () => {
    ({ client } = await makeClient(db.store));
    ({ client: twoUris } = await makeClient(db.store, { name: 'Two URIs', redirectUris: [REDIRECT_URI, OTHER_URI] }));
    ({ client: publicClient } = await makeClient(db.store, { name: 'Mobile App', isPublic: true }));
    ({ client: refreshOnly } = await makeClient(db.store, { name: 'Refresh Only', grantTypes: ['refresh_token'] }));
    ({ client: noDefaults } = await makeClient(db.store, { name: 'No Defaults', scopes: ['read', 'write'] }));
  });

  function validate(
    params: Record<string, string>,
    options: {
      repeated?: string[];
      extensionNames?: string[];
      endpoint?: AuthorizeEndpointSettings;
      settings?: ProtocolSettings;
    } = {},
  ) {
    return validateAuthorizationRequest(
      { params, repeated: options.repeated ?? [], extensionNames: options.extensionNames ?? [] },
      { store: db.store, settings: options.settings ?? protocolSettings(), endpoint: options.endpoint ?? authorizeEndpoint() },
    );
  }

  const base = () => ({ response_type: 'code', client_id: client.id, redirect_uri: REDIRECT_URI, state: 'xyz' });

  test('RFC 6749 §4.1.1: a complete request is accepted and recorded', async () => {
    const { request, client: found } = await validate({ ...base(), scope: 'profile read' });
    assert.equal(found.id, client.id);
    assert.equal(request.clientId, client.id);
    assert.equal(request.redirectUri, REDIRECT_URI);
    assert.equal(request.redirectUriExplicit, true);
    assert.deepEqual(request.scopes, ['profile', 'read']);
    assert.equal(request.state, 'xyz');
    assert.equal(request.codeChallenge, undefined);
    assert.equal(request.codeChallengeMethod, undefined);
    assert.deepEqual(request.prompt, []);
    assert.equal(request.channel, 'default');
    assert.deepEqual(request.extensions, {});
  });

  test('RFC 6749 §4.1.2.1: an unknown client is not redirected to', async () => {
    assertUntrusted(await caught(() => validate({ ...base(), client_id: 'lkc_unknown' })));
  });

  test('RFC 6749 §4.1.2.1: a request without client_id is not redirected to', async () => {
    const { client_id: _omitted, ...params } = base();
    assertUntrusted(await caught(() => validate(params)));
    assertUntrusted(await caught(() => validate({ ...params, client_id: '' })));
  });

  test('RFC 6749 §4.1.2.1: an unregistered redirect_uri is not redirected to', async () => {
    for (const uri of ['https://evil.example/callback', `${REDIRECT_URI}/`, `${REDIRECT_URI}?x=1`, '']) {
      assertUntrusted(await caught(() => validate({ ...base(), redirect_uri: uri })));
    }
  });

  test('RFC 6749 §3.1.2.3: without redirect_uri, a client with two registered URIs is refused without redirect', async () => {
    assertUntrusted(await caught(() => validate({ response_type: 'code', client_id: twoUris.id })));
  });

  test('RFC 6749 §3.1.2.3: without redirect_uri, the single registered URI is used and marked implicit', async () => {
    const { request } = await validate({ response_type: 'code', client_id: client.id });
    assert.equal(request.redirectUri, REDIRECT_URI);
    assert.equal(request.redirectUriExplicit, false);
  });

  test('RFC 6749 §3.1.2.3: a client with two URIs may use either when it names it', async () => {
    const { request } = await validate({ response_type: 'code', client_id: twoUris.id, redirect_uri: OTHER_URI });
    assert.equal(request.redirectUri, OTHER_URI);
    assert.equal(request.redirectUriExplicit, true);
  });

  test('RFC 6749 §3.1: a repeated client_id or redirect_uri is not redirected to', async () => {
    assertUntrusted(await caught(() => validate(base(), { repeated: ['client_id'] })));
    assertUntrusted(await caught(() => validate(base(), { repeated: ['redirect_uri'] })));
  });

  test('RFC 6749 §3.1: another repeated parameter is an invalid_request redirect to the validated URI', async () => {
    const error = await caught(() => validate({ ...base(), scope: 'read' }, { repeated: ['scope'] }));
    assertRedirectError(error, 'invalid_request');
    assert.equal(error.redirectUri, REDIRECT_URI);
    assert.equal(error.state, 'xyz');
    assert.match(error.oauthError.description, /scope/);
  });

  test('RFC 6749 §3.1: when state itself is repeated, the error redirect carries no state', async () => {
    const error = await caught(() => validate(base(), { repeated: ['state'] }));
    assertRedirectError(error, 'invalid_request');
    assert.equal(error.state, undefined);
  });

  test('RFC 6749 §4.1.1: a missing response_type is invalid_request where it is required', async () => {
    const { response_type: _omitted, ...params } = base();
    const error = await caught(() => validate(params));
    assertRedirectError(error, 'invalid_request');
    assert.equal(error.state, 'xyz');
  });

  test('a legacy endpoint (responseTypeRequired false) accepts a request without response_type', async () => {
    const { response_type: _omitted, ...params } = base();
    const { request } = await validate(params, { endpoint: authorizeEndpoint({ responseTypeRequired: false }) });
    assert.equal(request.clientId, client.id);
  });

  test('a legacy endpoint still refuses a response_type other than code', async () => {
    const error = await caught(() => validate({ ...base(), response_type: 'token' }, { endpoint: authorizeEndpoint({ responseTypeRequired: false }) }));
    assertRedirectError(error, 'unsupported_response_type');
  });

  test('RFC 6749 §4.1.2.1 / RFC 9700 §2.1.2: response_type=token (implicit) and other types are unsupported_response_type', async () => {
    for (const type of ['token', 'code token', 'id_token', 'CODE', '']) {
      const error = await caught(() => validate({ ...base(), response_type: type }));
      assertRedirectError(error, 'unsupported_response_type');
      assert.equal(error.state, 'xyz');
    }
  });

  test('RFC 6749 §4.1.2.1: a client not registered for the authorization code grant is unauthorized_client', async () => {
    const error = await caught(() => validate({ ...base(), client_id: refreshOnly.id }));
    assertRedirectError(error, 'unauthorized_client');
  });

  test('RFC 6749 §3.3: a scope the client may not use is invalid_scope', async () => {
    const error = await caught(() => validate({ ...base(), scope: 'profile admin' }));
    assertRedirectError(error, 'invalid_scope');
    assert.equal(error.state, 'xyz');
  });

  test('RFC 6749 §3.3: a malformed scope is invalid_scope', async () => {
    assertRedirectError(await caught(() => validate({ ...base(), scope: 'profile "read"' })), 'invalid_scope');
  });

  test('RFC 6749 §3.3: without scope, the registry default scopes the client may use are granted', async () => {
    const { request } = await validate(base());
    assert.deepEqual(request.scopes, ['profile']);
    const { request: empty } = await validate({ ...base(), scope: '' });
    assert.deepEqual(empty.scopes, ['profile']);
  });

  test('RFC 6749 §3.3: without scope and with no default among its scopes, the client gets all its scopes', async () => {
    const { request } = await validate({ ...base(), client_id: noDefaults.id });
    assert.deepEqual(request.scopes, ['read', 'write']);
  });

  test('RFC 6749 §3.3: a requested scope is kept as requested, duplicates collapsed', async () => {
    const { request } = await validate({ ...base(), scope: 'write write read' });
    assert.deepEqual(request.scopes, ['write', 'read']);
  });

  test('RFC 9700 §2.1.1: a public client without code_challenge is invalid_request', async () => {
    const error = await caught(() => validate({ ...base(), client_id: publicClient.id }));
    assertRedirectError(error, 'invalid_request');
    assert.match(error.oauthError.description, /code_challenge/);
  });

  test('RFC 7636 §4.3: a public client with an S256 challenge is accepted and the challenge recorded', async () => {
    const { request } = await validate({
      ...base(),
      client_id: publicClient.id,
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    });
    assert.equal(request.codeChallenge, CHALLENGE);
    assert.equal(request.codeChallengeMethod, 'S256');
  });

  test('RFC 9700 §2.1.1: PKCE for every client when the policy says so', async () => {
    const settings = protocolSettings({ pkce: { requiredFor: 'all', allowPlain: false } });
    assertRedirectError(await caught(() => validate(base(), { settings })), 'invalid_request');
  });

  test('RFC 9700 §2.1.1: the plain method is invalid_request under the default policy', async () => {
    const error = await caught(() => validate({ ...base(), code_challenge: VERIFIER, code_challenge_method: 'plain' }));
    assertRedirectError(error, 'invalid_request');
  });

  test('RFC 7636 §4.3: where plain is allowed, a challenge without a method is recorded as plain', async () => {
    const settings = protocolSettings({ pkce: { requiredFor: 'public', allowPlain: true } });
    const { request } = await validate({ ...base(), code_challenge: VERIFIER }, { settings });
    assert.equal(request.codeChallengeMethod, 'plain');
  });

  test('OIDC Core §3.1.2.1: prompt=none combined with another value is invalid_request', async () => {
    for (const prompt of ['none login', 'consent none']) {
      assertRedirectError(await caught(() => validate({ ...base(), prompt })), 'invalid_request');
    }
  });

  test('OIDC Core §3.1.2.1: an unknown prompt value is invalid_request; known values are recorded', async () => {
    assertRedirectError(await caught(() => validate({ ...base(), prompt: 'always' })), 'invalid_request');
    const { request } = await validate({ ...base(), prompt: 'login  consent' });
    assert.deepEqual(request.prompt, ['login', 'consent']);
  });

  test('RFC 6749 §4.1.2.1: the state is carried in the error', async () => {
    const error = await caught(() => validate({ ...base(), state: 'opaque-ä&=', scope: 'admin' }));
    assertRedirectError(error, 'invalid_scope');
    assert.equal(error.state, 'opaque-ä&=');
  });

  test('extension parameters the endpoint names are carried; others are not', async () => {
    const { request } = await validate(
      { ...base(), partner_portal_id: '42', unrelated: 'x' },
      { extensionNames: ['partner_portal_id', 'absent'] },
    );
    assert.deepEqual(request.extensions, { partner_portal_id: '42' });
  });

  test('the request is bound to the channel of the endpoint', async () => {
    const { request } = await validate(base(), { endpoint: authorizeEndpoint({ channel: 'legacy' }) });
    assert.equal(request.channel, 'legacy');
  });
});

describe('errorRedirect and redirectWith', () => {
  const settings = protocolSettings();

  test('RFC 6749 §4.1.2.1 / RFC 9207 §2: the error redirect has error, error_description, state and iss', () => {
    const url = new URL(errorRedirect(REDIRECT_URI, 'st8', new InvalidScope('Not that scope.'), settings));
    assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
    assert.equal(url.searchParams.get('error'), 'invalid_scope');
    assert.equal(url.searchParams.get('error_description'), 'Not that scope.');
    assert.equal(url.searchParams.get('state'), 'st8');
    assert.equal(url.searchParams.get('iss'), ISSUER);
  });

  test('RFC 6749 §4.1.2.1: without a state in the request there is none in the redirect', () => {
    const url = new URL(errorRedirect(REDIRECT_URI, undefined, new AccessDenied('No.'), settings));
    assert.equal(url.searchParams.has('state'), false);
    assert.equal(url.searchParams.get('error'), 'access_denied');
  });

  test('RFC 6749 §3.1.2: the redirect URI\'s own query is kept', () => {
    const url = new URL(errorRedirect(`${REDIRECT_URI}?tenant=42&lang=en`, 's', new AccessDenied('No.'), settings));
    assert.equal(url.searchParams.get('tenant'), '42');
    assert.equal(url.searchParams.get('lang'), 'en');
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('iss'), ISSUER);
  });

  test('RFC 6749 §3.1.2: redirectWith keeps the query, skips undefined values and encodes the rest', () => {
    const url = new URL(redirectWith(`${REDIRECT_URI}?keep=1`, { code: 'a&b=c d', state: undefined, iss: ISSUER }));
    assert.equal(url.searchParams.get('keep'), '1');
    assert.equal(url.searchParams.get('code'), 'a&b=c d');
    assert.equal(url.searchParams.has('state'), false);
    assert.equal(url.searchParams.get('iss'), ISSUER);
    assert.equal([...url.searchParams.keys()].length, 3);
  });

  test('RFC 8252 §7.1: parameters are added to a private-use scheme redirect URI', () => {
    assert.equal(redirectWith('com.example.app:/callback', { code: 'c1' }), 'com.example.app:/callback?code=c1');
  });
});

describe('approveAuthorization (sqlite)', () => {
  const db = useSqliteStore();
  const settings = protocolSettings();
  let client: Client;
  let userId: string;

  before(async () => {
    ({ client } = await makeClient(db.store));
    ({
      user: { id: userId },
    } = await makeUser(db.store));
  });

  function request(overrides: Partial<AuthorizationRequest> = {}): AuthorizationRequest {
    return {
      clientId: client.id,
      redirectUri: REDIRECT_URI,
      redirectUriExplicit: true,
      scopes: ['profile'],
      state: 'st',
      codeChallenge: CHALLENGE,
      codeChallengeMethod: 'S256',
      prompt: [],
      channel: 'default',
      extensions: {},
      ...overrides,
    };
  }

  test('RFC 6749 §4.1.2 / RFC 9207 §2: the redirect carries code, state and iss; only the hash of the code is stored', async () => {
    const now = Date.now();
    const accountId = await freshAccount(db.store, userId);
    const { code, redirectTo } = await approveAuthorization(request(), { userId, accountId, partnerId: null }, { store: db.store, settings, now });
    assert.match(code, /^lk_ac_[A-Za-z0-9_-]{43}$/);
    const url = new URL(redirectTo);
    assert.equal(url.searchParams.get('code'), code);
    assert.equal(url.searchParams.get('state'), 'st');
    assert.equal(url.searchParams.get('iss'), ISSUER);
    assert.equal(await db.store.findCode(code), undefined);
    const found = await db.store.findCode(hashCredential(code));
    assert.ok(found);
    const { record } = found;
    assert.equal(record.clientId, client.id);
    assert.equal(record.redirectUri, REDIRECT_URI);
    assert.equal(record.codeChallenge, CHALLENGE);
    assert.equal(record.codeChallengeMethod, 'S256');
    assert.equal(record.channel, 'default');
    assert.equal(record.consumedAt, null);
    assert.equal(record.expiresAt, now + settings.codeTtlSeconds * 1000);
  });

  test('RFC 6749 §4.1.3: an omitted redirect_uri is recorded as absent, so the token request need not repeat it', async () => {
    const accountId = await freshAccount(db.store, userId);
    const { code } = await approveAuthorization(
      request({ redirectUriExplicit: false }),
      { userId, accountId, partnerId: null },
      { store: db.store, settings, now: Date.now() },
    );
    assert.equal((await db.store.findCode(hashCredential(code)))?.record.redirectUri, null);
  });

  test('consent is cumulative: a second approval adds its scopes to the live grant', async () => {
    const accountId = await freshAccount(db.store, userId);
    const deps = { store: db.store, settings, now: Date.now() };
    await approveAuthorization(request({ scopes: ['profile'] }), { userId, accountId, partnerId: null }, deps);
    await approveAuthorization(request({ scopes: ['read'] }), { userId, accountId, partnerId: null }, deps);
    const grant = await db.store.findActiveGrant(client.id, userId, accountId);
    assert.deepEqual(grant?.scopes.sort(), ['profile', 'read']);
  });
});

describe('consentRequired', () => {
  const confidential = { isPublic: false } as Client;
  const publicClient = { isPublic: true } as Client;

  function req(scopes: string[], prompt: string[] = []): AuthorizationRequest {
    return {
      clientId: 'lkc_x',
      redirectUri: REDIRECT_URI,
      redirectUriExplicit: true,
      scopes,
      state: undefined,
      codeChallenge: undefined,
      codeChallengeMethod: undefined,
      prompt,
      channel: 'default',
      extensions: {},
    };
  }

  function grant(scopes: string[], revokedAt: number | null = null): Grant {
    return { id: 'grt_x', clientId: 'lkc_x', userId: 'u', accountId: 'a', scopes, partnerId: null, createdAt: 0, lastUsedAt: null, revokedAt };
  }

  test('without an earlier grant the user is asked', () => {
    assert.equal(consentRequired(req(['profile']), confidential, undefined), true);
  });

  test('an earlier grant covering the requested scopes skips the question', () => {
    assert.equal(consentRequired(req(['profile']), confidential, grant(['profile', 'read'])), false);
    assert.equal(consentRequired(req(['profile', 'read']), confidential, grant(['profile', 'read'])), false);
  });

  test('asking for more scopes than granted asks again', () => {
    assert.equal(consentRequired(req(['profile', 'write']), confidential, grant(['profile', 'read'])), true);
  });

  test('a revoked grant does not count as consent', () => {
    assert.equal(consentRequired(req(['profile']), confidential, grant(['profile'], 123)), true);
  });

  test('OIDC Core §3.1.2.1: prompt=consent always asks', () => {
    assert.equal(consentRequired(req(['profile'], ['consent']), confidential, grant(['profile', 'read'])), true);
  });

  test('RFC 6749 §10.2: a public client is always shown to the user, even with a covering grant', () => {
    assert.equal(consentRequired(req(['profile']), publicClient, grant(['profile', 'read'])), true);
  });
});

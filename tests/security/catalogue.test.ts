/**
 * The attack catalogue (issue 8): each case names the RFC section or the CVE
 * class it comes from (redirect_uri matching bypasses as in Keycloak, fosite,
 * Authlib and Doorkeeper advisories; code and refresh-token replay; lockout
 * bypass through another grant; CSRF; clickjacking) and asserts the exact
 * status, error code and headers, and that no redirect happens where none may.
 * Some cases repeat checks of tests/http and tests/presets on purpose: this
 * suite is the one place that proves Latchkey has none of these holes.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { authenticateClient } from '../../src/core/client-auth.js';
import type { Client } from '../../src/core/model.js';
import { s256 } from '../../src/core/pkce.js';
import { CREDENTIAL_PREFIX, hashCredential, hashesEqual } from '../../src/core/secrets.js';
import { registerClient } from '../../src/services/clients.js';
import { ValidationError } from '../../src/services/errors.js';
import {
  Agent,
  CHALLENGE,
  ISSUER,
  PASSWORD,
  REDIRECT_URI,
  VERIFIER,
  authorizeUrl,
  basic,
  csrfFrom,
  follow,
  formAction,
  location,
  runBrowserFlow,
  tokenRequest,
} from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser } from '../support/fixtures.js';
import { useServer } from '../support/server.js';
import { formsOf, postFrom, randomIp, signInForm } from '../support/web.js';

const LOOPBACK_URI = 'http://localhost:8080/cb';

/** redirect_uri bypass forms against the registered https://partner.example/callback (or the loopback one). */
const REDIRECT_BYPASSES: Array<{ name: string; uri: string; loopback?: boolean }> = [
  { name: 'RFC 9700 §4.1.3 / CVE class "prefix match" (Keycloak CVE-2023-6291 style): suffix appended to the path', uri: `${REDIRECT_URI}evil` },
  { name: 'RFC 9700 §4.1.3 / CVE class "prefix match": extra path segment', uri: `${REDIRECT_URI}/evil` },
  { name: 'RFC 9700 §4.1.3 / CVE class "prefix match on host": registered host as a subdomain of the attacker', uri: 'https://partner.example.evil.test/callback' },
  { name: 'RFC 9700 §4.1.3 / CVE class "case-insensitive match": upper-case path', uri: 'https://partner.example/CALLBACK' },
  { name: 'RFC 9700 §4.1.3 / CVE class "case-insensitive match": upper-case scheme and host', uri: 'HTTPS://PARTNER.EXAMPLE/callback' },
  { name: 'RFC 9700 §4.1.3 / CVE class "path traversal": /callback/../evil', uri: `${REDIRECT_URI}/../evil` },
  { name: 'RFC 9700 §4.1.3 / CVE class "encoded path traversal": %2e%2e%2f', uri: `${REDIRECT_URI}/%2e%2e%2fevil` },
  { name: 'RFC 9700 §4.1.3 / CVE class "encoded path traversal": ..%2f and %5c', uri: `${REDIRECT_URI}/..%2f..%5cevil` },
  { name: 'RFC 9700 §4.1.3 / CVE class "userinfo @": registered host as userinfo of the attacker host', uri: 'https://partner.example@evil.test/callback' },
  { name: 'RFC 9700 §4.1.3 / CVE class "userinfo @": attacker userinfo before the registered host', uri: 'https://evil.test@partner.example/callback' },
  { name: 'RFC 8252 §8.3 / CVE class "localhost. look-alike": localhost.evil.test', uri: 'http://localhost.evil.test:8080/cb', loopback: true },
  { name: 'RFC 8252 §8.3 / CVE class "localhost. look-alike": trailing-dot localhost.', uri: 'http://localhost.:8080/cb', loopback: true },
  { name: 'RFC 8252 §8.3 / CVE class "localhost. look-alike": 127.0.0.1 as a subdomain', uri: 'http://127.0.0.1.evil.test:8080/cb', loopback: true },
  { name: 'RFC 9700 §4.1.3: a query component added', uri: `${REDIRECT_URI}?next=https://evil.test` },
  { name: 'RFC 6749 §3.1.2: a fragment added', uri: `${REDIRECT_URI}#evil` },
  { name: 'RFC 9700 §4.1.3: another port', uri: 'https://partner.example:8443/callback' },
  { name: 'RFC 9700 §4.1.3: the default port spelled out (no normalisation)', uri: 'https://partner.example:443/callback' },
  { name: 'RFC 9700 §4.1.3: another port on a loopback URI', uri: 'http://localhost:9999/cb', loopback: true },
  { name: 'RFC 9700 §4.1.3 / RFC 6749 §10.5: another scheme (http for https)', uri: 'http://partner.example/callback' },
  { name: 'RFC 9700 §4.1.3: a trailing dot on the host', uri: 'https://partner.example./callback' },
  { name: 'RFC 9700 §4.1.3: a trailing slash', uri: `${REDIRECT_URI}/` },
  { name: 'RFC 9700 §4.1.3: a backslash (parsers that read it as a slash)', uri: 'https://partner.example\\@evil.test/callback' },
];

const BAD_REGISTRATIONS: Array<{ name: string; uri: string }> = [
  { name: 'RFC 9700 §4.1 / CVE class "javascript: redirect_uri" (XSS)', uri: 'javascript:alert(document.cookie)' },
  { name: 'RFC 9700 §4.1 / CVE class "javascript: redirect_uri", mixed case and comment', uri: 'JavaScript://partner.example/%0aalert(1)' },
  { name: 'RFC 9700 §4.1 / CVE class "data: redirect_uri"', uri: 'data:text/html,<script>alert(1)</script>' },
  { name: 'RFC 6749 §3.1.2: a fragment at registration', uri: 'https://partner.example/cb#frag' },
  { name: 'RFC 9700 §4.1.1 / CVE class "userinfo @" at registration', uri: 'https://user@partner.example/cb' },
  { name: 'RFC 9700 §2.6: plain http to a non-loopback host at registration', uri: 'http://partner.example/cb' },
];

type Response = LightMyRequestResponse;

/** RFC 6749 §4.1.2.1: an invalid redirect_uri is shown to the user, never redirected to. */
function assertNoRedirectErrorPage(response: Response): void {
  assert.equal(response.statusCode, 400, response.body.slice(0, 300));
  assert.equal(response.headers.location, undefined, 'no redirect');
  assert.match(String(response.headers['content-type']), /^text\/html/);
  assert.equal(response.headers['x-frame-options'], 'DENY');
  assert.doesNotMatch(response.body, /lk_ac_/, 'no code in the page');
  assert.doesNotMatch(response.body, /at .*\.ts:\d+/, 'no stack trace');
}

function assertOAuthError(response: Response, status: number, error: string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.equal(response.json().error, error, response.body);
  assert.equal(response.headers['cache-control'], 'no-store');
  assert.match(String(response.headers['content-type']), /^application\/json/);
  assert.equal(response.headers.location, undefined);
}

/** The 256-bit random part of a credential, behind its prefix. */
function entropyBytes(credential: string, prefix: string): number {
  assert.ok(credential.startsWith(prefix), `${credential.slice(0, 8)} has prefix ${prefix}`);
  return Buffer.from(credential.slice(prefix.length), 'base64url').length;
}

for (const dialect of await dialects()) {
  describe(`attack catalogue (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { lockoutIpThreshold: 1000 });
    let loopbackClient: Client;
    let loopbackSecret: string;
    let otherClient: Client;
    let otherSecret: string;
    let legacyClient: Client;
    let legacySecret: string;

    before(async () => {
      ({ client: loopbackClient, secret: loopbackSecret } = await makeClient(server.store, { name: 'Loopback App', redirectUris: [LOOPBACK_URI] }));
      ({ client: otherClient, secret: otherSecret } = await makeClient(server.store, { name: 'Other App' }));
      ({ client: legacyClient, secret: legacySecret } = await makeClient(server.store, {
        name: 'Legacy App',
        isLegacy: true,
        grantTypes: ['authorization_code', 'refresh_token', 'password'],
      }));
    });

    const auth = () => ({ authorization: basic(server.client.id, server.secret) });
    const exchange = (code: string, extra: Record<string, string> = {}, headers: Record<string, string> = auth()) =>
      tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER, ...extra }, headers);
    const refresh = (refreshToken: string, extra: Record<string, string> = {}, headers: Record<string, string> = auth()) =>
      tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: refreshToken, ...extra }, headers);
    const me = async (accessToken: string) =>
      (await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } })).statusCode;
    const params = (overrides: Record<string, string | undefined> = {}) =>
      authorizeUrl({
        response_type: 'code',
        client_id: server.client.id,
        redirect_uri: REDIRECT_URI,
        scope: 'profile',
        state: 's1',
        code_challenge: CHALLENGE,
        code_challenge_method: 'S256',
        ...overrides,
      });
    /** A code obtained with a custom PKCE challenge. */
    const codeWithChallenge = (challenge: string, method = 'S256') =>
      server.code({ pkce: false, extra: { code_challenge: challenge, code_challenge_method: method } });

    // ---- redirect_uri matching -------------------------------------------------------------

    for (const bypass of REDIRECT_BYPASSES) {
      test(`${bypass.name}: error page, no redirect`, async () => {
        const clientId = bypass.loopback ? loopbackClient.id : server.client.id;
        const agent = new Agent(server.app);
        const response = await agent.get(params({ client_id: clientId, redirect_uri: bypass.uri }));
        assertNoRedirectErrorPage(response);
        // Even with a second error present the bad redirect_uri wins (no error redirect to it).
        assertNoRedirectErrorPage(await agent.get(params({ client_id: clientId, redirect_uri: bypass.uri, response_type: 'token' })));
      });
    }

    test('RFC 9700 §4.1.3: the exact registered loopback URI still works (control case for the look-alikes)', async () => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: loopbackClient.id, redirectUri: LOOPBACK_URI });
      assert.equal(`${redirect.origin}${redirect.pathname}`, LOOPBACK_URI);
      assert.ok(redirect.searchParams.get('code'));
      const response = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code: redirect.searchParams.get('code') as string, redirect_uri: LOOPBACK_URI, code_verifier: VERIFIER },
        { authorization: basic(loopbackClient.id, loopbackSecret) },
      );
      assert.equal(response.statusCode, 200, response.body);
    });

    for (const bad of BAD_REGISTRATIONS) {
      test(`${bad.name}: refused at registration`, async () => {
        await assert.rejects(
          registerClient(server.store, { name: 'Evil', redirectUris: [bad.uri], scopes: ['profile'] }, Date.now()),
          (error: unknown) => error instanceof ValidationError && typeof error.fields.redirect_uris === 'string',
        );
        const clients = await server.store.db.selectFrom('clients').select('name').where('name', '=', 'Evil').execute();
        assert.deepEqual(clients, []);
      });
    }

    test('RFC 6749 §4.1.3 / CVE class "redirect_uri not rechecked at the token endpoint": another redirect_uri is invalid_grant', async () => {
      const code = await server.code();
      assertOAuthError(await exchange(code, { redirect_uri: 'https://evil.test/callback' }), 400, 'invalid_grant');
    });

    // ---- NUL bytes (found by the fuzzer: a 500 on PostgreSQL before the fix) ----------------

    test('RFC 3986 §2.1 / CVE class "NUL byte injection": client_id=%00 at /authorize is an error page, never a 500 or a redirect', async () => {
      assertNoRedirectErrorPage(await new Agent(server.app).get(params({ client_id: '\u0000' })));
      assertNoRedirectErrorPage(await new Agent(server.app).get(params({ client_id: `${server.client.id}\u0000` })));
    });

    test('RFC 6749 §5.2 / CVE class "NUL byte injection": a NUL in client_id at the token endpoint is 4xx, never a 500', async () => {
      const viaBasic = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('\u0000', 'secret') });
      assertOAuthError(viaBasic, 401, 'invalid_client');
      const unknown = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic('lkc_doesnotexist', 'secret') });
      assert.equal(viaBasic.body, unknown.body, 'the same answer as any unknown client');
      assertOAuthError(await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x', client_id: 'a\u0000b' }), 400, 'invalid_request');
    });

    test('CVE class "NUL byte injection": a NUL in the sign-in email is a 4xx page, never a 500', async () => {
      const agent = new Agent(server.app);
      const page = await agent.get('/login');
      const response = await postFrom(agent, '/login', { csrf_token: csrfFrom(page.body), email: 'ada@example.com\u0000', password: PASSWORD }, randomIp());
      assert.equal(response.statusCode, 400);
      assert.equal(response.headers.location, undefined);
    });

    // ---- parameter repetition ---------------------------------------------------------------

    test('RFC 6749 §3.1: a repeated redirect_uri at /authorize is an error page, never a redirect', async () => {
      assertNoRedirectErrorPage(await new Agent(server.app).get(`${params()}&redirect_uri=${encodeURIComponent('https://evil.test/cb')}`));
    });

    test('RFC 6749 §3.1: a repeated client_id at /authorize is an error page, never a redirect', async () => {
      assertNoRedirectErrorPage(await new Agent(server.app).get(`${params()}&client_id=${otherClient.id}`));
    });

    test('RFC 6749 §3.1: a repeated scope at /authorize is invalid_request, redirected with state and iss', async () => {
      const response = await new Agent(server.app).get(`${params()}&scope=write`);
      assert.equal(response.statusCode, 303);
      const url = new URL(location(response));
      assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
      assert.equal(url.searchParams.get('error'), 'invalid_request');
      assert.equal(url.searchParams.get('iss'), ISSUER);
      assert.equal(url.searchParams.get('code'), null);
    });

    test('RFC 6749 §3.2: a repeated code at the token endpoint is invalid_request and does not burn the code', async () => {
      const code = await server.code();
      const response = await server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        payload: `${new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER })}&code=lk_ac_other`,
      });
      assertOAuthError(response, 400, 'invalid_request');
      assert.equal((await exchange(code)).statusCode, 200);
    });

    test('RFC 7009 §2.1 / RFC 6749 §3.2: a repeated token at the revocation endpoint is invalid_request', async () => {
      const response = await server.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth() },
        payload: 'token=a&token=b',
      });
      assertOAuthError(response, 400, 'invalid_request');
    });

    // ---- PKCE --------------------------------------------------------------------------------

    test('RFC 9700 §2.1.1 / RFC 7636 §4.4.1: a public client without code_challenge gets invalid_request, no code', async () => {
      const response = await new Agent(server.app).get(params({ client_id: server.publicClient.id, code_challenge: undefined, code_challenge_method: undefined }));
      assert.equal(response.statusCode, 303);
      const url = new URL(location(response));
      assert.equal(url.searchParams.get('error'), 'invalid_request');
      assert.equal(url.searchParams.get('code'), null);
      assert.equal(url.searchParams.get('state'), 's1');
    });

    test('RFC 9700 §2.1.1: code_challenge_method=plain is refused (invalid_request)', async () => {
      const response = await new Agent(server.app).get(params({ code_challenge: VERIFIER, code_challenge_method: 'plain' }));
      assert.equal(response.statusCode, 303);
      const url = new URL(location(response));
      assert.equal(url.searchParams.get('error'), 'invalid_request');
      assert.equal(url.searchParams.get('code'), null);
    });

    test('RFC 7636 §4.3: a challenge without method defaults to plain and is refused too', async () => {
      const response = await new Agent(server.app).get(params({ code_challenge: VERIFIER, code_challenge_method: undefined }));
      assert.equal(new URL(location(response)).searchParams.get('error'), 'invalid_request');
    });

    test('RFC 7636 §4.6: a wrong code_verifier is invalid_grant', async () => {
      const code = await server.code();
      assertOAuthError(await exchange(code, { code_verifier: `${VERIFIER.slice(0, -1)}A` }), 400, 'invalid_grant');
    });

    test('RFC 7636 §4.5: a missing code_verifier is invalid_grant', async () => {
      const code = await server.code();
      assertOAuthError(await tokenRequest(server.app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI }, auth()), 400, 'invalid_grant');
    });

    test('RFC 7636 §4.1: a 42-character verifier is refused even when it matches its challenge', async () => {
      const short = 'a'.repeat(42);
      const code = await codeWithChallenge(s256(short));
      assertOAuthError(await exchange(code, { code_verifier: short }), 400, 'invalid_grant');
    });

    test('RFC 7636 §4.1: a 129-character verifier is refused even when it matches its challenge', async () => {
      const long = 'b'.repeat(129);
      const code = await codeWithChallenge(s256(long));
      assertOAuthError(await exchange(code, { code_verifier: long }), 400, 'invalid_grant');
    });

    test('RFC 7636 §4.1: verifiers of exactly 43 and 128 characters are accepted (boundaries)', async () => {
      for (const verifier of ['c'.repeat(43), 'd'.repeat(128)]) {
        const code = await codeWithChallenge(s256(verifier));
        assert.equal((await exchange(code, { code_verifier: verifier })).statusCode, 200);
      }
    });

    test('RFC 9700 §2.1.1 "PKCE downgrade": a verifier for a code issued without a challenge is invalid_grant', async () => {
      const code = await server.code({ pkce: false });
      assertOAuthError(await exchange(code), 400, 'invalid_grant');
    });

    test('RFC 6749 §10.2, CVE class "public client approved without consent": consent is asked every time, and prompt=none is consent_required', async () => {
      const agent = new Agent(server.app);
      await runBrowserFlow(agent, { clientId: server.publicClient.id, scope: 'profile' });
      const again = await follow(agent, await agent.get(params({ client_id: server.publicClient.id })));
      assert.equal(again.statusCode, 200);
      assert.match(again.body, /value="allow"/, 'the consent page again, not a code');
      const silent = await agent.get(params({ client_id: server.publicClient.id, prompt: 'none' }));
      assert.equal(silent.statusCode, 303);
      const url = new URL(location(silent));
      assert.equal(url.searchParams.get('error'), 'consent_required');
      assert.equal(url.searchParams.get('code'), null);
    });

    // ---- authorization codes ----------------------------------------------------------------

    test('RFC 6749 §4.1.2 / RFC 9700 §4.5: a code reused immediately is invalid_grant and revokes what it issued', async () => {
      const code = await server.code();
      const first = await exchange(code);
      assert.equal(first.statusCode, 200);
      assertOAuthError(await exchange(code), 400, 'invalid_grant');
      assert.equal(await me(first.json().access_token), 401);
      assertOAuthError(await refresh(first.json().refresh_token), 400, 'invalid_grant');
    });

    test('RFC 6749 §4.1.2: a code reused after its tokens were used and refreshed revokes the newest tokens too', async () => {
      const code = await server.code();
      const first = (await exchange(code)).json();
      assert.equal(await me(first.access_token), 200);
      const rotated = await refresh(first.refresh_token);
      assert.equal(rotated.statusCode, 200);
      const newest = rotated.json();
      assert.equal(await me(newest.access_token), 200);
      assertOAuthError(await exchange(code), 400, 'invalid_grant');
      assert.equal(await me(newest.access_token), 401, 'the token used before the replay now fails');
      assertOAuthError(await refresh(newest.refresh_token), 400, 'invalid_grant');
    });

    test('RFC 6749 §4.1.3 / CVE class "code not bound to its client": a code of another client is invalid_grant and stays usable by its owner', async () => {
      const code = await server.code();
      assertOAuthError(await exchange(code, {}, { authorization: basic(otherClient.id, otherSecret) }), 400, 'invalid_grant');
      assert.equal((await exchange(code)).statusCode, 200);
    });

    test('RFC 6749 §4.1.2 ("code MUST expire shortly"): a code older than 60 s is invalid_grant', async () => {
      const code = await server.code();
      server.clock.advance(61_000);
      try {
        assertOAuthError(await exchange(code), 400, 'invalid_grant');
      } finally {
        server.clock.advance(-61_000);
      }
    });

    // ---- refresh tokens -----------------------------------------------------------------------

    test('RFC 9700 §4.14.2: a replayed refresh token revokes the whole grant, newest tokens included', async () => {
      const first = (await exchange(await server.code())).json();
      const second = await refresh(first.refresh_token);
      assert.equal(second.statusCode, 200);
      const third = await refresh(second.json().refresh_token);
      assert.equal(third.statusCode, 200);
      const newest = third.json();
      assertOAuthError(await refresh(first.refresh_token), 400, 'invalid_grant');
      assert.equal(await me(newest.access_token), 401);
      assert.equal(await me(second.json().access_token), 401);
      assertOAuthError(await refresh(newest.refresh_token), 400, 'invalid_grant');
    });

    test('RFC 6749 §6 / CVE class "refresh token not bound to its client": another client gets invalid_grant, the owner keeps it', async () => {
      const tokens = (await exchange(await server.code())).json();
      assertOAuthError(await refresh(tokens.refresh_token, {}, { authorization: basic(otherClient.id, otherSecret) }), 400, 'invalid_grant');
      assertOAuthError(await refresh(tokens.refresh_token, { client_id: server.publicClient.id }, {}), 400, 'invalid_grant');
      assert.equal((await refresh(tokens.refresh_token)).statusCode, 200);
    });

    test('RFC 6749 §6: a refresh asking for a wider scope is invalid_scope and does not rotate the token', async () => {
      const tokens = (await exchange(await server.code({ scope: 'profile' }))).json();
      assertOAuthError(await refresh(tokens.refresh_token, { scope: 'profile read' }), 400, 'invalid_scope');
      assertOAuthError(await refresh(tokens.refresh_token, { scope: 'admin' }), 400, 'invalid_scope');
      const ok = await refresh(tokens.refresh_token);
      assert.equal(ok.statusCode, 200, 'the refused request did not spend the token');
      assert.equal(ok.json().scope, 'profile');
    });

    // ---- client authentication --------------------------------------------------------------

    test('RFC 6749 §5.2 / CVE class "client enumeration": unknown client and wrong secret give identical 401s with WWW-Authenticate', async () => {
      const fields = { grant_type: 'refresh_token', refresh_token: 'lk_rt_nothing' };
      const unknown = await tokenRequest(server.app, fields, { authorization: basic('lkc_doesnotexist', server.secret) });
      const wrong = await tokenRequest(server.app, fields, { authorization: basic(server.client.id, `${server.secret}x`) });
      for (const response of [unknown, wrong]) {
        assertOAuthError(response, 401, 'invalid_client');
        assert.match(String(response.headers['www-authenticate']), /^Basic realm="/);
      }
      assert.equal(unknown.body, wrong.body);
      assert.equal(unknown.headers['www-authenticate'], wrong.headers['www-authenticate']);
    });

    test('RFC 6749 §5.2: unknown client and wrong secret by client_secret_post give identical 401s', async () => {
      const fields = { grant_type: 'refresh_token', refresh_token: 'lk_rt_nothing' };
      const unknown = await tokenRequest(server.app, { ...fields, client_id: 'lkc_doesnotexist', client_secret: server.secret });
      const wrong = await tokenRequest(server.app, { ...fields, client_id: server.client.id, client_secret: 'wrong' });
      assertOAuthError(unknown, 401, 'invalid_client');
      assertOAuthError(wrong, 401, 'invalid_client');
      assert.equal(unknown.body, wrong.body);
    });

    test('RFC 6749 §2.3: two authentication methods at once (Basic and client_secret) are invalid_request', async () => {
      const response = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x', client_id: server.client.id, client_secret: server.secret }, auth());
      assertOAuthError(response, 400, 'invalid_request');
    });

    for (const [label, header] of [
      ['not base64', 'Basic !!!'],
      ['no colon', `Basic ${Buffer.from('no-colon').toString('base64')}`],
      ['empty client id', `Basic ${Buffer.from(':secret').toString('base64')}`],
      ['no credentials at all', 'Basic'],
      ['broken percent-encoding', `Basic ${Buffer.from('%zz:%zz').toString('base64')}`],
    ] as const) {
      test(`RFC 6749 §2.3.1: malformed Basic credentials (${label}) are 401 invalid_client with WWW-Authenticate`, async () => {
        const response = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: header });
        assertOAuthError(response, 401, 'invalid_client');
        assert.match(String(response.headers['www-authenticate']), /^Basic realm="/);
      });
    }

    test('RFC 6749 §2.3.1: a client secret is compared by its hash in constant time; none is stored in clear', async () => {
      // Behaviour: the right secret passes, any other (same length or not) fails the same way.
      const lookups: string[] = [];
      const store: Parameters<typeof authenticateClient>[2] = {
        findClientWithSecrets: async (id: string) => {
          lookups.push(id);
          return id === server.client.id ? { client: server.client, secretHashes: [hashCredential(server.secret)] } : undefined;
        },
      };
      const presented = (secret: string) => ({ method: 'client_secret_basic' as const, clientId: server.client.id, secret });
      assert.equal((await authenticateClient(presented(server.secret), ['client_secret_basic'], store, Date.now())).id, server.client.id);
      for (const secret of [`${server.secret.slice(0, -1)}x`, '', 'x'.repeat(1000)]) {
        await assert.rejects(authenticateClient(presented(secret), ['client_secret_basic'], store, Date.now()), { name: 'InvalidClient' });
      }
      assert.deepEqual(new Set(lookups), new Set([server.client.id]), 'the client is found by its id; the secret is never a lookup key');
      assert.equal(hashesEqual('abc', 'abc'), true);
      assert.equal(hashesEqual('abc', 'abd'), false);
      assert.equal(hashesEqual('abc', 'abcd'), false, 'different lengths never reach timingSafeEqual');
      // Code review, made executable: every comparison of a secret goes through hashesEqual
      // (timingSafeEqual on SHA-256 hashes), and tokens are looked up by their hash.
      const source = (path: string) => readFileSync(new URL(`../../src/${path}`, import.meta.url), 'utf8');
      assert.match(source('core/secrets.ts'), /timingSafeEqual\(left, right\)/);
      assert.match(source('core/client-auth.ts'), /hashesEqual\(hash, presentedHash\)/);
      assert.match(source('core/pkce.ts'), /hashesEqual\(computed, challenge\)/);
      assert.match(source('http/session.ts'), /hashesEqual\(session\.csrfToken, presented\)/);
      for (const path of ['core/client-auth.ts', 'core/pkce.ts', 'http/session.ts', 'core/token-lookup.ts', 'core/grants/refresh-token.ts', 'core/grants/authorization-code.ts']) {
        assert.doesNotMatch(source(path), /(secret|csrfToken|verifier|challenge|tokenHash|codeHash)\s*[!=]==\s*(?!undefined|null|'')\w/i, `${path}: no plain comparison of a secret`);
      }
      const rows = await server.store.db.selectFrom('client_secrets').selectAll().execute();
      assert.ok(!JSON.stringify(rows).includes(server.secret), 'the client secret is not stored in clear');
    });

    test('RFC 6749 §10.10 (credential guessing): codes, tokens and secrets carry at least 256 random bits and are stored only as hashes', async () => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: server.client.id });
      const code = redirect.searchParams.get('code') as string;
      assert.ok(entropyBytes(code, CREDENTIAL_PREFIX.code) >= 32);
      const tokens = (await exchange(code)).json();
      assert.ok(entropyBytes(tokens.access_token, CREDENTIAL_PREFIX.accessToken) >= 32);
      assert.ok(entropyBytes(tokens.refresh_token, CREDENTIAL_PREFIX.refreshToken) >= 32);
      assert.ok(entropyBytes(server.secret, CREDENTIAL_PREFIX.clientSecret) >= 32);
      const dump = JSON.stringify([
        await server.store.db.selectFrom('authorization_codes').selectAll().execute(),
        await server.store.db.selectFrom('access_tokens').selectAll().execute(),
        await server.store.db.selectFrom('refresh_tokens').selectAll().execute(),
      ]);
      for (const value of [code, tokens.access_token, tokens.refresh_token]) {
        assert.ok(!dump.includes(value), 'stored in clear');
        assert.ok(dump.includes(hashCredential(value)), 'stored by hash');
      }
    });

    // ---- pages: CSRF, clickjacking, referrers, 303, sessions -----------------------------------

    test('OWASP CSRF / RFC 6749 §10.12: sign-in without or with a wrong CSRF token is 403 and signs nobody in', async () => {
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params()));
      const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      for (const csrf of [undefined, 'x'.repeat(43), '']) {
        const response = await agent.postForm('/login', { ...(csrf === undefined ? {} : { csrf_token: csrf }), interaction, email: 'ada@example.com', password: PASSWORD });
        assert.equal(response.statusCode, 403);
        assert.equal(response.headers.location, undefined);
      }
      assert.equal(location(await agent.get('/account')), '/login', 'still signed out');
    });

    test('OWASP CSRF: sign-up without the CSRF token is 403 and creates nobody', async () => {
      const agent = new Agent(server.app);
      await agent.get('/signup');
      const response = await agent.postForm('/signup', {
        first_name: 'Eve', last_name: 'Forger', email: 'csrf-signup@example.com', password: 'a long and unusual passphrase', account_name: 'Eve Co',
      });
      assert.equal(response.statusCode, 403);
      assert.equal(response.headers.location, undefined);
      assert.equal(await server.store.findUserByEmail('csrf-signup@example.com'), undefined);
    });

    test('RFC 6749 §10.12: consent without the CSRF token is 403, and a GET with decision=allow never approves', async () => {
      const publicCodes = async () =>
        (await server.store.db.selectFrom('authorization_codes').select('code_hash').where('client_id', '=', server.publicClient.id).execute()).length;
      const codesBefore = await publicCodes();
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params({ client_id: server.publicClient.id })));
      const consent = await follow(agent, await agent.postForm('/login', {
        csrf_token: csrfFrom(page.body), interaction: /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '', email: 'ada@example.com', password: PASSWORD,
      }));
      const action = formAction(consent.body, /\/consent$/);
      const forged = await agent.postForm(action, { decision: 'allow', approve: 'yes' });
      assert.equal(forged.statusCode, 403);
      assert.equal(forged.headers.location, undefined);
      for (const url of [`${action}?decision=allow&approve=yes&csrf_token=${csrfFrom(consent.body)}`, `${action.replace(/\/consent$/, '')}?decision=allow`]) {
        const viaGet = await agent.get(url);
        const target = viaGet.headers.location;
        assert.ok(typeof target !== 'string' || !target.includes('code='), `GET ${url} issued a code`);
      }
      assert.equal(await publicCodes(), codesBefore, 'no code was issued');
    });

    test('RFC 6749 §10.13 / RFC 7034: every page forbids framing and leaks no referrer', async () => {
      const agent = new Agent(server.app);
      const pages: Response[] = [];
      // A public client is always asked for consent (RFC 6749 §10.2), so the consent page is among them.
      const start = await agent.get(params({ client_id: server.publicClient.id }));
      pages.push(start);
      const signIn = await follow(agent, start);
      pages.push(signIn, await new Agent(server.app).get('/signup'), await new Agent(server.app).get('/login'));
      pages.push(await new Agent(server.app).get(params({ redirect_uri: 'https://evil.test/' })));
      const consent = await follow(agent, await agent.postForm('/login', {
        csrf_token: csrfFrom(signIn.body), interaction: /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] ?? '', email: 'ada@example.com', password: PASSWORD,
      }));
      pages.push(consent, await agent.get('/account'), await agent.get('/account/apps'));
      pages.push(await tokenRequest(server.app, { grant_type: 'nope' }, auth()));
      pages.push(await server.app.inject({ url: '/.well-known/oauth-authorization-server' }));
      for (const page of pages) {
        assert.equal(page.headers['x-frame-options'], 'DENY', page.raw.req?.url);
        assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
        assert.equal(page.headers['referrer-policy'], 'no-referrer');
        assert.equal(page.headers['x-content-type-options'], 'nosniff');
      }
      assert.ok(consent.body.includes('value="allow"'), 'the consent page was among them');
    });

    test('RFC 9700 §4.12: every credential POST answers 303 See Other (never 307, which would replay the password)', async () => {
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params({ client_id: server.publicClient.id })));
      const signedIn = await agent.postForm('/login', {
        csrf_token: csrfFrom(page.body), interaction: /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '', email: 'ada@example.com', password: PASSWORD,
      });
      assert.equal(signedIn.statusCode, 303);
      const consent = await follow(agent, signedIn);
      const approved = await agent.postForm(formAction(consent.body, /\/consent$/), { csrf_token: csrfFrom(consent.body), decision: 'allow', approve: 'yes' });
      assert.equal(approved.statusCode, 303);
      assert.match(location(approved), /^https:\/\/partner\.example\/callback\?code=/);
      const signUpAgent = new Agent(server.app);
      const signUpPage = await signUpAgent.get('/signup');
      const signedUp = await signUpAgent.postForm('/signup', {
        csrf_token: csrfFrom(signUpPage.body), first_name: 'New', last_name: 'User', email: `new-${Date.now()}@example.com`, password: 'a long and unusual passphrase', account_name: 'New Co',
      });
      assert.equal(signedUp.statusCode, 303);
      for (const form of formsOf(consent.body)) assert.equal(form.method, 'post');
    });

    test('OWASP session fixation: the session id changes at sign-in and the old one is dead', async () => {
      const agent = new Agent(server.app);
      const submit = await signInForm(agent, randomIp());
      const before = agent.cookies.get('latchkey_session');
      assert.ok(before);
      const response = await submit('ada@example.com', PASSWORD);
      assert.equal(response.statusCode, 303);
      const after = agent.cookies.get('latchkey_session');
      assert.ok(after && after !== before);
      const fixated = new Agent(server.app);
      fixated.cookies.set('latchkey_session', before);
      assert.equal(location(await fixated.get('/account')), '/login');
    });

    // ---- lockout --------------------------------------------------------------------------------

    const passwordGrant = (username: string, password: string, ip = randomIp()) =>
      server.app.inject({
        method: 'POST',
        url: '/oauth/token',
        remoteAddress: ip,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(legacyClient.id, legacySecret) },
        payload: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
      });

    test('CVE class "lockout bypassed through another grant type" (RFC 6749 §10.3): failures on the password grant lock the sign-in page', async () => {
      await makeUser(server.store, 'grant-lock@example.com');
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await passwordGrant('grant-lock@example.com', `wrong ${i}`);
        assertOAuthError(response, 400, 'invalid_grant');
        codes.push(response.statusCode);
      }
      const right = await passwordGrant('grant-lock@example.com', PASSWORD);
      assertOAuthError(right, 400, 'invalid_grant');
      assert.match(right.json().error_description, /Too many failed attempts/);
      const submit = await signInForm(new Agent(server.app), randomIp());
      const page = await submit('grant-lock@example.com', PASSWORD);
      assert.equal(page.statusCode, 429);
      assert.equal(page.headers.location, undefined);
    });

    test('CVE class "lockout bypassed through another grant type": failures on the sign-in page lock the password grant', async () => {
      await makeUser(server.store, 'page-lock@example.com');
      const submit = await signInForm(new Agent(server.app), randomIp());
      const codes: number[] = [];
      for (let i = 0; i < 5; i++) codes.push((await submit('page-lock@example.com', `wrong ${i}`)).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 401, 429]);
      const right = await passwordGrant('page-lock@example.com', PASSWORD);
      assertOAuthError(right, 400, 'invalid_grant');
      assert.match(right.json().error_description, /Too many failed attempts/);
    });

    test('OWASP lockout race: 100 parallel failures on the grant and the page are all counted; only the threshold of five passwords is checked', async () => {
      await makeUser(server.store, 'hundred@example.com');
      const forms = await Promise.all(Array.from({ length: 50 }, () => signInForm(new Agent(server.app), randomIp())));
      const results = await Promise.all([
        ...forms.map(async (submit, i) => {
          const response = await submit('hundred@example.com', `page guess ${i}`);
          return response.statusCode === 401 ? 'checked' : response.statusCode === 429 ? 'locked' : `page ${response.statusCode}`;
        }),
        ...Array.from({ length: 50 }, async (_, i) => {
          const response = await passwordGrant('hundred@example.com', `grant guess ${i}`);
          if (response.statusCode !== 400 || response.json().error !== 'invalid_grant') return `grant ${response.statusCode}`;
          return /Too many failed attempts/.test(response.json().error_description) ? 'locked' : 'checked';
        }),
      ]);
      const tally: Record<string, number> = {};
      for (const result of results) tally[result] = (tally[result] ?? 0) + 1;
      // Five passwords are checked (the threshold). The page shows the fifth, which starts the lockout, as 429
      // (locked) while the grant answers it as a wrong password: 4 or 5 "checked" answers, never more.
      assert.deepEqual(Object.keys(tally).sort(), ['checked', 'locked']);
      assert.ok(tally.checked === 4 || tally.checked === 5, JSON.stringify(tally));
      assert.equal((tally.checked ?? 0) + (tally.locked ?? 0), 100);
      const row = await server.store.db
        .selectFrom('rate_limits')
        .select('count')
        .where('bucket', 'like', 'signin:account:%')
        .orderBy('count', 'desc')
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.count), 100);
      assert.equal((await passwordGrant('hundred@example.com', PASSWORD)).json().error, 'invalid_grant', 'the right password is refused while locked');
    });

    // ---- logs -------------------------------------------------------------------------------------

    test('OWASP Logging Cheat Sheet / RFC 6749 §10.3: no secret, code, token, password or cookie reaches the logs', async () => {
      let logs = '';
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => void (logs += chunk.toString()));
      const app = await buildApp({ config: loadConfig({ issuer: ISSUER, logLevel: 'debug' }, {}), store: server.store, logStream: stream });
      try {
        const agent = new Agent(app);
        const redirect = await runBrowserFlow(agent, { clientId: server.client.id });
        const code = redirect.searchParams.get('code') as string;
        const tokens = (await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, auth())).json();
        const rotated = (await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, auth())).json();
        await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, auth());
        await tokenRequest(app, { grant_type: 'password', username: 'ada@example.com', password: 'grant-password-guess' }, { authorization: basic(legacyClient.id, legacySecret) });
        await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${rotated.access_token}` } });
        await tokenRequest(app, { token: rotated.access_token }, auth(), '/oauth/introspect');
        await tokenRequest(app, { token: rotated.refresh_token }, auth(), '/oauth/revoke');
        await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: 'x' }, { authorization: basic(server.client.id, 'wrong-secret-in-logs') });
        const cookie = [...agent.cookies.values()][0] as string;
        assert.ok(logs.length > 0, 'something was logged');
        for (const secret of [server.secret, legacySecret, code, tokens.access_token, tokens.refresh_token, rotated.access_token, rotated.refresh_token, PASSWORD, 'grant-password-guess', 'wrong-secret-in-logs', VERIFIER, cookie]) {
          assert.ok(!logs.includes(secret), `a credential (${secret.slice(0, 6)}...) was logged`);
        }
      } finally {
        await app.close();
      }
    });
  });
}

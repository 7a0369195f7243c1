/**
 * The goto preset replays seeds/001_7bea80a11e88f3c7.txt ("OAuth migration
 * guide"): the legacy proxy and the v2 proxy side by side, over every dialect.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { Client } from '../../src/core/model.js';
import { Agent, PASSWORD, REDIRECT_URI, basic, location, runBrowserFlow } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

const LEGACY_FIELDS = ['access_token', 'account_key', 'account_type', 'email', 'expires_in', 'firstName', 'lastName', 'organizer_key', 'platform', 'refresh_token', 'version'];
const V2_FIELDS = ['access_token', 'account_key', 'account_type', 'email', 'expires_in', 'firstName', 'lastName', 'organizer_key', 'refresh_token', 'token_type', 'version'];

for (const dialect of await dialects()) {
  describe(`goto preset (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { preset: 'goto' });
    let legacy: { client: Client; secret: string };

    before(async () => {
      legacy = await makeClient(server.store, { name: 'Old Integration', isLegacy: true });
    });

    /** "Opening the URL .../oauth/authorize?client_id={consumerKey} in a web browser was already sufficient". */
    async function legacyCode(clientId = server.client.id) {
      const redirect = await runBrowserFlow(new Agent(server.app), {
        clientId, responseType: null, redirectUri: null, scope: undefined, state: undefined, pkce: false,
      });
      return redirect.searchParams.get('code') as string;
    }

    /** "https://api.getgo.com/oauth/v2/authorize?response_type=code&client_id={consumerKey}&state={state}" */
    async function v2Code(options: { redirectUri?: string | null } = {}) {
      const redirect = await runBrowserFlow(new Agent(server.app), {
        clientId: server.client.id, authorizePath: '/oauth/v2/authorize', redirectUri: options.redirectUri ?? null, scope: undefined, state: 'st', pkce: false,
      });
      assert.equal(redirect.searchParams.get('state'), 'st');
      return redirect.searchParams.get('code') as string;
    }

    const legacyGet = (query: Record<string, string>) => server.app.inject({ method: 'GET', url: `/oauth/access_token?${new URLSearchParams(query)}` });
    const v2Post = (fields: Record<string, string>, authorization = basic(server.client.id, server.secret)) =>
      server.app.inject({
        method: 'POST', url: '/oauth/v2/token',
        headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams(fields).toString(),
      });

    function assertLegacyResponse(response: Awaited<ReturnType<typeof legacyGet>>) {
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), LEGACY_FIELDS);
      assert.equal(typeof body.expires_in, 'string', 'legacy expires_in is a string');
      assert.match(body.expires_in, /^\d+$/);
      assert.equal(body.platform, 'GLOBAL');
      assert.equal(body.version, '2');
      assert.equal(body.email, 'ada@example.com');
      assert.equal(body.firstName, 'Ada');
      assert.equal(body.lastName, 'Lovelace');
      assert.equal(body.account_type, 'company');
      assert.ok(body.organizer_key && body.account_key);
      return body;
    }

    function assertV2Response(response: Awaited<ReturnType<typeof legacyGet>>) {
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json();
      assert.deepEqual(Object.keys(body).sort(), V2_FIELDS);
      assert.equal(body.token_type, 'Bearer');
      assert.equal(body.expires_in, 3600);
      assert.equal(body.version, '3');
      assert.equal(body.platform, undefined, 'the deprecated platform property is no longer there');
      assert.equal(body.email, 'ada@example.com');
      return body;
    }

    test('legacy: authorize with client_id alone, then GET /oauth/access_token with the parameters', async () => {
      const code = await legacyCode();
      // "grant_type=authorization_code&code={responseKey}&client_id={consumerKey}"
      const body = assertLegacyResponse(await legacyGet({ grant_type: 'authorization_code', code, client_id: server.client.id }));
      // "grant_type=refresh_token&refresh_token={refresh_token}&client_id={consumerKey}"
      const refreshed = assertLegacyResponse(await legacyGet({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: server.client.id }));
      assert.notEqual(refreshed.access_token, body.access_token);
    });

    test('legacy: POST with the parameters as POST data, or in the query with a JSON content type', async () => {
      const code = await legacyCode();
      const viaBody = await server.app.inject({
        method: 'POST', url: '/oauth/access_token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'authorization_code', code, client_id: server.client.id }).toString(),
      });
      const body = assertLegacyResponse(viaBody);
      const viaQuery = await server.app.inject({
        method: 'POST', url: `/oauth/access_token?${new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: server.client.id })}`,
        headers: { 'content-type': 'application/json' },
      });
      const refreshed = assertLegacyResponse(viaQuery);
      const viaJson = await server.app.inject({
        method: 'POST', url: '/oauth/access_token', headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ grant_type: 'refresh_token', refresh_token: refreshed.refresh_token, client_id: server.client.id }),
      });
      assertLegacyResponse(viaJson);
    });

    test('legacy direct login: grant_type=password&user_id=...&password=...&client_id=..., only for legacy clients', async () => {
      const query = { grant_type: 'password', user_id: 'ada@example.com', password: PASSWORD, client_id: legacy.client.id };
      assertLegacyResponse(await legacyGet(query));
      const wrong = await legacyGet({ ...query, password: 'wrong password!' });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.json().error, 'invalid_grant');
      const notLegacy = await legacyGet({ ...query, client_id: server.client.id });
      assert.equal(notLegacy.statusCode, 400);
      assert.equal(notLegacy.json().error, 'unauthorized_client');
    });

    test('v2: response_type=code required, POST urlencoded with Basic, the v2 response', async () => {
      const code = await v2Code();
      // -d 'grant_type=authorization_code&code={responseKey}'
      const body = assertV2Response(await v2Post({ grant_type: 'authorization_code', code }));
      // -d 'grant_type=refresh_token&refresh_token={refresh_token}'
      const refreshed = assertV2Response(await v2Post({ grant_type: 'refresh_token', refresh_token: body.refresh_token }));
      const reused = await v2Post({ grant_type: 'refresh_token', refresh_token: body.refresh_token });
      assert.equal(reused.json().error, 'invalid_grant');
      assert.ok(refreshed.access_token);
    });

    test('v2 direct login uses username, and is refused for clients that are not legacy', async () => {
      const fields = { grant_type: 'password', username: 'ada@example.com', password: PASSWORD };
      assertV2Response(await v2Post(fields, basic(legacy.client.id, legacy.secret)));
      const oldName = await v2Post({ grant_type: 'password', user_id: 'ada@example.com', password: PASSWORD }, basic(legacy.client.id, legacy.secret));
      assert.equal(oldName.json().error, 'invalid_request');
      const newClient = await v2Post(fields);
      assert.equal(newClient.statusCode, 400);
      assert.equal(newClient.json().error, 'unauthorized_client');
    });

    test('v2: redirect_uri is required at the token endpoint only when it was given at authorize, and must match', async () => {
      const withUri = await v2Code({ redirectUri: REDIRECT_URI });
      assert.equal((await v2Post({ grant_type: 'authorization_code', code: withUri })).json().error, 'invalid_grant');
      assert.equal((await v2Post({ grant_type: 'authorization_code', code: withUri, redirect_uri: `${REDIRECT_URI}/x` })).json().error, 'invalid_grant');
      assertV2Response(await v2Post({ grant_type: 'authorization_code', code: withUri, redirect_uri: REDIRECT_URI }));
      // "If it hasn't been given in the /authorize call, it will be ignored."
      const withoutUri = await v2Code();
      assertV2Response(await v2Post({ grant_type: 'authorization_code', code: withoutUri, redirect_uri: 'https://ignored.example/' }));
    });

    test('v2 negatives: GET, JSON, credentials outside the Basic header, missing response_type', async () => {
      const get = await server.app.inject({ method: 'GET', url: '/oauth/v2/token?grant_type=refresh_token&refresh_token=x' });
      assert.equal(get.statusCode, 405);
      const json = await server.app.inject({
        method: 'POST', url: '/oauth/v2/token', headers: { authorization: basic(server.client.id, server.secret), 'content-type': 'application/json' },
        payload: '{"grant_type":"refresh_token","refresh_token":"x"}',
      });
      assert.equal(json.statusCode, 415);
      const inBody = await server.app.inject({
        method: 'POST', url: '/oauth/v2/token', headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'x', client_id: server.client.id, client_secret: server.secret }).toString(),
      });
      assert.equal(inBody.statusCode, 401);
      assert.equal(inBody.json().error, 'invalid_client');
      const agent = new Agent(server.app);
      const noType = await agent.get(`/oauth/v2/authorize?client_id=${server.client.id}&state=st`);
      assert.equal(noType.statusCode, 303);
      assert.equal(new URL(location(noType)).searchParams.get('error'), 'invalid_request');
    });

    test('a code works only on the proxy that issued it; a refresh token works on either', async () => {
      const legacyIssued = await legacyCode();
      assert.equal((await v2Post({ grant_type: 'authorization_code', code: legacyIssued })).json().error, 'invalid_grant');
      const v2Issued = await v2Code();
      assert.equal((await legacyGet({ grant_type: 'authorization_code', code: v2Issued, client_id: server.client.id })).json().error, 'invalid_grant');

      // Migrating a connected customer: a legacy refresh token, refreshed on v2, and back.
      const fromLegacy = assertLegacyResponse(await legacyGet({ grant_type: 'authorization_code', code: await legacyCode(), client_id: server.client.id }));
      const onV2 = assertV2Response(await v2Post({ grant_type: 'refresh_token', refresh_token: fromLegacy.refresh_token }));
      assertLegacyResponse(await legacyGet({ grant_type: 'refresh_token', refresh_token: onV2.refresh_token, client_id: server.client.id }));
    });

    test('RFC 6749 §10.10: direct login shares the sign-in lockout; parallel guesses are counted exactly', async () => {
      await makeUser(server.store, 'guessed@example.com');
      const guess = (password: string) => legacyGet({ grant_type: 'password', user_id: 'guessed@example.com', password, client_id: legacy.client.id });
      const checkedFailures = async () => {
        const rows = await server.store.db.selectFrom('audit_events').select('detail').where('type', '=', 'signin.failed').execute();
        return rows.filter((row) => JSON.parse(row.detail).channel === 'password_grant' && JSON.parse(row.detail).reason === 'invalid_credentials').length;
      };
      const before = await checkedFailures();
      const results = await Promise.all(Array.from({ length: 12 }, () => guess('not the password')));
      assert.ok(results.every((result) => result.statusCode === 400 && result.json().error === 'invalid_grant'));
      assert.equal((await checkedFailures()) - before, 5, 'only the first five guesses reached the password check');
      // Now even the right password is refused, through this grant and on the sign-in page.
      const right = await guess(PASSWORD);
      assert.equal(right.json().error, 'invalid_grant');
      assert.match(right.json().error_description, /Too many/);
      const agent = new Agent(server.app);
      const page = await agent.get('/login');
      const signIn = await agent.postForm('/login', { csrf_token: /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] ?? '', email: 'guessed@example.com', password: PASSWORD });
      assert.equal(signIn.statusCode, 429);
    });

    test('legacy: a confidential client that sends a wrong secret is still refused', async () => {
      const code = await legacyCode();
      const response = await legacyGet({ grant_type: 'authorization_code', code, client_id: server.client.id, client_secret: 'wrong' });
      assert.equal(response.statusCode, 401);
      assert.equal(response.json().error, 'invalid_client');
    });
  });
}

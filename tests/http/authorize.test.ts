/** The authorization endpoint, sign-in and consent pages (RFC 6749 §4.1.1-4.1.2, RFC 9207), over every dialect. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
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
import { makeUser } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

for (const dialect of await dialects()) {
  describe(`authorization endpoint and pages (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
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

    /** Asserts an error redirect to the client per RFC 6749 §4.1.2.1 with iss (RFC 9207). */
    function assertErrorRedirect(response: Awaited<ReturnType<Agent['get']>>, error: string, state: string | null = 's1') {
      assert.equal(response.statusCode, 303, response.body);
      const url = new URL(location(response));
      assert.equal(`${url.origin}${url.pathname}`, REDIRECT_URI);
      assert.equal(url.searchParams.get('error'), error);
      assert.ok(url.searchParams.get('error_description'));
      assert.equal(url.searchParams.get('state'), state);
      assert.equal(url.searchParams.get('iss'), ISSUER);
      assert.equal(url.searchParams.get('code'), null);
    }

    /** Asserts an error page and no redirect (RFC 6749 §4.1.2.1, first paragraph). */
    function assertErrorPage(response: Awaited<ReturnType<Agent['get']>>) {
      assert.equal(response.statusCode, 400);
      assert.equal(response.headers.location, undefined);
      assert.match(String(response.headers['content-type']), /^text\/html/);
      assert.doesNotMatch(response.body, /at .*\.ts:\d+/);
    }

    test('unknown client, missing client_id and unregistered redirect_uri show a page and never redirect', async () => {
      const agent = new Agent(server.app);
      assertErrorPage(await agent.get(params({ client_id: 'lkc_unknown' })));
      assertErrorPage(await agent.get(params({ client_id: undefined })));
      for (const uri of [
        `${REDIRECT_URI}/extra`,
        REDIRECT_URI.toUpperCase(),
        `${REDIRECT_URI}?x=1`,
        'https://partner.example.evil.test/callback',
        'https://evil.test/callback',
      ]) {
        assertErrorPage(await agent.get(params({ redirect_uri: uri })));
      }
      // Even with other errors present, a bad redirect_uri wins: no redirect.
      assertErrorPage(await agent.get(params({ redirect_uri: 'https://evil.test/', response_type: 'token' })));
    });

    test('RFC 6749 §4.1.2.1: other errors redirect with error, error_description, state and iss', async () => {
      const agent = new Agent(server.app);
      assertErrorRedirect(await agent.get(params({ response_type: undefined })), 'invalid_request');
      assertErrorRedirect(await agent.get(params({ response_type: 'token' })), 'unsupported_response_type');
      assertErrorRedirect(await agent.get(params({ scope: 'profile admin' })), 'invalid_scope');
      assertErrorRedirect(await agent.get(params({ code_challenge_method: 'plain' })), 'invalid_request');
      assertErrorRedirect(await agent.get(params({ code_challenge: 'short' })), 'invalid_request');
      assertErrorRedirect(await agent.get(params({ client_id: server.publicClient.id, code_challenge: undefined, code_challenge_method: undefined })), 'invalid_request');
      assertErrorRedirect(await agent.get(`${params()}&scope=read`), 'invalid_request');
      assertErrorRedirect(await agent.get(`${params()}&state=again`), 'invalid_request', null);
    });

    test('RFC 6749 §3.1: repeated client_id or redirect_uri is an error page', async () => {
      const agent = new Agent(server.app);
      assertErrorPage(await agent.get(`${params()}&client_id=${server.client.id}`));
      assertErrorPage(await agent.get(`${params()}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`));
    });

    test('the sign-in page has labelled fields, a CSRF token and a hardened session cookie', async () => {
      const agent = new Agent(server.app);
      const start = await agent.get(params());
      assert.equal(start.statusCode, 303);
      assert.match(location(start), /^\/login\?interaction=int_/);
      const cookie = start.cookies.find((c) => c.name === 'latchkey_session');
      assert.ok(cookie, 'a session cookie is set');
      assert.equal(cookie.httpOnly, true);
      assert.equal(String(cookie.sameSite).toLowerCase(), 'lax');
      const page = await follow(agent, start);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<label for="email">Email<\/label>/);
      assert.match(page.body, /<label for="password">Password<\/label>/);
      assert.match(page.body, /<button type="submit">Sign in<\/button>/);
      assert.match(page.body, /Partner App/);
      assert.ok(csrfFrom(page.body).length >= 43);
      assert.equal(page.headers['x-frame-options'], 'DENY');
      assert.match(String(page.headers['content-security-policy']), /frame-ancestors 'none'/);
      assert.equal(page.headers['referrer-policy'], 'no-referrer');
      assert.equal(page.headers['cache-control'], 'no-store');
    });

    test('a wrong password and an unknown email get the same message; the session id changes at sign-in', async () => {
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params()));
      const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const csrf = csrfFrom(page.body);
      const wrong = await agent.postForm('/login', { csrf_token: csrf, interaction, email: 'ada@example.com', password: 'not the password' });
      const unknown = await agent.postForm('/login', { csrf_token: csrf, interaction, email: 'nobody@example.com', password: 'not the password' });
      for (const response of [wrong, unknown]) {
        assert.equal(response.statusCode, 401);
        assert.match(response.body, /Incorrect email or password\./);
      }
      const before = agent.cookies.get('latchkey_session');
      const ok = await agent.postForm('/login', { csrf_token: csrf, interaction, email: 'ADA@example.com', password: PASSWORD });
      assert.equal(ok.statusCode, 303);
      assert.equal(location(ok), `/interaction/${interaction}`);
      const after = agent.cookies.get('latchkey_session');
      assert.ok(after && before && after !== before, 'session id rotated');
      // The old session id no longer works.
      const stale = new Agent(server.app);
      stale.cookies.set('latchkey_session', before as string);
      assert.equal(location(await stale.get('/account')), '/login');
      // The interaction continues under the new session.
      const consent = await follow(agent, ok);
      assert.match(consent.body, /value="allow"/);
    });

    test('CSRF: sign-in and consent forms without the token are refused; a GET never approves', async () => {
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params()));
      const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const noToken = await agent.postForm('/login', { interaction, email: 'ada@example.com', password: PASSWORD });
      assert.equal(noToken.statusCode, 403);
      const badToken = await agent.postForm('/login', { csrf_token: 'x'.repeat(43), interaction, email: 'ada@example.com', password: PASSWORD });
      assert.equal(badToken.statusCode, 403);
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(page.body), interaction, email: 'ada@example.com', password: PASSWORD }));
      const action = formAction(consent.body, /\/consent$/);
      const forged = await agent.postForm(action, { decision: 'allow' });
      assert.equal(forged.statusCode, 403);
      assert.equal(forged.headers.location, undefined);
      const viaGet = await agent.get(`${action}?decision=allow&csrf_token=${csrfFrom(consent.body)}`);
      assert.equal(viaGet.headers.location, undefined);
      assert.notEqual(viaGet.statusCode, 200);
    });

    test('another browser cannot continue someone else\'s interaction', async () => {
      const agent = new Agent(server.app);
      const start = await agent.get(params());
      const other = new Agent(server.app);
      const response = await other.get(location(start).replace('/login?interaction=', '/interaction/'));
      assert.equal(response.statusCode, 400);
      assert.equal(response.headers.location, undefined);
    });

    test('the consent page lists each scope with its description; Deny returns access_denied', async () => {
      const agent = new Agent(server.app);
      const page = await follow(agent, await agent.get(params({ scope: 'profile read', prompt: 'consent' })));
      const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(page.body), interaction, email: 'ada@example.com', password: PASSWORD }));
      assert.match(consent.body, /See your name and email address/);
      assert.match(consent.body, /Read the data of the connected account/);
      assert.match(consent.body, />Allow</);
      assert.match(consent.body, />Deny</);
      assert.match(consent.body, /Ada Co/);
      const denied = await agent.postForm(formAction(consent.body, /\/consent$/), { csrf_token: csrfFrom(consent.body), decision: 'deny' });
      assertErrorRedirect(denied, 'access_denied');
    });

    test('consent is remembered for the same or fewer scopes; more scopes or prompt=consent ask again', async () => {
      const agent = new Agent(server.app);
      await runBrowserFlow(agent, { clientId: server.client.id, scope: 'profile read' });
      const same = await agent.get(params({ scope: 'read' }));
      assert.equal(same.statusCode, 303);
      assert.ok(new URL(location(same)).searchParams.get('code'), 'no page for already-approved scopes');
      const more = await follow(agent, await agent.get(params({ scope: 'profile write' })));
      assert.match(more.body, /value="allow"/);
      const forced = await follow(agent, await agent.get(params({ scope: 'profile', prompt: 'consent' })));
      assert.match(forced.body, /value="allow"/);
      const loginAgain = await agent.get(params({ prompt: 'login' }));
      assert.match(location(loginAgain), /^\/login\?interaction=/);
    });

    test('RFC 6749 §10.2: a public client is always shown the consent page', async () => {
      const agent = new Agent(server.app);
      await runBrowserFlow(agent, { clientId: server.publicClient.id, scope: 'profile' });
      const again = await follow(agent, await agent.get(params({ client_id: server.publicClient.id })));
      assert.match(again.body, /value="allow"/);
    });

    test('prompt=none: login_required without a session, consent_required without consent, a code otherwise', async () => {
      const anonymous = new Agent(server.app);
      assertErrorRedirect(await anonymous.get(params({ prompt: 'none' })), 'login_required');
      const agent = new Agent(server.app);
      await runBrowserFlow(agent, { clientId: server.client.id, scope: 'profile' });
      assertErrorRedirect(await agent.get(params({ prompt: 'none', scope: 'write' })), 'consent_required');
      const silent = await agent.get(params({ prompt: 'none', scope: 'profile' }));
      assert.equal(silent.statusCode, 303);
      const url = new URL(location(silent));
      assert.ok(url.searchParams.get('code'));
      assert.equal(url.searchParams.get('state'), 's1');
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code: url.searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(server.client.id, server.secret) },
      );
      assert.equal(token.statusCode, 200);
    });

    test('a user with several accounts chooses one, and the tokens are bound to it', async () => {
      await makeUser(server.store, 'multi@example.com', [
        { name: 'Pat Participant', kind: 'participant' },
        { name: 'Widgets Inc', kind: 'company' },
      ]);
      const agent = new Agent(server.app);
      const redirect = await runBrowserFlow(agent, { clientId: server.client.id, email: 'multi@example.com', accountName: 'Widgets Inc' });
      const code = redirect.searchParams.get('code') as string;
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(server.client.id, server.secret) },
      );
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token.json().access_token}` } });
      assert.equal(me.json().account.name, 'Widgets Inc');
      assert.equal(me.json().account.kind, 'company');
    });

    test('RFC 6749 §3.1.2.3: redirect_uri may be omitted when one is registered, and then need not be repeated', async () => {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: server.client.id, redirectUri: null });
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
      const code = redirect.searchParams.get('code') as string;
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, code_verifier: VERIFIER },
        { authorization: basic(server.client.id, server.secret) },
      );
      assert.equal(token.statusCode, 200, token.body);
    });

    test('sign out ends the session', async () => {
      const agent = new Agent(server.app);
      await runBrowserFlow(agent, { clientId: server.client.id });
      const home = await agent.get('/account');
      assert.equal(home.statusCode, 200);
      const out = await agent.postForm('/logout', { csrf_token: csrfFrom(home.body) });
      assert.equal(out.statusCode, 303);
      assert.equal(location(await agent.get('/account')), '/login');
    });
  });
}

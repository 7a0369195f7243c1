/**
 * The gocd preset replays seeds/002_913a5cf91eca199e.txt ("OAuth Overview")
 * request by request, over every dialect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Agent, basic, csrfFrom, follow, formAction, location, runBrowserFlow } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { PASSWORD, REDIRECT_URI } from '../support/fixtures.js';
import { useServer } from '../support/server.js';

for (const dialect of await dialects()) {
  describe(`gocd preset (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { preset: 'gocd' });

    /** "https://www.your-go-server.com:8154/oauth/authorize?redirect_uri=...&client_id=...&response_type=code" */
    async function code() {
      const redirect = await runBrowserFlow(new Agent(server.app), { clientId: server.client.id, scope: undefined, state: undefined, pkce: false });
      // "http://www.my_redirect_uri.com?code=26a7dea5..."
      assert.equal(`${redirect.origin}${redirect.pathname}`, REDIRECT_URI);
      return redirect.searchParams.get('code') as string;
    }

    /** curl https://www.your-go-server:8154/go/oauth/token -d "code=...&grant_type=authorization-code&client_id=...&client_secret=...&redirect_uri=..." */
    function token(fields: Record<string, string>, headers: Record<string, string> = {}) {
      return server.app.inject({
        method: 'POST', url: '/go/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        payload: new URLSearchParams(fields).toString(),
      });
    }

    const exchange = (issued: string) =>
      token({ code: issued, grant_type: 'authorization-code', client_id: server.client.id, client_secret: server.secret, redirect_uri: REDIRECT_URI });

    test('the documented flow: check the box and submit, exchange with authorization-code, call a gadget with Token token="..."', async () => {
      const response = await exchange(await code());
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const body = response.json();
      // {:access_token => ..., :expires_in => 3529, :refresh_token => ...} — JSON on the wire.
      assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token']);
      assert.equal(typeof body.expires_in, 'number');
      // curl -H 'Authorization: Token token="..."' https://www.your-go-server.com:8154/go/gadgets
      const gadgets = await server.app.inject({ url: '/go/gadgets', headers: { authorization: `Token token="${body.access_token}"` } });
      assert.equal(gadgets.statusCode, 200, gadgets.body);
      const bearer = await server.app.inject({ url: '/go/gadgets', headers: { authorization: `Bearer ${body.access_token}` } });
      assert.equal(bearer.statusCode, 200);
      const refreshed = await token({ grant_type: 'refresh_token', refresh_token: body.refresh_token, client_id: server.client.id, client_secret: server.secret });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
    });

    test('the standard spelling authorization_code works too', async () => {
      const response = await token({ code: await code(), grant_type: 'authorization_code', client_id: server.client.id, client_secret: server.secret, redirect_uri: REDIRECT_URI });
      assert.equal(response.statusCode, 200, response.body);
    });

    test('the consent form is a check box and a submit button; submitting unchecked does not approve', async () => {
      const agent = new Agent(server.app);
      const start = await agent.get(`/oauth/authorize?redirect_uri=${encodeURIComponent(REDIRECT_URI)}&client_id=${server.client.id}&response_type=code&prompt=consent`);
      const signIn = await follow(agent, start);
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] ?? '';
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'ada@example.com', password: PASSWORD }));
      assert.match(consent.body, /type="checkbox"[^>]*name="approve"|name="approve"[^>]*type="checkbox"/);
      const action = formAction(consent.body, /\/consent$/);
      const unchecked = await agent.postForm(action, { csrf_token: csrfFrom(consent.body), decision: 'allow' });
      assert.equal(unchecked.statusCode, 400);
      assert.equal(unchecked.headers.location, undefined);
      const checked = await agent.postForm(action, { csrf_token: csrfFrom(consent.body), decision: 'allow', approve: 'yes' });
      assert.equal(checked.statusCode, 303);
      assert.ok(new URL(location(checked)).searchParams.get('code'));
    });

    test('client_id, redirect_uri and response_type are all required at /oauth/authorize', async () => {
      const agent = new Agent(server.app);
      const noRedirect = await agent.get(`/oauth/authorize?client_id=${server.client.id}&response_type=code`);
      assert.equal(noRedirect.statusCode, 400);
      assert.equal(noRedirect.headers.location, undefined);
      const noType = await agent.get(`/oauth/authorize?redirect_uri=${encodeURIComponent(REDIRECT_URI)}&client_id=${server.client.id}`);
      assert.equal(new URL(location(noType)).searchParams.get('error'), 'invalid_request');
    });

    test('the negative cases the document implies', async () => {
      const issued = await code();
      const noRedirect = await token({ code: issued, grant_type: 'authorization-code', client_id: server.client.id, client_secret: server.secret });
      assert.equal(noRedirect.statusCode, 400);
      assert.equal(noRedirect.json().error, 'invalid_request');
      const viaBasic = await token({ code: issued, grant_type: 'authorization-code', redirect_uri: REDIRECT_URI }, { authorization: basic(server.client.id, server.secret) });
      assert.equal(viaBasic.statusCode, 401);
      assert.equal(viaBasic.json().error, 'invalid_client');
      const get = await server.app.inject({ method: 'GET', url: `/go/oauth/token?code=${issued}` });
      assert.equal(get.statusCode, 405);
      const json = await server.app.inject({
        method: 'POST', url: '/go/oauth/token', headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ code: issued, grant_type: 'authorization-code', client_id: server.client.id, client_secret: server.secret, redirect_uri: REDIRECT_URI }),
      });
      assert.equal(json.statusCode, 415);
      const mismatch = await token({ code: issued, grant_type: 'authorization-code', client_id: server.client.id, client_secret: server.secret, redirect_uri: 'https://www.my_redirect_uri.com' });
      assert.equal(mismatch.json().error, 'invalid_grant');
      assert.equal((await exchange(issued)).statusCode, 200);
      assert.equal((await exchange(issued)).json().error, 'invalid_grant');
      const noToken = await server.app.inject({ url: '/go/gadgets' });
      assert.equal(noToken.statusCode, 401);
      assert.match(String(noToken.headers['www-authenticate']), /Bearer/);
    });
  });
}

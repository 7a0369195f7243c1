/**
 * The connected-apps page (/account/apps): every connection per account with
 * its scopes and times, and "Disconnect", which revokes the grant and all its
 * tokens at once. Also: sessions expire.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Agent,
  basic,
  REDIRECT_URI,
  VERIFIER,
  csrfFrom,
  follow,
  location,
  runBrowserFlow,
  tokenRequest,
} from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, PASSWORD } from '../support/fixtures.js';
import { useServer } from '../support/server.js';
import { auditEvents, formsOf, signInForm } from '../support/web.js';

for (const dialect of await dialects()) {
  describe(`connected apps (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);

    async function connect(agent: Agent, options: { clientId: string; secret: string; email: string; accountName?: string; scope?: string }) {
      const redirect = await runBrowserFlow(agent, { clientId: options.clientId, email: options.email, accountName: options.accountName, scope: options.scope });
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code: redirect.searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(options.clientId, options.secret) },
      );
      assert.equal(token.statusCode, 200, token.body);
      return token.json() as { access_token: string; refresh_token: string };
    }

    const me = (accessToken: string) => server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${accessToken}` } });

    test('signed out, /account and /account/apps send you to sign in', async () => {
      const agent = new Agent(server.app);
      assert.equal(location(await agent.get('/account')), '/login');
      assert.equal(location(await agent.get('/account/apps')), '/login');
      assert.equal(location(await agent.get('/')), '/account');
    });

    test('lists every connection per account, with scope descriptions, partner, connected and last used', async () => {
      await makeUser(server.store, 'lister@example.com', [
        { name: 'Lister Co', kind: 'company' },
        { name: 'Lister Advice', kind: 'advisor' },
        { name: 'Lister Self', kind: 'participant' },
      ]);
      const partner = await server.store.createPartner({ name: 'Widget Partners', partnerPortalId: `wp-${dialect.name}` }, Date.now());
      const { client: partnered, secret } = await makeClient(server.store, { name: 'Widget Sync' });
      await server.store.updateClient(partnered.id, { partnerId: partner.id }, Date.now());
      const agent = new Agent(server.app);
      await connect(agent, { clientId: server.client.id, secret: server.secret, email: 'lister@example.com', accountName: 'Lister Co', scope: 'profile read' });
      await connect(agent, { clientId: partnered.id, secret, email: 'lister@example.com', accountName: 'Lister Advice', scope: 'write' });

      const page = await agent.get('/account/apps');
      assert.equal(page.statusCode, 200);
      assert.equal(page.headers['cache-control'], 'no-store');
      const body = page.body;
      assert.match(body, /<h1>Connected apps<\/h1>/);
      // One section per account, in order, each with its own apps.
      const sections = body.split('<section').slice(1);
      assert.equal(sections.length, 3);
      assert.match(sections[0] as string, /<h2 id="account-0">Lister Advice <span class="kind">\(advisor\)<\/span><\/h2>/);
      assert.match(sections[0] as string, /<h3>Widget Sync<\/h3>/);
      assert.match(sections[0] as string, /Provided by Widget Partners/);
      assert.match(sections[0] as string, /Create and change data in the connected account <code>write<\/code>/);
      assert.match(sections[1] as string, /Lister Co/);
      assert.match(sections[1] as string, /<h3>Partner App<\/h3>/);
      assert.match(sections[1] as string, /See your name and email address <code>profile<\/code>/);
      assert.match(sections[1] as string, /Read the data of the connected account <code>read<\/code>/);
      assert.match(sections[1] as string, /Connected <time datetime="\d{4}-\d\d-\d\dT[^"]+">\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC<\/time>/);
      assert.match(sections[1] as string, /Last used <time/, 'the code exchange counts as a use');
      assert.match(sections[2] as string, /Lister Self/);
      assert.match(sections[2] as string, /No apps are connected to this account\./);
      // Every form is a POST with a CSRF token; one Disconnect per connection, named for screen readers.
      const forms = formsOf(body);
      assert.ok(forms.every((form) => form.method === 'post' && form.csrf));
      assert.equal(forms.filter((form) => /^\/account\/apps\/grt_[\w-]{16}\/disconnect$/.test(form.action)).length, 2);
      assert.match(body, />Disconnect<span class="visually-hidden"> Widget Sync from Lister Advice<\/span><\/button>/);
      assert.match(body, /<button type="submit" class="link">Sign out<\/button>/);
      // /account shows the same page.
      const account = await agent.get('/account');
      assert.equal(account.statusCode, 200);
      assert.match(account.body, /<h1>Connected apps<\/h1>/);
    });

    test('Disconnect revokes the grant and every token at once, is audited, and the next connect asks for consent again', async () => {
      const { user } = await makeUser(server.store, 'leaver@example.com');
      const agent = new Agent(server.app);
      const tokens = await connect(agent, { clientId: server.client.id, secret: server.secret, email: 'leaver@example.com' });
      const refreshed = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: server.client.id, client_secret: server.secret });
      const second = refreshed.json() as { access_token: string; refresh_token: string };
      assert.equal((await me(tokens.access_token)).statusCode, 200);
      assert.equal((await me(second.access_token)).statusCode, 200);

      const page = await agent.get('/account/apps');
      const action = formsOf(page.body).find((form) => form.action.endsWith('/disconnect'))?.action as string;
      const done = await agent.postForm(action, { csrf_token: csrfFrom(page.body) });
      assert.equal(done.statusCode, 303);
      assert.match(location(done), /^\/account\/apps\?disconnected=grt_/);
      const after = await follow(agent, done);
      assert.match(after.body, /<p class="notice" role="status">Partner App was disconnected\. It can no longer use your account\.<\/p>/);
      assert.match(after.body, /No apps are connected to this account\./);

      for (const token of [tokens.access_token, second.access_token]) {
        const response = await me(token);
        assert.equal(response.statusCode, 401);
        assert.match(String(response.headers['www-authenticate']), /invalid_token/);
      }
      const refresh = await tokenRequest(server.app, { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: server.client.id, client_secret: server.secret });
      assert.equal(refresh.statusCode, 400);
      assert.equal(refresh.json().error, 'invalid_grant');

      const audit = await auditEvents(server.store, 'grant.revoked');
      const mine = audit.filter((event) => event.actor === user.id);
      assert.equal(mine.length, 1);
      assert.equal(mine[0]?.detail.reason, 'user_disconnected');
      assert.equal(mine[0]?.detail.clientId, server.client.id);

      // Consent is no longer remembered: the next connection shows the consent page.
      const again = await follow(agent, await agent.get(`/oauth/authorize?response_type=code&client_id=${server.client.id}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&scope=profile`));
      assert.match(again.body, /value="allow"/);
      // Disconnecting twice is harmless.
      assert.equal((await agent.postForm(action, { csrf_token: csrfFrom(page.body) })).statusCode, 303);
    });

    test('Disconnect needs the CSRF token and only works on your own connections', async () => {
      await makeUser(server.store, 'owner@example.com');
      await makeUser(server.store, 'intruder@example.com');
      const owner = new Agent(server.app);
      const tokens = await connect(owner, { clientId: server.client.id, secret: server.secret, email: 'owner@example.com' });
      const page = await owner.get('/account/apps');
      const action = formsOf(page.body).find((form) => form.action.endsWith('/disconnect'))?.action as string;

      assert.equal((await owner.postForm(action, {})).statusCode, 403);
      assert.equal((await owner.postForm(action, { csrf_token: 'x'.repeat(43) })).statusCode, 403);
      assert.equal((await owner.get(action)).statusCode, 404, 'a GET never disconnects');

      const intruder = new Agent(server.app);
      const submit = await signInForm(intruder);
      assert.equal((await submit('intruder@example.com', PASSWORD)).statusCode, 303);
      const theirs = await intruder.get('/account/apps');
      const response = await intruder.postForm(action, { csrf_token: csrfFrom(theirs.body) });
      assert.equal(response.statusCode, 404);
      assert.match(response.body, /Connection not found/);
      const made = await intruder.postForm('/account/apps/grt_AAAAAAAAAAAAAAAA/disconnect', { csrf_token: csrfFrom(theirs.body) });
      assert.equal(made.statusCode, 404);
      const odd = await intruder.postForm('/account/apps/..%2F..%2Fx/disconnect', { csrf_token: csrfFrom(theirs.body) });
      assert.equal(odd.statusCode, 404);

      assert.equal((await me(tokens.access_token)).statusCode, 200, 'still connected');
    });

    test('sessions expire: after the session lifetime the pages ask to sign in again', async () => {
      const agent = new Agent(server.app);
      const submit = await signInForm(agent);
      assert.equal((await submit('ada@example.com', PASSWORD)).statusCode, 303);
      const page = await agent.get('/account/apps');
      assert.equal(page.statusCode, 200);
      const cookie = agent.cookies.get('latchkey_session');
      assert.ok(cookie);
      server.clock.advance(8 * 3600 * 1000 + 1000);
      assert.equal(location(await agent.get('/account/apps')), '/login');
      // A form from before the expiry is refused.
      const stale = await agent.postForm('/logout', { csrf_token: csrfFrom(page.body) });
      assert.equal(stale.statusCode, 403);
      assert.match(stale.body, /This form has expired/);
    });
  });
}

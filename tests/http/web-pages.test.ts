/**
 * Every page of the end-user flow: anti-clickjacking and referrer headers,
 * CSRF on every form, labels, no script or inline style (so the CSP holds and
 * nothing needs JavaScript), the brand, the account choice, the consent page
 * and the error pages that must not redirect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { Agent, CHALLENGE, REDIRECT_URI, authorizeUrl, csrfFrom, follow, formAction, location, testApp } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, makeUser, PASSWORD } from '../support/fixtures.js';
import { useServer } from '../support/server.js';
import { formsOf, signInForm } from '../support/web.js';

function assertSafePage(response: LightMyRequestResponse, what: string) {
  assert.match(String(response.headers['content-type']), /^text\/html; charset=utf-8/, what);
  const csp = String(response.headers['content-security-policy']);
  assert.match(csp, /frame-ancestors 'none'/, what);
  assert.match(csp, /default-src 'none'/, what);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|script-src/, what);
  assert.equal(response.headers['x-frame-options'], 'DENY', what);
  assert.equal(response.headers['referrer-policy'], 'no-referrer', what);
  assert.equal(response.headers['x-content-type-options'], 'nosniff', what);
  assert.equal(response.headers['cache-control'], 'no-store', what);
  const body = response.body;
  assert.match(body, /^<!doctype html>\n<html lang="en">/, what);
  assert.match(body, /<meta name="viewport" content="width=device-width, initial-scale=1">/, what);
  assert.doesNotMatch(body, /<script|\sstyle="|\son[a-z]+="/i, `${what}: no script, inline style or event handler`);
  assert.equal((body.match(/<h1>/g) ?? []).length, 1, `${what}: one h1`);
  for (const form of formsOf(body)) {
    assert.equal(form.method, 'post', `${what}: ${form.action} is a POST`);
    assert.ok(form.csrf, `${what}: ${form.action} has a CSRF token`);
  }
  for (const match of body.matchAll(/<input id="([^"]+)"[^>]*type="(?!hidden|radio)/g)) {
    assert.match(body, new RegExp(`<label for="${match[1]}">`), `${what}: ${match[1]} has a label`);
  }
  assert.doesNotMatch(body, /\bat .+:\d+:\d+|node_modules|Error:/, `${what}: no stack trace`);
}

for (const dialect of await dialects()) {
  describe(`the pages (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    const start = (agent: Agent, overrides: Record<string, string | undefined> = {}) =>
      agent.get(
        authorizeUrl({
          response_type: 'code',
          client_id: server.client.id,
          redirect_uri: REDIRECT_URI,
          scope: 'profile read',
          state: 'p',
          code_challenge: CHALLENGE,
          code_challenge_method: 'S256',
          ...overrides,
        }),
      );

    test('every page of the flow carries the safety headers, CSRF on every form and labels on every field', async () => {
      await makeUser(server.store, 'tour@example.com', [
        { name: 'Tour Co', kind: 'company' },
        { name: 'Tour Advice', kind: 'advisor' },
      ]);
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent));
      assertSafePage(signIn, 'sign-in');
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      assertSafePage(await agent.get(`/signup?interaction=${interaction}`), 'sign-up');
      const choose = await follow(
        agent,
        await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'tour@example.com', password: PASSWORD }),
      );
      assertSafePage(choose, 'account choice');
      const consent = await follow(
        agent,
        await agent.postForm(formAction(choose.body, /\/account$/), { csrf_token: csrfFrom(choose.body), account_id: /value="(acc_[^"]+)"/.exec(choose.body)?.[1] as string }),
      );
      assertSafePage(consent, 'consent');
      assertSafePage(await agent.get('/account/apps'), 'connected apps');
      assertSafePage(await agent.get('/interaction/int_AAAAAAAAAAAAAAAA'), 'expired interaction');
      assertSafePage(await agent.request({ method: 'GET', url: '/nowhere', headers: { accept: 'text/html' } }), 'not found');
      const css = await agent.get('/assets/latchkey.css');
      assert.equal(css.statusCode, 200);
      assert.match(String(css.headers['content-type']), /^text\/css/);
      assert.ok(css.body.length < 20_000, 'one small stylesheet (for every page, the admin console included)');
      assert.match(css.body, /:focus-visible/);
      assert.match(css.body, /@media \(max-width: 480px\)/);
    });

    test('the account choice: the question, one radio per account labelled with name and kind, Continue; the choice is checked', async () => {
      const { accounts } = await makeUser(server.store, 'three@example.com', [
        { name: 'Pat Participant', kind: 'participant' },
        { name: 'Widgets Inc', kind: 'company' },
        { name: 'Pat Advisory', kind: 'advisor' },
      ]);
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent));
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      const page = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'three@example.com', password: PASSWORD }));
      assert.match(page.body, /<h1>Which account do you want to connect\?<\/h1>/);
      assert.match(page.body, /<legend>Your accounts<\/legend>/);
      const radios = [...page.body.matchAll(/<input type="radio" id="(account-\d)" name="account_id" value="(acc_[^"]+)"( checked)?>\s*<label for="\1">([^<]+) <span class="kind">\(([^)]+)\)<\/span><\/label>/g)];
      assert.deepEqual(
        radios.map((match) => [match[4], match[5]]),
        [
          ['Pat Advisory', 'advisor'],
          ['Pat Participant', 'participant'],
          ['Widgets Inc', 'company'],
        ],
      );
      assert.deepEqual(radios.map((match) => Boolean(match[3])), [true, false, false], 'the first is preselected');
      assert.match(page.body, /<button type="submit">Continue<\/button>/);

      const action = formAction(page.body, /\/account$/);
      // Not one of the user's accounts: asked again, nothing chosen.
      const other = (await server.store.listAccountsOfUser((await server.store.findUserByEmail('ada@example.com'))?.id as string))[0];
      for (const bogus of [other?.id as string, 'acc_nope', '']) {
        const refused = await agent.postForm(action, { csrf_token: csrfFrom(page.body), account_id: bogus });
        assert.equal(refused.statusCode, 400);
        assert.match(refused.body, /role="alert">Choose one of your accounts\./);
      }
      assert.equal((await agent.postForm(action, { account_id: accounts[1]?.id as string })).statusCode, 403, 'CSRF');
      const chosen = accounts.find((account) => account.name === 'Widgets Inc');
      const consent = await follow(agent, await agent.postForm(action, { csrf_token: csrfFrom(page.body), account_id: chosen?.id as string }));
      assert.match(consent.body, /Allow Partner App to access Widgets Inc\?/);
    });

    test('a user with one account skips the choice; prompt=select_account asks anyway', async () => {
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent));
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'ada@example.com', password: PASSWORD }));
      assert.doesNotMatch(consent.body, /Which account/);
      assert.match(consent.body, /value="allow"/);
      const asked = await follow(agent, await start(agent, { prompt: 'select_account' }));
      assert.match(asked.body, /Which account do you want to connect\?/);
    });

    test('the consent page names the app, its partner, the account, each scope with its description, where you return, Allow and Deny', async () => {
      const partner = await server.store.createPartner({ name: 'Acme Partners', partnerPortalId: `acme-${dialect.name}` }, Date.now());
      const { client } = await makeClient(server.store, { name: 'Acme Reports' });
      await server.store.updateClient(client.id, { partnerId: partner.id }, Date.now());
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent, { client_id: client.id, scope: 'profile write' }));
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      assert.match(signIn.body, /to continue to <strong>Acme Reports<\/strong>/);
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'ada@example.com', password: PASSWORD }));
      const body = consent.body;
      assert.match(body, /<h1>Allow Acme Reports to access Ada Co\?<\/h1>/);
      assert.match(body, /<dt>Provided by<\/dt><dd>Acme Partners<\/dd>/);
      assert.match(body, /<dt>Account<\/dt><dd>Ada Co <span class="kind">\(company\)<\/span><\/dd>/);
      assert.match(body, /<dt>Signed in as<\/dt><dd>ada@example\.com<\/dd>/);
      assert.match(body, /<dt>Returns you to<\/dt><dd>partner\.example<\/dd>/);
      assert.match(body, /<li>See your name and email address <code>profile<\/code><\/li>/);
      assert.match(body, /<li>Create and change data in the connected account <code>write<\/code><\/li>/);
      assert.doesNotMatch(body, /<code>read<\/code>/, 'only the requested scopes');
      assert.match(body, /<button type="submit" name="decision" value="allow">Allow<\/button>\s*<button type="submit" name="decision" value="deny" class="secondary">Deny<\/button>/);
      // A client without a partner shows none.
      const plain = await follow(agent, await start(agent, { prompt: 'consent' }));
      assert.doesNotMatch(plain.body, /Provided by/);
    });

    test('names from the database are escaped on every page', async () => {
      const { client } = await makeClient(server.store, { name: '<img src=x onerror=alert(1)>' });
      await makeUser(server.store, 'xss@example.com', [{ name: '"><script>alert(2)</script>', kind: 'company' }]);
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent, { client_id: client.id, scope: 'profile' }));
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      const consent = await follow(agent, await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'xss@example.com', password: PASSWORD }));
      for (const body of [signIn.body, consent.body]) {
        assert.doesNotMatch(body, /<img src=x|<script>/);
      }
      assert.match(consent.body, /&lt;img src=x onerror=alert\(1\)&gt;/);
      assert.match(consent.body, /&quot;&gt;&lt;script&gt;alert\(2\)&lt;\/script&gt;/);
    });

    test('failures that must not redirect are human pages with the right status', async () => {
      const agent = new Agent(server.app);
      const cases: Array<[string, number, RegExp]> = [
        [authorizeUrl({ response_type: 'code', client_id: 'lkc_unknown', redirect_uri: REDIRECT_URI }), 400, /The application that sent you here is not registered\./],
        [authorizeUrl({ response_type: 'code', client_id: server.client.id, redirect_uri: 'https://evil.example/cb' }), 400, /The redirect_uri is not registered for this application\./],
        [authorizeUrl({ response_type: 'code' }), 400, /The request has no client_id\./],
        ['/interaction/int_AAAAAAAAAAAAAAAA', 400, /This sign-in link has expired/],
      ];
      for (const [url, status, message] of cases) {
        const response = await agent.get(url);
        assert.equal(response.statusCode, status, url);
        assert.equal(response.headers.location, undefined, `${url} does not redirect`);
        assert.match(response.body, message);
        assertSafePage(response, url);
      }
    });

    test('an interaction that outlived its time shows the expired page, not a redirect', async () => {
      const agent = new Agent(server.app);
      const signIn = await follow(agent, await start(agent));
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      server.clock.advance(16 * 60 * 1000);
      const signedIn = await agent.postForm('/login', { csrf_token: csrfFrom(signIn.body), interaction, email: 'ada@example.com', password: PASSWORD });
      const expired = await follow(agent, signedIn);
      assert.equal(expired.statusCode, 400);
      assert.match(expired.body, /<h1>This sign-in link has expired<\/h1>/);
      assert.match(expired.body, /Go back to the application and start again\./);
    });

    test('signed in without a flow, /login goes to your account; Sign out returns to sign-in', async () => {
      const agent = new Agent(server.app);
      const submit = await signInForm(agent);
      await submit('ada@example.com', PASSWORD);
      assert.equal(location(await agent.get('/login')), '/account');
      const apps = await agent.get('/account');
      const out = await agent.postForm('/logout', { csrf_token: csrfFrom(apps.body) });
      assert.equal(location(out), '/login');
      assert.equal((await agent.get('/login')).statusCode, 200);
    });
  });
}

describe('the brand is configurable and the CSP allows its logo', () => {
  test('name and logo from settings appear on every page; the logo origin is allowed in img-src', async () => {
    const [sqlite] = await dialects();
    const database = await (sqlite as NonNullable<typeof sqlite>).create();
    try {
      const store = await database.open();
      const app = await testApp(store, { config: { brandName: 'Acme Cloud', brandLogoUrl: 'https://cdn.acme.example/brand/logo.svg' } });
      const agent = new Agent(app);
      for (const url of ['/login', '/signup', '/interaction/int_AAAAAAAAAAAAAAAA']) {
        const page = await agent.get(url);
        assert.match(page.body, /<title>[^<]+ · Acme Cloud<\/title>/, url);
        assert.match(page.body, /<img class="logo" src="https:\/\/cdn\.acme\.example\/brand\/logo\.svg" alt="" width="32" height="32"><span class="brand-name">Acme Cloud<\/span>/, url);
        assert.match(String(page.headers['content-security-policy']), /img-src 'self' https:\/\/cdn\.acme\.example;/, url);
      }
      await app.close();

      const local = await testApp(store, { config: { brandLogoUrl: '/assets/logo.png' } });
      const page = await new Agent(local).get('/login');
      assert.match(page.body, /<title>Sign in · Latchkey<\/title>/);
      assert.match(page.body, /src="\/assets\/logo\.png"/);
      assert.match(String(page.headers['content-security-policy']), /img-src 'self';/);
      await local.close();

      const plain = await testApp(store);
      const plainPage = await new Agent(plain).get('/login');
      assert.match(plainPage.body, /<span class="mark" aria-hidden="true">L<\/span><span class="brand-name">Latchkey<\/span>/);
      await plain.close();
    } finally {
      await database.drop();
    }
  });
});

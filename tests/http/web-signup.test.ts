/**
 * Sign-up inside the authorization flow (Go1): the new user and account,
 * the rotated session, the flow continuing to consent, partner linking by
 * partner_portal_id, and every way the form can be wrong.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Agent,
  basic,
  CHALLENGE,
  REDIRECT_URI,
  VERIFIER,
  authorizeUrl,
  csrfFrom,
  follow,
  formAction,
  location,
  tokenRequest,
} from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { useServer } from '../support/server.js';
import { auditEvents, postFrom, randomIp } from '../support/web.js';

const STRONG = 'a long and unusual passphrase';

function fields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    first_name: 'Grace',
    last_name: 'Hopper',
    email: `grace.${Math.random().toString(36).slice(2, 8)}@example.com`,
    password: STRONG,
    account_name: 'Compilers Ltd',
    ...overrides,
  };
}

for (const dialect of await dialects()) {
  describe(`sign-up (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);

    async function startFlow(agent: Agent, extra: Record<string, string> = {}) {
      const start = await agent.get(
        authorizeUrl({
          response_type: 'code',
          client_id: server.client.id,
          redirect_uri: REDIRECT_URI,
          scope: 'profile read',
          state: 'su',
          code_challenge: CHALLENGE,
          code_challenge_method: 'S256',
          ...extra,
        }),
      );
      const signIn = await follow(agent, start);
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      return { signIn, interaction };
    }

    test('the sign-in page links to sign-up for this interaction; the sign-up page links back', async () => {
      const agent = new Agent(server.app);
      const { signIn, interaction } = await startFlow(agent);
      assert.match(signIn.body, new RegExp(`<a href="/signup\\?interaction=${interaction}">Create account</a>`));
      const page = await agent.get(`/signup?interaction=${interaction}`);
      assert.equal(page.statusCode, 200);
      assert.match(page.body, /<h1>Create your account<\/h1>/);
      assert.match(page.body, /to continue to <strong>Partner App<\/strong>/);
      for (const [id, label] of [
        ['first_name', 'First name'],
        ['last_name', 'Last name'],
        ['email', 'Email'],
        ['password', 'Password'],
        ['account_name', 'Account name'],
      ]) {
        assert.match(page.body, new RegExp(`<label for="${id}">${label}</label>`));
        assert.match(page.body, new RegExp(`<input id="${id}" name="${id}"`));
      }
      assert.match(page.body, /autocomplete="new-password" required minlength="10"/);
      assert.match(page.body, new RegExp(`<a href="/login\\?interaction=${interaction}">Sign in</a>`));
      assert.equal(formAction(page.body, /^\/signup$/), '/signup');
    });

    test('a new user signs up in the flow, is signed in with a new session id, consents, and the token is theirs', async () => {
      const agent = new Agent(server.app);
      const { interaction } = await startFlow(agent);
      const page = await agent.get(`/signup?interaction=${interaction}`);
      const before = agent.cookies.get('latchkey_session');
      const form = fields({ email: 'grace@example.com' });
      const created = await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), interaction, ...form });
      assert.equal(created.statusCode, 303, created.body.slice(0, 300));
      assert.equal(location(created), `/interaction/${interaction}`);
      assert.notEqual(agent.cookies.get('latchkey_session'), before, 'the session id changed at sign-up');

      const consent = await follow(agent, created);
      assert.match(consent.body, /Allow Partner App to access Compilers Ltd\?/);
      assert.match(consent.body, /Compilers Ltd <span class="kind">\(portal\)<\/span>/);
      assert.match(consent.body, /grace@example\.com/);
      const approved = await agent.postForm(formAction(consent.body, /\/consent$/), { csrf_token: csrfFrom(consent.body), decision: 'allow' });
      const redirect = new URL(location(approved));
      assert.equal(redirect.searchParams.get('state'), 'su');
      const token = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code: redirect.searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(server.client.id, server.secret) },
      );
      assert.equal(token.statusCode, 200, token.body);
      const me = await server.app.inject({ url: '/api/me', headers: { authorization: `Bearer ${token.json().access_token}` } });
      assert.equal(me.json().user.email, 'grace@example.com');
      assert.equal(me.json().user.first_name, 'Grace');
      assert.equal(me.json().user.last_name, 'Hopper');
      assert.equal(me.json().account.name, 'Compilers Ltd');
      assert.equal(me.json().account.kind, 'portal');

      const user = await server.store.findUserByEmail('grace@example.com');
      assert.ok(user);
      assert.notEqual(user.passwordHash, STRONG);
      assert.match(user.passwordHash, /^\$argon2id\$/);
      const audit = await auditEvents(server.store, 'user.created', user.id);
      assert.equal(audit[0]?.detail.via, 'signup');
      assert.ok(!JSON.stringify(audit).includes(STRONG));
    });

    test('sign-up without an interaction lands on the connected apps page', async () => {
      const agent = new Agent(server.app);
      const page = await agent.get('/signup');
      assert.match(page.body, /<a href="\/login">Sign in<\/a>/);
      const created = await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), ...fields() });
      assert.equal(location(created), '/account/apps');
      const apps = await follow(agent, created);
      assert.equal(apps.statusCode, 200);
      assert.match(apps.body, /<h1>Connected apps<\/h1>/);
      assert.match(apps.body, /Compilers Ltd/);
      assert.match(apps.body, /No apps are connected to this account\./);
    });

    test('a weak password, a bad email and empty names are explained per field; nothing is created; values are kept but not the password', async () => {
      const agent = new Agent(server.app);
      const page = await agent.get('/signup');
      const cases: Array<[Record<string, string>, string, RegExp]> = [
        [{ password: 'short' }, 'password', /Use at least 10 characters\./],
        [{ password: 'aaaaaaaaaaaaaaaa' }, 'password', /Use a less repetitive password\./],
        [{ password: 'grace hopper rocks', first_name: 'Grace' }, 'password', /Do not use your name or email in your password\./],
        [{ email: 'not-an-email' }, 'email', /Enter an email address like name@example\.com\./],
        [{ first_name: '  ' }, 'first_name', /Enter your first name\./],
        [{ last_name: '' }, 'last_name', /Enter your last name\./],
        [{ account_name: '' }, 'account_name', /Enter a name for your new account\./],
        [{ account_name: 'x'.repeat(101) }, 'account_name', /Use at most 100 characters\./],
      ];
      const users = await server.store.countUsers();
      for (const [override, field, message] of cases) {
        const response = await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), ...fields(override) });
        assert.equal(response.statusCode, 400, field);
        assert.match(response.body, message);
        assert.match(response.body, /role="alert">Please correct the fields marked below\./);
        assert.match(response.body, new RegExp(`<input id="${field}" name="${field}"[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*${field}-error`));
        assert.match(response.body, new RegExp(`<input id="${field}"[^>]* autofocus>`), 'focus goes to the first field to fix');
        if (field !== 'password') assert.doesNotMatch(response.body, new RegExp(STRONG));
        assert.match(response.body, /value="Hopper"|id="last_name-error"/);
      }
      assert.equal(await server.store.countUsers(), users);
    });

    test('an email that is already registered is refused with a way to sign in', async () => {
      const agent = new Agent(server.app);
      const page = await agent.get('/signup');
      const response = await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), ...fields({ email: 'ADA@example.com' }) });
      assert.equal(response.statusCode, 409);
      assert.match(response.body, /An account with this email already exists\. Sign in instead\./);
      assert.equal((await server.store.listAccountsOfUser((await server.store.findUserByEmail('ada@example.com'))?.id as string)).length, 1);
    });

    test('two sign-ups with one email at once: one user, the other is told', async () => {
      const email = 'twice@example.com';
      const submissions = await Promise.all(
        [0, 1].map(async () => {
          const agent = new Agent(server.app);
          const page = await agent.get('/signup');
          return agent.postForm('/signup', { csrf_token: csrfFrom(page.body), ...fields({ email }) });
        }),
      );
      assert.deepEqual(submissions.map((response) => response.statusCode).sort(), [303, 409]);
      const count = await server.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).where('email', '=', email).executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
    });

    test('without the CSRF token, or with a stale one, nothing is created', async () => {
      const agent = new Agent(server.app);
      await agent.get('/signup');
      const users = await server.store.countUsers();
      assert.equal((await agent.postForm('/signup', fields())).statusCode, 403);
      assert.equal((await agent.postForm('/signup', { csrf_token: 'x'.repeat(43), ...fields() })).statusCode, 403);
      assert.equal((await new Agent(server.app).postForm('/signup', { csrf_token: 'x'.repeat(43), ...fields() })).statusCode, 403);
      assert.equal(await server.store.countUsers(), users);
    });

    test('sign-ups from one address are limited', async () => {
      const ip = randomIp();
      const agent = new Agent(server.app);
      const page = await agent.get('/signup');
      const codes: number[] = [];
      for (let i = 0; i < 21; i++) {
        codes.push((await postFrom(agent, '/signup', { csrf_token: csrfFrom(page.body), ...fields({ email: 'ada@example.com' }) }, ip)).statusCode);
      }
      assert.deepEqual(codes, [...Array(20).fill(409), 429]);
      const other = await postFrom(agent, '/signup', { csrf_token: csrfFrom(page.body), ...fields({ email: 'ada@example.com' }) }, randomIp());
      assert.equal(other.statusCode, 409);
    });
  });

  describe(`sign-up with partner_portal_id, Go1 preset (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { preset: 'go1' });

    test('the new account is linked to the partner the authorization request named', async () => {
      const partner = await server.store.createPartner({ name: 'Acme Learning', partnerPortalId: 'acme-portal-7' }, Date.now());
      const agent = new Agent(server.app);
      const start = await agent.get(
        authorizeUrl({
          response_type: 'code',
          client_id: server.client.id,
          redirect_uri: REDIRECT_URI,
          scope: 'profile',
          state: 'go1',
          partner_portal_id: 'acme-portal-7',
        }),
      );
      const signIn = await follow(agent, start);
      const interaction = /name="interaction" value="([^"]+)"/.exec(signIn.body)?.[1] as string;
      assert.ok(interaction, signIn.body.slice(0, 300));
      const page = await agent.get(`/signup?interaction=${interaction}`);
      const created = await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), interaction, ...fields({ email: 'portal@example.com', account_name: 'Portal One' }) });
      assert.equal(location(created), `/interaction/${interaction}`);
      const user = await server.store.findUserByEmail('portal@example.com');
      const [account] = await server.store.listAccountsOfUser(user?.id as string);
      assert.equal(account?.name, 'Portal One');
      assert.equal(account?.partnerId, partner.id, 'linked at sign-up, before consent');
    });

    test('without partner_portal_id the account belongs to no partner', async () => {
      const agent = new Agent(server.app);
      const page = await agent.get('/signup');
      await agent.postForm('/signup', { csrf_token: csrfFrom(page.body), ...fields({ email: 'solo@example.com' }) });
      const user = await server.store.findUserByEmail('solo@example.com');
      const [account] = await server.store.listAccountsOfUser(user?.id as string);
      assert.equal(account?.partnerId, null);
    });
  });
}

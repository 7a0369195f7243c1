/** The resource guard (RFC 6750; RFC 9068 §4), on /api/me and on routes of the test's own, over every dialect. */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerHookHandler } from 'fastify';
import { defaultPreset } from '../../src/config/presets/default.js';
import type { ResourcePolicy } from '../../src/core/bearer.js';
import { hashCredential } from '../../src/core/secrets.js';
import { VerificationKeys } from '../../src/core/signing-keys.js';
import { createResourceGuard, type Principal, principalOf, type ResourceGuardOptions } from '../../src/http/resource-guard.js';
import { registerUser } from '../../src/services/users.js';
import type { Store } from '../../src/store/types.js';
import { ISSUER, REDIRECT_URI, VERIFIER, basic, tokenRequest } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeClient, PASSWORD } from '../support/fixtures.js';
import { type TestServer, useServer } from '../support/server.js';

const BARE = 'Bearer realm="latchkey"';

/** A store that fails the test if anything touches it. */
const NO_DATABASE = new Proxy({} as Store, {
  get: (_target, name) => () => {
    throw new Error(`the database was used: ${String(name)}`);
  },
});

for (const dialect of await dialects()) {
  describe(`resource guard (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect);
    let jwtClient: { id: string; secret: string };
    let machineClient: { id: string; secret: string };

    /** A guard like the app's, with another policy or store. */
    function guardWith(app: FastifyInstance, overrides: Partial<ResourceGuardOptions> = {}) {
      return createResourceGuard(app, {
        store: server.store,
        keys: new VerificationKeys(server.store, { now: () => server.clock.now() }),
        policy: defaultPreset.resource,
        issuer: ISSUER,
        audience: ISSUER,
        clock: server.clock,
        ...overrides,
      });
    }

    before(async () => {
      const jwt = await makeClient(server.store, { name: 'JWT App', accessTokenFormat: 'jwt' });
      jwtClient = { id: jwt.client.id, secret: jwt.secret };
      const machine = await makeClient(server.store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      machineClient = { id: machine.client.id, secret: machine.secret };

      const app = server.app;
      const guard = guardWith(app);
      const echo = async (request: Parameters<typeof principalOf>[0]) => principalOf(request);
      app.get('/test/read', { preHandler: guard({ scopes: ['read'] }) }, echo);
      app.get('/test/write', { preHandler: guard({ scopes: ['write'] }) }, echo);
      app.get('/test/read-write', { preHandler: guard({ scopes: ['read', 'write'] }) }, echo);
      app.post('/test/read', { preHandler: guard({ scopes: ['read'] }) }, echo);
      app.get('/test/open', async (request) => ({ principal: request.principal }));
      app.get('/test/online', { preHandler: guard({ online: true }) }, echo);
      const offline = guardWith(app, { store: NO_DATABASE });
      app.get('/test/no-database', { preHandler: offline({ scopes: ['read'] }) }, echo);
      const lenient: ResourcePolicy = { schemes: ['bearer'], formBodyToken: true, queryToken: true };
      const lenientGuard = guardWith(app, { policy: lenient });
      app.get('/test/lenient', { preHandler: lenientGuard() }, echo);
      app.post('/test/lenient', { preHandler: lenientGuard() }, echo);
      const gocd = guardWith(app, { policy: { schemes: ['token'], formBodyToken: false, queryToken: false } });
      app.get('/test/token-scheme', { preHandler: gocd() }, echo);
      const both = guardWith(app, { policy: { schemes: ['token', 'bearer'], formBodyToken: false, queryToken: false } });
      app.get('/test/both-schemes', { preHandler: both() }, echo);
    });

    async function userTokens(server: TestServer, options: { clientId?: string; secret?: string; scope?: string } = {}) {
      const clientId = options.clientId ?? server.client.id;
      const code = await server.code({ clientId, scope: options.scope ?? 'profile read' });
      const response = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(clientId, options.secret ?? server.secret) },
      );
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { access_token: string; refresh_token: string };
    }

    const get = (url: string, headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url, headers });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    test('RFC 6750 §3: without any token, 401 with a bare challenge (no error code)', async () => {
      const variants: Array<Record<string, string>> = [{}, { authorization: 'Basic YTpi' }, { authorization: 'Digest username="a"' }];
      for (const headers of variants) {
        const response = await get('/api/me', headers);
        assert.equal(response.statusCode, 401);
        assert.equal(response.headers['www-authenticate'], BARE);
        assert.equal(response.headers['cache-control'], 'no-store');
        assert.equal(typeof response.json().error, 'string');
      }
    });

    test('RFC 6750 §3.1: an unknown, expired or revoked token is 401 invalid_token with the challenge', async () => {
      const unknown = await get('/api/me', bearer('lk_at_unknown'));
      assert.equal(unknown.statusCode, 401);
      assert.match(String(unknown.headers['www-authenticate']), /^Bearer realm="latchkey", error="invalid_token", error_description="[^"]+"$/);
      assert.equal(unknown.json().error, 'invalid_token');

      const { access_token: token } = await userTokens(server);
      assert.equal((await get('/api/me', bearer(token))).statusCode, 200);
      server.clock.advance(3600_000);
      try {
        const expired = await get('/api/me', bearer(token));
        assert.equal(expired.statusCode, 401);
        assert.equal(expired.json().error, 'invalid_token');
      } finally {
        server.clock.advance(-3600_000);
      }
      await server.store.revokeAccessToken(hashCredential(token), server.clock.now());
      assert.equal((await get('/api/me', bearer(token))).statusCode, 401);
    });

    test('RFC 6750 §3.1: a malformed Authorization header is 400 invalid_request', async () => {
      for (const authorization of ['Bearer', 'Bearer a b', 'Bearer "abc"', 'Bearer a,b']) {
        const response = await get('/api/me', { authorization });
        assert.equal(response.statusCode, 400, authorization);
        assert.equal(response.json().error, 'invalid_request');
        assert.match(String(response.headers['www-authenticate']), /^Bearer realm="latchkey", error="invalid_request"/);
      }
    });

    test('RFC 6750 §2.2, §2.3: the default preset refuses the form-body and query forms, even with a live token', async () => {
      const { access_token: token } = await userTokens(server);
      const query = await get(`/api/me?access_token=${encodeURIComponent(token)}`);
      assert.equal(query.statusCode, 400);
      assert.equal(query.json().error, 'invalid_request');
      const form = await server.app.inject({
        method: 'POST',
        url: '/test/read',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ access_token: token }).toString(),
      });
      assert.equal(form.statusCode, 400);
      assert.equal(form.json().error, 'invalid_request');
    });

    test('a preset that allows them accepts the form-body (POST) and query forms, one method at a time', async () => {
      const { access_token: token } = await userTokens(server);
      const query = await get(`/test/lenient?access_token=${encodeURIComponent(token)}`);
      assert.equal(query.statusCode, 200, query.body);
      // RFC 6750 §2.3: "Server success (2XX status) responses to these requests SHOULD contain a Cache-Control header with the "private" option."
      assert.equal(query.headers['cache-control'], 'private');
      const form = await server.app.inject({
        method: 'POST',
        url: '/test/lenient',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ access_token: token }).toString(),
      });
      assert.equal(form.statusCode, 200, form.body);
      // §2: "Clients MUST NOT use more than one method to transmit the token in each request."
      const twice = await get(`/test/lenient?access_token=${encodeURIComponent(token)}`, bearer(token));
      assert.equal(twice.statusCode, 400);
      assert.equal(twice.json().error, 'invalid_request');
      const repeated = await get(`/test/lenient?access_token=${encodeURIComponent(token)}&access_token=x`);
      assert.equal(repeated.statusCode, 400);
    });

    test("GoCD's Token scheme: accepted where the preset lists it, and the challenge names it", async () => {
      const { access_token: token } = await userTokens(server);
      const ok = await get('/test/token-scheme', { authorization: `Token token="${token}"` });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().clientId, server.client.id);
      // Bearer is not a scheme this policy accepts: no token at all.
      const bearerOnly = await get('/test/token-scheme', bearer(token));
      assert.equal(bearerOnly.statusCode, 401);
      assert.equal(bearerOnly.headers['www-authenticate'], 'Token realm="latchkey"');
      const unknown = await get('/test/token-scheme', { authorization: 'Token token="lk_at_nope"' });
      assert.match(String(unknown.headers['www-authenticate']), /^Token realm="latchkey", error="invalid_token"/);
      // Both schemes: both work, and a request without a token hears of both.
      assert.equal((await get('/test/both-schemes', bearer(token))).statusCode, 200);
      assert.equal((await get('/test/both-schemes', { authorization: `Token token=${token}` })).statusCode, 200);
      const none = await get('/test/both-schemes');
      assert.deepEqual(none.headers['www-authenticate'], ['Token realm="latchkey"', BARE]);
      // The default preset does not accept the Token scheme.
      assert.equal((await get('/api/me', { authorization: `Token token="${token}"` })).headers['www-authenticate'], BARE);
    });

    test('RFC 6750 §3.1: a route needing a scope the token lacks is 403 insufficient_scope naming the scope', async () => {
      const { access_token: token } = await userTokens(server, { scope: 'profile read' });
      const read = await get('/test/read', bearer(token));
      assert.equal(read.statusCode, 200, read.body);
      const write = await get('/test/write', bearer(token));
      assert.equal(write.statusCode, 403);
      assert.equal(write.json().error, 'insufficient_scope');
      assert.match(String(write.headers['www-authenticate']), /^Bearer realm="latchkey", error="insufficient_scope", error_description="[^"]+", scope="write"$/);
      const both = await get('/test/read-write', bearer(token));
      assert.match(String(both.headers['www-authenticate']), /scope="read write"$/);
    });

    test('the request carries the user, account, client and scopes; unguarded routes carry none', async () => {
      const { access_token: token } = await userTokens(server);
      const account = (await server.store.listAccountsOfUser((await server.store.findUserByEmail('ada@example.com'))!.id))[0];
      const principal = (await get('/test/read', bearer(token))).json();
      assert.match(principal.userId, /^usr_/);
      assert.equal(principal.accountId, account?.id);
      assert.equal(principal.clientId, server.client.id);
      assert.deepEqual(principal.scopes, ['profile', 'read']);
      assert.equal(principal.format, 'opaque');
      assert.equal(principal.user, undefined, 'objects are loaded only for routes that ask');
      const me = (await get('/api/me', bearer(token))).json();
      assert.equal(me.user.id, principal.userId);
      assert.equal(me.account.id, principal.accountId);
      assert.deepEqual((await get('/test/open', bearer(token))).json(), { principal: null });
    });

    test('a client credentials token: /api/me answers with the machine identity, no user or account', async () => {
      const issued = await tokenRequest(server.app, { grant_type: 'client_credentials' }, { authorization: basic(machineClient.id, machineClient.secret) });
      assert.equal(issued.statusCode, 200, issued.body);
      const me = await get('/api/me', bearer(issued.json().access_token));
      assert.equal(me.statusCode, 200, me.body);
      assert.deepEqual(me.json(), { user: null, account: null, client_id: machineClient.id, scope: 'read' });
      const principal = (await get('/test/read', bearer(issued.json().access_token))).json();
      assert.equal(principal.userId, null);
      assert.equal(principal.accountId, null);
    });

    test('RFC 9068: a JWT access token is validated with no database access at all', async () => {
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      assert.equal(jwt.split('.').length, 3);
      // The no-database guard loads its keys from its own key set (warmed here), never from the store.
      const response = await get('/test/no-database', bearer(jwt));
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.json().format, 'jwt');
      assert.equal(response.json().clientId, jwtClient.id);
      assert.deepEqual(response.json().scopes, ['profile', 'read']);
      // The store really is unusable: an opaque token, which needs its lookup, fails there.
      const { access_token: opaque } = await userTokens(server);
      assert.equal((await get('/test/no-database', bearer(opaque))).statusCode, 500);
    });

    test('a revoked JWT: refused by the online check, still accepted offline until it expires (the trade-off)', async () => {
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      assert.equal((await get('/test/online', bearer(jwt))).statusCode, 200);
      const revoked = await server.app.inject({
        method: 'POST',
        url: '/oauth/revoke',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(jwtClient.id, jwtClient.secret) },
        payload: new URLSearchParams({ token: jwt }).toString(),
      });
      assert.equal(revoked.statusCode, 200);
      const online = await get('/test/online', bearer(jwt));
      assert.equal(online.statusCode, 401);
      assert.equal(online.json().error, 'invalid_token');
      assert.equal((await get('/test/no-database', bearer(jwt))).statusCode, 200);
    });

    test('/api/me: names that JSON must escape are answered as given, first and again from the kept parties', async () => {
      const email = 'escape@example.com';
      await registerUser(
        server.store,
        { email, password: PASSWORD, firstName: 'Ada "the\\Countess"', lastName: 'Lovelace \u00e9\u2713\u{1F600}\u0007', accounts: [{ name: 'Ada </script> & "Co"', kind: 'company' }] },
        Date.now(),
      );
      const code = await server.code({ clientId: jwtClient.id, email, scope: 'profile read' });
      const issued = await tokenRequest(
        server.app,
        { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(jwtClient.id, jwtClient.secret) },
      );
      assert.equal(issued.statusCode, 200, issued.body);
      const token = issued.json().access_token as string;
      const bodies: string[] = [];
      for (let i = 0; i < 2; i++) {
        const me = await get('/api/me', bearer(token));
        assert.equal(me.statusCode, 200, me.body);
        assert.equal(me.headers['content-type'], 'application/json; charset=utf-8');
        assert.equal(me.headers['cache-control'], 'no-store');
        bodies.push(me.body);
      }
      assert.equal(bodies[1], bodies[0]);
      const me = JSON.parse(bodies[0] as string);
      assert.deepEqual(Object.keys(me), ['user', 'account', 'client_id', 'scope']);
      assert.deepEqual(me.user, { id: me.user.id, email, first_name: 'Ada "the\\Countess"', last_name: 'Lovelace \u00e9\u2713\u{1F600}\u0007' });
      assert.deepEqual(me.account, { id: me.account.id, name: 'Ada </script> & "Co"', kind: 'company' });
      assert.equal(me.client_id, jwtClient.id);
      assert.equal(me.scope, 'profile read');
    });

    /**
     * Runs a guard's hook as Fastify does, on a request of its own: how it ended
     * (admitted, or refused with a status), and whether that was decided before
     * the hook returned.
     */
    function runHook(hook: preHandlerHookHandler, token: string) {
      const request = { headers: { authorization: `Bearer ${token}` }, method: 'GET', url: '/x', body: undefined, principal: null, log: { info() {} } };
      let decided = false;
      const outcome = new Promise<number>((resolve, reject) => {
        const reply = {
          header: () => reply,
          type: () => reply,
          code(status: number) {
            decided = true;
            resolve(status);
            return reply;
          },
          send: () => reply,
        };
        hook.call(server.app, request as unknown as FastifyRequest, reply as unknown as FastifyReply, (error?: Error) => {
          decided = true;
          if (error) reject(error);
          else resolve(200);
        });
      });
      return { request, decidedAtOnce: decided, outcome };
    }

    test('the usual check, a JWT verified before with its parties cached, is decided before the hook returns', async () => {
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      const hook = guardWith(server.app)({ load: true });
      const first = runHook(hook, jwt);
      assert.equal(first.decidedAtOnce, false, 'the first check verifies the signature and loads the parties');
      assert.equal(await first.outcome, 200);
      const again = runHook(hook, jwt);
      assert.equal(again.decidedAtOnce, true);
      assert.equal(await again.outcome, 200);
      assert.deepEqual(again.request.principal, first.request.principal);
      assert.equal((again.request.principal as unknown as Principal).user?.email, 'ada@example.com');

      const { access_token: opaque } = await userTokens(server);
      runHook(hook, opaque);
      const lookedUp = runHook(hook, opaque);
      assert.equal(lookedUp.decidedAtOnce, false, 'an opaque token is looked up every time');
      assert.equal(await lookedUp.outcome, 200);
    });

    test('a JWT verified before is refused once its key is dropped, on that usual path too', async () => {
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      let dropped = false;
      const source = { listSigningKeys: async () => (dropped ? [] : server.store.listSigningKeys()) };
      const hook = guardWith(server.app, { keys: new VerificationKeys(source, { now: () => server.clock.now(), refreshMs: 0 }) })({ load: true });
      assert.equal(await runHook(hook, jwt).outcome, 200);
      assert.equal(runHook(hook, jwt).decidedAtOnce, true);
      dropped = true;
      // The key set held in memory is refreshed in the background, here at every use: a
      // refresh that was already running read the key, the next one finds it gone.
      const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
      await runHook(hook, jwt).outcome;
      await settle();
      await runHook(hook, jwt).outcome;
      await settle();
      const refused = runHook(hook, jwt);
      assert.equal(await refused.outcome, 401);
    });

    test('a token whose client, user or account is gone is 401 invalid_token on each path that loads them, never an error', async () => {
      // The store as it is, but for the parties, found gone (rows are tombstoned, not deleted: only a damaged database does this).
      const partiesGone = new Proxy(server.store, {
        get(target, name) {
          if (name === 'cachedParties') return () => undefined;
          if (name === 'findParties') return async () => ({ client: undefined, user: undefined, account: undefined });
          const value = Reflect.get(target, name);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const hook = guardWith(server.app, { store: partiesGone })({ load: true });
      const { access_token: opaque } = await userTokens(server);
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      assert.equal(await runHook(hook, opaque).outcome, 401, 'an opaque token, looked up');
      assert.equal(await runHook(hook, jwt).outcome, 401, 'a JWT, verified');
      assert.equal(await runHook(hook, jwt).outcome, 401, 'the same JWT, verified before');
      assert.equal(await runHook(guardWith(server.app)({ load: true }), jwt).outcome, 200, 'with its parties, the same JWT is admitted');
    });

    test('a JWT that is tampered with or expired is invalid_token', async () => {
      const { access_token: jwt } = await userTokens(server, { clientId: jwtClient.id, secret: jwtClient.secret });
      const [header, payload, signature] = jwt.split('.') as [string, string, string];
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
      const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'profile read write' })).toString('base64url')}.${signature}`;
      assert.equal((await get('/test/read', bearer(forged))).statusCode, 401);
      server.clock.advance(3601_000);
      try {
        const expired = await get('/test/read', bearer(jwt));
        assert.equal(expired.statusCode, 401);
        assert.equal(expired.json().error, 'invalid_token');
      } finally {
        server.clock.advance(-3601_000);
      }
    });
  });
}

/**
 * Bad input gets a clear 4xx, never a 500 or a stack trace, and nothing
 * half-written stays in the database. Logs never carry credentials.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { Agent, ISSUER, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, tokenRequest } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { PASSWORD, makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const TABLES = ['users', 'accounts', 'clients', 'grants', 'authorization_codes', 'access_tokens', 'refresh_tokens', 'audit_events'] as const;

for (const dialect of await dialects()) {
  describe(`bad input and logs (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let app: FastifyInstance;
    let clientId: string;
    let secret: string;
    let logs = '';

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
      await makeUser(store);
      ({ client: { id: clientId }, secret } = await makeClient(store));
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => void (logs += chunk.toString()));
      app = await buildApp({ config: loadConfig({ issuer: ISSUER, logLevel: 'debug' }, {}), store, logStream: stream });
    });
    after(async () => {
      await app?.close();
      await database?.drop();
    });

    async function counts(): Promise<Record<string, number>> {
      const result: Record<string, number> = {};
      for (const table of TABLES) {
        const row = await store.db.selectFrom(table).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
        result[table] = Number(row.n);
      }
      return result;
    }

    const malformed: Array<{ name: string; method: 'GET' | 'POST' | 'PUT' | 'DELETE'; url: string; headers?: Record<string, string>; payload?: string | Buffer }> = [
      { name: 'form with broken percent-encoding', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=%zz&code=%%%' },
      { name: 'form that is not a form', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '\u0000\u0001\u0002=&&&=' },
      { name: 'invalid UTF-8 bytes', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: Buffer.from([0x67, 0x72, 0x61, 0x6e, 0x74, 0x3d, 0xff, 0xfe]) },
      { name: 'broken JSON', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":' },
      { name: 'multipart on the default preset', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x\r\n\r\n--x--' },
      { name: 'charset parameter on the form type', method: 'POST', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, payload: 'grant_type=nope' },
      { name: 'PUT on the token endpoint', method: 'PUT', url: '/oauth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'a=b' },
      { name: 'authorize with array-style and NUL parameters', method: 'GET', url: `/oauth/authorize?client_id[]=x&redirect_uri=%00&response_type=code` },
      { name: 'authorize with a huge state', method: 'GET', url: `/oauth/authorize?client_id=${'x'.repeat(4000)}` },
      { name: 'login without a session', method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'email=a&password=b' },
      { name: 'login with JSON', method: 'POST', url: '/login', headers: { 'content-type': 'application/json' }, payload: '{"email":"ada@example.com"}' },
      { name: 'consent of a made-up interaction', method: 'POST', url: '/interaction/int_AAAAAAAAAAAAAAAA/consent', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'decision=allow' },
      { name: 'interaction id with odd characters', method: 'GET', url: '/interaction/..%2F..%2Fetc' },
      { name: 'bearer with garbage', method: 'GET', url: '/api/me', headers: { authorization: 'Bearer \u00ff\u00fe' } },
      { name: 'unknown route', method: 'DELETE', url: '/nowhere' },
    ];

    for (const request of malformed) {
      test(`${request.name}: a 4xx with a clear error, no stack trace, nothing written`, async () => {
        const before = await counts();
        const response = await app.inject(request);
        assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${response.statusCode}: ${response.body.slice(0, 200)}`);
        assert.doesNotMatch(response.body, /\bat .+:\d+:\d+|node_modules|Error:/);
        if (String(response.headers['content-type']).startsWith('application/json')) {
          assert.equal(typeof response.json().error, 'string');
        }
        const afterCounts = await counts();
        // A failed sign-in is audited; nothing else may change.
        afterCounts.audit_events = before.audit_events as number;
        assert.deepEqual(afterCounts, { ...before });
      });
    }

    test('a failed token request writes nothing', async () => {
      const before = await counts();
      const responses = await Promise.all([
        tokenRequest(app, { grant_type: 'authorization_code', code: 'lk_ac_bogus', redirect_uri: REDIRECT_URI }, { authorization: basic(clientId, secret) }),
        tokenRequest(app, { grant_type: 'refresh_token', refresh_token: 'lk_rt_bogus' }, { authorization: basic(clientId, 'wrong') }),
        tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(clientId, secret) }),
      ]);
      assert.deepEqual(responses.map((response) => response.statusCode), [400, 401, 400]);
      assert.deepEqual(await counts(), before);
    });

    test('a full flow leaves no secret, code, token, password or cookie in the logs', async () => {
      const agent = new Agent(app);
      const redirect = await runBrowserFlow(agent, { clientId });
      const code = redirect.searchParams.get('code') as string;
      // Send the code in a query string too, where a careless logger would print it.
      await app.inject({ method: 'GET', url: `/demo/callback?code=${code}&state=x` });
      const tokens = (
        await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { authorization: basic(clientId, secret) })
      ).json();
      await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: clientId, client_secret: secret });
      await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.ok(logs.includes('"reqId"'), 'the logs were captured');
      const session = [...agent.cookies.values()][0] as string;
      for (const [what, value] of Object.entries({ secret, code, access: tokens.access_token, refresh: tokens.refresh_token, password: PASSWORD, session, verifier: VERIFIER })) {
        assert.ok(value && !logs.includes(value), `${what} leaked into the logs`);
      }
    });
  });
}

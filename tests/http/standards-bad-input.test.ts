/**
 * The standards' endpoints and the resource guard: bad input gets a clear 4xx,
 * never a 500, and changes nothing; the logs carry no token or secret.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { Agent, ISSUER, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, tokenRequest } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const TABLES = ['grants', 'access_tokens', 'refresh_tokens', 'signing_keys'] as const;

for (const dialect of await dialects()) {
  describe(`standards: bad input and logs (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let app: FastifyInstance;
    let auth: { authorization: string };
    let machine: { authorization: string };
    let jwtClient: { id: string; secret: string };
    let logs = '';

    before(async () => {
      database = await dialect.create();
      store = await database.open();
      await seedScopes(store);
      await makeUser(store);
      const web = await makeClient(store, { name: 'Web' });
      auth = { authorization: basic(web.client.id, web.secret) };
      const made = await makeClient(store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      machine = { authorization: basic(made.client.id, made.secret) };
      const jwt = await makeClient(store, { name: 'JWT', accessTokenFormat: 'jwt' });
      jwtClient = { id: jwt.client.id, secret: jwt.secret };
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

    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const malformed = () => [
      // (A token that decodes to an odd string is just an unknown token: RFC 7009 §2.2 answers 200.)
      { name: 'revoke: the token parameter twice', method: 'POST', url: '/oauth/revoke', headers: { ...form, ...auth }, payload: 'token=a&token=b' },
      { name: 'revoke: multipart', method: 'POST', url: '/oauth/revoke', headers: { 'content-type': 'multipart/form-data; boundary=x', ...auth }, payload: '--x--' },
      { name: 'revoke: no body', method: 'POST', url: '/oauth/revoke', headers: auth },
      { name: 'revoke: a garbage Basic header', method: 'POST', url: '/oauth/revoke', headers: { ...form, authorization: 'Basic !!!' }, payload: 'token=x' },
      { name: 'introspect: JSON', method: 'POST', url: '/oauth/introspect', headers: { 'content-type': 'application/json', ...auth }, payload: '{"token":' },
      { name: 'introspect: DELETE', method: 'DELETE', url: '/oauth/introspect', headers: auth },
      { name: 'introspect: an empty token', method: 'POST', url: '/oauth/introspect', headers: { ...form, ...auth }, payload: 'token=' },
      { name: 'token: client_credentials with a malformed scope', method: 'POST', url: '/oauth/token', headers: { ...form, ...machine }, payload: 'grant_type=client_credentials&scope=%22read%22' },
      { name: 'api: a JWT-shaped token that is not one', method: 'GET', url: '/api/me', headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.x' } },
      { name: 'api: a JWT with an unknown kid', method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${Buffer.from('{"alg":"ES256","typ":"at+jwt","kid":"nope"}').toString('base64url')}.e30.AAAA` } },
      { name: 'api: a Token scheme header on the default preset', method: 'GET', url: '/api/me', headers: { authorization: 'Token token="x"' } },
      { name: 'api: access_token in the query', method: 'GET', url: '/api/me?access_token=x' },
      { name: 'api: a huge bearer token', method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${'a'.repeat(8000)}` } },
    ] as const;

    test('malformed requests to the new endpoints: a 4xx with a JSON error, nothing written', async () => {
      for (const request of malformed()) {
        const before = await counts();
        const response = await app.inject(request as InjectOptions);
        assert.ok(response.statusCode >= 400 && response.statusCode < 500, `${request.name}: ${response.statusCode} ${response.body.slice(0, 200)}`);
        assert.doesNotMatch(response.body, /\bat .+:\d+:\d+|node_modules|Error:/, request.name);
        assert.equal(typeof response.json().error, 'string', request.name);
        assert.deepEqual(await counts(), before, request.name);
      }
    });

    test('revocation, introspection, JWTs and client credentials leave no token or secret in the logs', async () => {
      const redirect = await runBrowserFlow(new Agent(app), { clientId: jwtClient.id });
      const code = redirect.searchParams.get('code') as string;
      const tokens = (
        await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { authorization: basic(jwtClient.id, jwtClient.secret) })
      ).json();
      const jwtAuth = { authorization: basic(jwtClient.id, jwtClient.secret) };
      await app.inject({ url: '/api/me', headers: { authorization: `Bearer ${tokens.access_token}` } });
      await app.inject({ url: `/api/me?access_token=${tokens.access_token}` });
      await tokenRequest(app, { token: tokens.access_token }, jwtAuth, '/oauth/introspect');
      await tokenRequest(app, { token: tokens.refresh_token, client_id: jwtClient.id, client_secret: jwtClient.secret }, {}, '/oauth/revoke');
      await tokenRequest(app, { token: tokens.access_token }, jwtAuth, '/oauth/revoke');
      const machineToken = (await tokenRequest(app, { grant_type: 'client_credentials' }, machine)).json().access_token as string;
      const [signingKey] = await store.listSigningKeys();
      assert.ok(logs.includes('"reqId"'), 'the logs were captured');
      const secrets: Record<string, string> = {
        access: tokens.access_token,
        refresh: tokens.refresh_token,
        secret: jwtClient.secret,
        machine: machineToken,
        'private key': signingKey?.privateJwk.d as string,
      };
      for (const [what, value] of Object.entries(secrets)) assert.ok(value && !logs.includes(value), `${what} leaked into the logs`);
    });
  });
}

/**
 * Every statement of the hot paths (the token endpoint's grants, bearer checks,
 * introspection) finds its rows through an index, over every dialect: the cost
 * of a request must not grow with the number of connections the platform holds
 * (the benchmark's growth section measures the same at 1,000,000 grants).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CompiledQuery, sql } from 'kysely';
import { hashCredential } from '../../src/core/secrets.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { Agent, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, testApp, tokenRequest } from '../support/agent.js';
import { cachesServing } from '../support/caches.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

/**
 * Tables sized by the operator's configuration, not by the platform's data: a
 * handful of signing keys and the scope registry, read whole and kept small.
 */
const CONFIGURATION_TABLES = new Set(['signing_keys', 'scopes']);

/**
 * A batched lookup's own input (lookups.ts): the hashes of the requests it
 * answers, at most MAX_BATCH, read on SQLite through `json_each` as the
 * subquery `i`. Each is then found through an index, which a scan of its
 * table would fail.
 */
const BATCH_INPUTS = new Set(['json_each', 'i']);

/** The plan's lines (SQLite) or nodes (PostgreSQL) that read a whole table, by the table's name (or alias). */
async function scans(store: KyselyStore, query: CompiledQuery): Promise<string[]> {
  if (store.dialect === 'sqlite') {
    const plan = await store.db.executeQuery<{ detail: string }>(CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]));
    return plan.rows.flatMap((row) => /^SCAN (\S+)/.exec(row.detail)?.[1] ?? []);
  }
  // With sequential scans priced out, PostgreSQL still picks one only where no index serves.
  return store.db.connection().execute(async (db) => {
    await sql`set enable_seqscan = off`.execute(db);
    try {
      const plan = await db.executeQuery<{ 'QUERY PLAN': unknown }>(CompiledQuery.raw(`explain (format json) ${query.sql}`, [...query.parameters]));
      const found: string[] = [];
      const walk = (node: Record<string, unknown>) => {
        if (node['Node Type'] === 'Seq Scan') found.push(String(node['Relation Name']));
        for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
      };
      const entries = plan.rows[0]?.['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }> | undefined;
      if (!entries) throw new Error(`no plan for ${query.sql}`);
      for (const entry of entries) walk(entry.Plan);
      return found;
    } finally {
      await sql`reset enable_seqscan`.execute(db);
    }
  });
}

/** Each statement that reads a whole table other than a configuration table, with the tables it scans. */
async function tableScans(store: KyselyStore, statements: CompiledQuery[]): Promise<string[]> {
  const problems: string[] = [];
  for (const query of statements) {
    const found = (await scans(store, query)).filter((table) => !CONFIGURATION_TABLES.has(table) && !BATCH_INPUTS.has(table));
    if (found.length > 0) problems.push(`scan of ${found.join(', ')}: ${query.sql}`);
  }
  return problems;
}

for (const dialect of await dialects()) {
  describe(`query plans of the hot paths (${dialect.name})`, { skip: dialect.skip }, () => {
    let database: TestDatabase;
    let store: KyselyStore;
    let app: FastifyInstance;
    /** The statements sent while `capturing`, by their SQL text. */
    const sent = new Map<string, CompiledQuery>();
    let capturing = false;
    /** What was sent while capturing, transaction control left out. */
    const sentStatements = () => [...sent.values()].filter((query) => !/^(begin|commit|rollback|savepoint|release)\b/i.test(query.sql));

    before(async () => {
      database = await dialect.create();
      store = await database.open({ onQuery: (event) => void (capturing && sent.set(event.query.sql, event.query)) });
      await seedScopes(store);
      await makeUser(store);
      app = await testApp(store);
    });
    after(async () => {
      await app?.close();
      await database?.drop();
    });

    test('code exchange, refresh, bearer checks (opaque and JWT), introspection and client credentials use indexes only', async () => {
      const { client, secret } = await makeClient(store);
      const jwt = await makeClient(store, { name: 'JWT App', accessTokenFormat: 'jwt' });
      const machine = await makeClient(store, { name: 'Machine', grantTypes: ['client_credentials'], redirectUris: [], scopes: ['read'] });
      const codeOf = async (clientId: string) => {
        const redirect = await runBrowserFlow(new Agent(app), { clientId });
        return redirect.searchParams.get('code') as string;
      };
      const codes = [await codeOf(client.id), await codeOf(jwt.client.id)];

      capturing = true;
      const exchange = async (code: string, id: string, password: string) => {
        const response = await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, { authorization: basic(id, password) });
        assert.equal(response.statusCode, 200, response.body);
        return response.json() as { access_token: string; refresh_token: string };
      };
      const opaque = await exchange(codes[0] as string, client.id, secret);
      const signed = await exchange(codes[1] as string, jwt.client.id, jwt.secret);
      const refreshed = await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: opaque.refresh_token }, { authorization: basic(client.id, secret) });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      for (const token of [refreshed.json().access_token, signed.access_token]) {
        const me = await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } });
        assert.equal(me.statusCode, 200, me.body);
      }
      for (const token of [refreshed.json().access_token, refreshed.json().refresh_token]) {
        const introspected = await tokenRequest(app, { token }, { authorization: basic(client.id, secret) }, '/oauth/introspect');
        assert.equal(introspected.json().active, true);
      }
      for (let round = 0; round < 2; round += 1) {
        // The second round finds the machine grant the first created.
        const issued = await tokenRequest(app, { grant_type: 'client_credentials' }, { authorization: basic(machine.client.id, machine.secret) });
        assert.equal(issued.statusCode, 200, issued.body);
      }
      capturing = false;

      const statements = sentStatements();
      assert.ok(statements.length >= 10, `only ${statements.length} statements were seen`);
      for (const table of ['authorization_codes', 'refresh_tokens', 'access_tokens', 'grants', 'clients']) {
        assert.ok(
          statements.some((query) => query.sql.includes(`"${table}"`)),
          `a statement on ${table} was seen`,
        );
      }
      assert.deepEqual(await tableScans(store, statements), []);
    });

    /** A client connected through the browser flow, and the tokens its code was exchanged for. */
    async function connectedApp(name: string) {
      const { client, secret } = await makeClient(store, { name });
      const redirect = await runBrowserFlow(new Agent(app), { clientId: client.id });
      const exchanged = await tokenRequest(
        app,
        { grant_type: 'authorization_code', code: redirect.searchParams.get('code') as string, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER },
        { authorization: basic(client.id, secret) },
      );
      assert.equal(exchanged.statusCode, 200, exchanged.body);
      return { client, secret, tokens: exchanged.json() as { access_token: string; refresh_token: string } };
    }

    /** What `action` sends, transaction control left out. */
    async function statementsOf(action: () => Promise<unknown>): Promise<CompiledQuery[]> {
      sent.clear();
      capturing = true;
      try {
        await action();
      } finally {
        capturing = false;
      }
      return sentStatements();
    }

    const bearerStatus = async (token: string) => (await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } })).statusCode;

    test('introspecting an access token sends only the token\'s statement (its client comes from the client cache, its user from the parties cache)', async () => {
      const { client, secret, tokens } = await connectedApp('Introspecting App');
      const introspect = () => tokenRequest(app, { token: tokens.access_token }, { authorization: basic(client.id, secret) }, '/oauth/introspect');
      // On PostgreSQL the client cache serves once its listener hears every change (pg-changes.ts).
      await cachesServing(store);
      assert.equal((await introspect()).json().username, 'ada@example.com');
      let again: { username?: string } = {};
      const statements = await statementsOf(async () => {
        again = (await introspect()).json();
      });
      assert.equal(again.username, 'ada@example.com');
      assert.deepEqual(
        statements.map((query) => /(?:from|join) "(\w+)"/.exec(query.sql)?.[1]),
        ['access_tokens'],
      );
    });

    test("revoking a grant (a user's disconnect, reuse detection) uses indexes only", async () => {
      const { tokens } = await connectedApp('Revoked App');
      const found = await store.findRefreshToken(hashCredential(tokens.refresh_token));
      assert.ok(found);
      const statements = await statementsOf(() => store.revokeGrant(found.record.grantId, Date.now(), 'test'));
      assert.ok(statements.length > 0);
      assert.deepEqual(await tableScans(store, statements), []);
      assert.equal(await bearerStatus(tokens.access_token), 401, 'the access token is revoked with its grant');
    });

    test('destroying a client uses indexes only (its tokens are revoked through its grants)', async () => {
      const { client, tokens } = await connectedApp('Destroyed App');
      const statements = await statementsOf(() => store.admin.destroyClient(client.id, Date.now()));
      assert.ok(statements.some((query) => query.sql.includes('"grants"')));
      assert.deepEqual(await tableScans(store, statements), []);
      assert.equal(await bearerStatus(tokens.access_token), 401, "the access token is revoked with its client's grants");
    });

    test('the check itself sees a scan where no index serves', async () => {
      const unindexed = store.db.selectFrom('refresh_tokens').selectAll().where('scopes', '=', 'profile').compile();
      assert.deepEqual(await scans(store, unindexed), ['refresh_tokens']);
    });
  });
}

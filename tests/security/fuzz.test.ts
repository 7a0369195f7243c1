/**
 * Property-based fuzzing (fast-check) of the authorize, token, revoke,
 * introspect and admin API endpoints: arbitrary requests and mutations of
 * valid ones. Properties, for every input:
 * - never a 5xx, never a stack trace or internal path in the body;
 * - a failed request (4xx, or an error redirect) leaves the row count of every
 *   table as it was (no partial write). audit_events and rate_limits are the
 *   exception by design: failures are audited and counted (lockout); so is
 *   signing_keys, which the server's key timer writes on its own schedule.
 *
 * Time-bounded: FUZZ_SECONDS (default 10) in total, shared by the endpoints
 * and dialects; set FUZZ_SECONDS=600 for a long run. FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { CHALLENGE, REDIRECT_URI, VERIFIER, basic } from '../support/agent.js';
import { useAdminServer } from '../support/admin.js';
import { dialects } from '../support/databases.js';

const TOTAL_SECONDS = Number(process.env.FUZZ_SECONDS ?? 10);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
const TABLES = [
  'users', 'partners', 'accounts', 'memberships', 'scopes', 'clients', 'client_secrets', 'grants', 'authorization_codes',
  'access_tokens', 'refresh_tokens', 'sessions', 'pending_authorizations', 'admin_tokens',
] as const;
const ENDPOINTS = ['authorize', 'token', 'revoke', 'introspect', 'admin'] as const;
const STACK = /\bat [^\n]*\.(?:ts|js|mjs):\d+|node_modules|\/work\/|\/src\//;

const runs: Record<string, number> = {};
after(() => {
  const total = Object.values(runs).reduce((sum, count) => sum + count, 0);
  console.log(`fuzz: ${total} inputs in ${TOTAL_SECONDS}s (${JSON.stringify(runs)})`);
});

// ---- arbitraries ----------------------------------------------------------------------------------

/** Strings an attacker would try: unicode, controls, encodings, huge, injections. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '', ' ', '%', '%zz', '%00', '\u0000', '\r\n', '../../etc/passwd', "' or 1=1 --", '"; drop table users; --', '<script>alert(1)</script>',
    'javascript:alert(1)', 'null', 'undefined', '[]', '{}', '__proto__', 'constructor', 'NaN', '-1', '1e309', 'lk_ac_', 'lk_rt_', 'lk_at_',
    'S256', 'plain', 'code', 'token', 'refresh_token', 'authorization_code', 'password', 'client_credentials', 'openid', 'profile read write',
    REDIRECT_URI, `${REDIRECT_URI}/x`, 'https://evil.test/', 'x'.repeat(5000), '\ud800', '\uffff',
  ),
);
const key = fc.oneof(
  fc.constantFrom(
    'grant_type', 'code', 'redirect_uri', 'code_verifier', 'client_id', 'client_secret', 'refresh_token', 'scope', 'username', 'password',
    'token', 'token_type_hint', 'response_type', 'state', 'code_challenge', 'code_challenge_method', 'prompt', 'nonce', '__proto__', 'constructor',
  ),
  fc.string({ maxLength: 12 }),
);

type Pairs = Array<[string, string]>;

/** A mutation of a valid parameter list: drop, replace, repeat, add, reorder. */
function mutated(valid: () => Pairs): fc.Arbitrary<Pairs> {
  const mutation = fc.oneof(
    fc.record({ op: fc.constant('drop' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('replace' as const), at: fc.nat(), value: nasty }),
    fc.record({ op: fc.constant('repeat' as const), at: fc.nat(), value: nasty }),
    fc.record({ op: fc.constant('add' as const), key, value: nasty }),
    fc.record({ op: fc.constant('swap' as const), at: fc.nat() }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 4 }).map((mutations) => {
    const pairs = valid();
    for (const m of mutations) {
      const at = 'at' in m && pairs.length > 0 ? m.at % pairs.length : 0;
      if (m.op === 'drop' && pairs.length > 0) pairs.splice(at, 1);
      else if (m.op === 'replace' && pairs.length > 0) pairs[at] = [(pairs[at] as [string, string])[0], m.value];
      else if (m.op === 'repeat' && pairs.length > 0) pairs.push([(pairs[at] as [string, string])[0], m.value]);
      else if (m.op === 'add') pairs.push([m.key, m.value]);
      else if (m.op === 'swap' && pairs.length > 1) pairs.reverse();
    }
    return pairs;
  });
}

const arbitraryPairs: fc.Arbitrary<Pairs> = fc.array(fc.tuple(key, nasty), { maxLength: 8 });

/** A body: a form from pairs, or raw bytes, or JSON, with some content type. */
function bodyOf(pairs: fc.Arbitrary<Pairs>) {
  return fc.oneof(
    { weight: 6, arbitrary: pairs.map((p) => ({ payload: new URLSearchParams(p).toString(), contentType: 'application/x-www-form-urlencoded' })) },
    { weight: 1, arbitrary: fc.string({ maxLength: 200 }).map((payload) => ({ payload, contentType: 'application/x-www-form-urlencoded' })) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => ({ payload: Buffer.from(bytes), contentType: 'application/x-www-form-urlencoded' })) },
    { weight: 1, arbitrary: fc.json().map((payload) => ({ payload, contentType: 'application/json' })) },
    {
      weight: 1,
      arbitrary: fc.tuple(pairs, fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1', 'application/xml', ''))
        .map(([p, contentType]) => ({ payload: new URLSearchParams(p).toString(), contentType })),
    },
  );
}

const authorizationHeader = (good: () => string) =>
  fc.oneof(
    fc.constant(undefined),
    fc.constant(null).map(() => good()),
    fc.string({ maxLength: 60 }).map((value) => `Basic ${Buffer.from(value).toString('base64')}`),
    fc.constantFrom('Basic', 'Basic !!!', 'Bearer x', 'Basic Og==', `Basic ${'A'.repeat(4000)}`),
    fc.stringMatching(/^[\x20-\x7e]{0,80}$/),
  );

// ---- the suite ------------------------------------------------------------------------------------

for (const dialect of await dialects()) {
  describe(`fuzzing (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useAdminServer(dialect, { lockoutIpThreshold: 100000 });
    const budget = (TOTAL_SECONDS * 1000) / (ENDPOINTS.length * 2);
    let refreshToken = 'lk_rt_none';
    let accessToken = 'lk_at_none';
    const codes: string[] = [];

    before(async () => {
      const tokens = await server.connect(server.client.id, server.secret);
      refreshToken = tokens.refresh_token;
      accessToken = tokens.access_token;
      for (let i = 0; i < 3; i++) codes.push(await server.code());
    });

    /** Every table's row count, in one query. */
    async function counts(): Promise<Record<string, number>> {
      const union = sql.join(TABLES.map((table) => sql`select ${table} as t, count(*) as n from ${sql.table(table)}`), sql` union all `);
      const { rows } = await sql<{ t: string; n: number | string }>`${union}`.execute(server.store.db);
      return Object.fromEntries(rows.map((row) => [row.t, Number(row.n)]));
    }
    /** The request in flight: fast-check's time limit abandons a run, so the next property waits for it. */
    let inFlight: Promise<unknown> = Promise.resolve();

    function isFailure(response: LightMyRequestResponse): boolean {
      if (response.statusCode >= 400) return true;
      const target = response.headers.location;
      return typeof target === 'string' && /[?&]error=/.test(target);
    }

    /** Sends one request and checks the properties. */
    function check(name: string, request: InjectOptions): Promise<void> {
      const run = checkOne(name, request);
      inFlight = run.catch(() => {});
      return run;
    }

    async function checkOne(name: string, request: InjectOptions): Promise<void> {
      runs[`${dialect.name}:${name}`] = (runs[`${dialect.name}:${name}`] ?? 0) + 1;
      const before = await counts();
      const response = await server.app.inject(request);
      const context = `${request.method} ${String(request.url).slice(0, 200)} -> ${response.statusCode} ${response.body.slice(0, 300)}`;
      assert.ok(response.statusCode < 500, `a 5xx: ${context}`);
      assert.doesNotMatch(response.body, STACK, `a stack trace or path: ${context}`);
      if (isFailure(response)) assert.deepEqual(await counts(), before, `a failed request wrote rows: ${context}`);
    }

    async function fuzz(name: string, property: fc.IAsyncProperty<[InjectOptions]>): Promise<void> {
      await inFlight;
      await fc.assert(property, { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: budget, markInterruptAsFailure: false, ...(SEED === undefined ? {} : { seed: SEED }) });
      await inFlight;
      assert.ok((runs[`${dialect.name}:${name}`] ?? 0) > 0, `no input ran for ${name}`);
    }

    const validAuthorize = (): Pairs => [
      ['response_type', 'code'], ['client_id', server.client.id], ['redirect_uri', REDIRECT_URI], ['scope', 'profile read'],
      ['state', 'xyz'], ['code_challenge', CHALLENGE], ['code_challenge_method', 'S256'],
    ];
    const validToken = (): Pairs => [
      ['grant_type', 'authorization_code'], ['code', codes[0] as string], ['redirect_uri', REDIRECT_URI], ['code_verifier', VERIFIER],
    ];
    const validRefresh = (): Pairs => [['grant_type', 'refresh_token'], ['refresh_token', refreshToken], ['scope', 'profile']];
    const validTokenParam = (): Pairs => [['token', accessToken], ['token_type_hint', 'access_token']];
    const goodAuth = () => basic(server.client.id, server.secret);

    const formRequest = (url: string, pairs: fc.Arbitrary<Pairs>) =>
      fc.tuple(bodyOf(pairs), authorizationHeader(goodAuth), fc.constantFrom('POST', 'POST', 'POST', 'GET', 'PUT')).map(
        ([body, authorization, method]): InjectOptions => ({
          method: method as InjectOptions['method'],
          url,
          headers: { ...(body.contentType ? { 'content-type': body.contentType } : {}), ...(authorization ? { authorization } : {}) },
          ...(method === 'GET' ? {} : { payload: body.payload }),
        }),
      );

    test('authorize: arbitrary and mutated queries', async () => {
      const query = fc.oneof(
        mutated(validAuthorize).map((pairs) => new URLSearchParams(pairs).toString()),
        arbitraryPairs.map((pairs) => new URLSearchParams(pairs).toString()),
        fc.stringMatching(/^[\x21-\x7e]{0,200}$/).map((raw) => raw.replace(/#/g, '%23')),
      );
      await fuzz('authorize', fc.asyncProperty(
        fc.tuple(query, fc.constantFrom('/oauth/authorize', '/oauth/authorize', '/login', '/signup')).map(
          ([q, path]): InjectOptions => ({ method: 'GET', url: `${path}?${q}` }),
        ),
        (request) => check('authorize', request),
      ));
    });

    test('token: arbitrary and mutated requests of every grant', async () => {
      const pairs = fc.oneof(mutated(validToken), mutated(validRefresh), arbitraryPairs);
      await fuzz('token', fc.asyncProperty(formRequest('/oauth/token', pairs), (request) => check('token', request)));
    });

    test('revoke: arbitrary and mutated requests', async () => {
      const pairs = fc.oneof(mutated(validTokenParam), arbitraryPairs);
      await fuzz('revoke', fc.asyncProperty(formRequest('/oauth/revoke', pairs), (request) => check('revoke', request)));
    });

    test('introspect: arbitrary and mutated requests', async () => {
      const pairs = fc.oneof(mutated(validTokenParam), arbitraryPairs);
      await fuzz('introspect', fc.asyncProperty(formRequest('/oauth/introspect', pairs), (request) => check('introspect', request)));
    });

    test('admin API: arbitrary methods, paths, ids and bodies', async () => {
      const paths = [
        '/clients', '/clients/:id', '/clients/:id/rotate-secret', '/clients/:id/connections', '/grants/:id', '/grants/:id/revoke', '/partners',
        '/partners/:id', '/partners/:id/report', '/partners/:id/report.csv', '/partners/:id/accounts', '/partners/:id/connections', '/users',
        '/users/:id', '/users/:id/lock', '/users/:id/unlock', '/audit', '/audit/types', '/scopes', '/scopes/:id', '/tokens', '/tokens/:id',
      ];
      const validClient = fc.record(
        {
          name: fc.oneof(nasty, fc.constant('Fuzz App')),
          redirect_uris: fc.oneof(fc.array(nasty, { maxLength: 3 }), fc.constant([REDIRECT_URI]), nasty as fc.Arbitrary<unknown>),
          scopes: fc.oneof(fc.array(nasty, { maxLength: 3 }), fc.constant(['profile'])),
          grant_types: fc.oneof(fc.array(nasty, { maxLength: 3 }), fc.constant(['authorization_code'])),
          public: fc.oneof(fc.boolean(), nasty as fc.Arbitrary<unknown>),
          legacy: fc.boolean(),
          access_token_ttl_seconds: fc.oneof(fc.integer(), fc.double(), nasty as fc.Arbitrary<unknown>),
        },
        { requiredKeys: [] },
      );
      const body = fc.oneof(fc.constant(undefined), validClient, fc.jsonValue(), fc.dictionary(key, fc.oneof(nasty, fc.jsonValue() as fc.Arbitrary<unknown>), { maxKeys: 6 }));
      const encode = (value: string) => {
        try {
          return encodeURIComponent(value) || 'x';
        } catch {
          return 'x%ZZ'; // a lone surrogate cannot be encoded: send a malformed escape instead
        }
      };
      const id = fc.oneof(nasty.map(encode), fc.constantFrom('lkc_x', 'usr_x', '..', '%2e%2e', 'profile'));
      const request = fc.tuple(
        fc.constantFrom('GET', 'POST', 'PATCH', 'PUT', 'DELETE'),
        fc.constantFrom(...paths),
        id,
        body,
        fc.oneof(fc.constant(''), arbitraryPairs.map((p) => `?${new URLSearchParams(p)}`)),
        fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      ).map(([method, path, param, payload, query, authed]): InjectOptions => ({
        method: method as InjectOptions['method'],
        url: `/admin/api${path.replace(':id', param)}${query}`,
        headers: {
          ...(authed ? { authorization: `Bearer ${server.token}` } : {}),
          ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
      }));
      await fuzz('admin', fc.asyncProperty(request, (options) => check('admin', options)));
    });
  });
}

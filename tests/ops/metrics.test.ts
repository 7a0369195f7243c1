/**
 * GET /metrics (Prometheus) after real traffic, and /readyz: ready only when
 * the database answers and its migrations are current.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { createMetrics } from '../../src/http/metrics.js';
import { sweepExpired } from '../../src/services/housekeeping.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { migrateToLatest, openStore } from '../../src/store/open.js';
import { Agent, ISSUER, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, tokenRequest } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const sqlite = (await dialects()).find((dialect) => dialect.name === 'sqlite') as NonNullable<Awaited<ReturnType<typeof dialects>>[number]>;

/** The value of one sample line, e.g. sample(text, 'latchkey_tokens_issued_total{grant_type="refresh_token"}'). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((entry) => entry.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let database: TestDatabase;
  let store: KyselyStore;
  let app: FastifyInstance;
  const metrics = createMetrics();

  before(async () => {
    database = await sqlite.create();
    store = await database.open();
    await seedScopes(store);
    await makeUser(store);
    app = await buildApp({ config: loadConfig({ issuer: ISSUER, lockoutThreshold: 3 }, {}), store, logger: false, metrics });
  });
  after(async () => {
    await app?.close();
    await database?.drop();
  });

  async function scrape(): Promise<string> {
    const response = await app.inject({ url: '/metrics' });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    return response.body;
  }

  test('requests, tokens per grant type, reuse, sign-in failures and lockouts are counted', async () => {
    const { client, secret } = await makeClient(store);
    const auth = { authorization: basic(client.id, secret) };
    const code = (await runBrowserFlow(new Agent(app), { clientId: client.id })).searchParams.get('code') as string;
    const issued = (await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, auth)).json();
    assert.equal((await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: issued.refresh_token }, auth)).statusCode, 200);
    // The same refresh token again: reuse, the grant is revoked.
    assert.equal((await tokenRequest(app, { grant_type: 'refresh_token', refresh_token: issued.refresh_token }, auth)).statusCode, 400);
    // The same code again: reuse too.
    assert.equal((await tokenRequest(app, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, auth)).statusCode, 400);
    // Three wrong passwords lock the account.
    for (let attempt = 0; attempt < 3; attempt++) {
      await assert.rejects(runBrowserFlow(new Agent(app), { clientId: client.id, password: 'not the password at all' }));
    }
    await app.inject({ url: '/no/such/page' });

    const text = await scrape();
    assert.equal(sample(text, 'latchkey_tokens_issued_total{grant_type="authorization_code"}'), 1);
    assert.equal(sample(text, 'latchkey_tokens_issued_total{grant_type="refresh_token"}'), 1);
    assert.equal(sample(text, 'latchkey_grant_reuse_detected_total{credential="refresh_token"}'), 1);
    assert.equal(sample(text, 'latchkey_grant_reuse_detected_total{credential="authorization_code"}'), 1);
    assert.equal(sample(text, 'latchkey_sign_in_failures_total{reason="invalid_credentials"}'), 3);
    assert.equal(sample(text, 'latchkey_lockouts_total{scope="account"}'), 1);
    assert.equal(sample(text, 'latchkey_http_requests_total{method="POST",route="/oauth/token",status="200"}'), 2);
    assert.equal(sample(text, 'latchkey_http_requests_total{method="POST",route="/oauth/token",status="400"}'), 2);
    assert.equal(sample(text, 'latchkey_http_request_duration_seconds_count{method="POST",route="/oauth/token",status="200"}'), 2);
    // Unknown paths share one label: no cardinality from the URL.
    assert.equal(sample(text, 'latchkey_http_requests_total{method="GET",route="unmatched",status="404"}'), 1);
    assert.ok(!text.includes('/no/such/page'));
    // Metrics carry no credential.
    for (const value of [secret, code, issued.access_token, issued.refresh_token]) assert.ok(!text.includes(value));
  });

  test('each method, route and status is a series of its own', async () => {
    for (const [method, url] of [['GET', '/healthz'], ['GET', '/healthz'], ['HEAD', '/healthz'], ['GET', '/readyz'], ['GET', '/.well-known/no-such-document']] as const) {
      await app.inject({ method, url });
    }
    const text = await scrape();
    assert.equal(sample(text, 'latchkey_http_requests_total{method="GET",route="/healthz",status="200"}'), 2);
    assert.equal(sample(text, 'latchkey_http_requests_total{method="HEAD",route="/healthz",status="200"}'), 1);
    assert.equal(sample(text, 'latchkey_http_requests_total{method="GET",route="/readyz",status="200"}'), 1);
    // The first test's unknown path and this one share the unmatched series.
    assert.equal(sample(text, 'latchkey_http_requests_total{method="GET",route="unmatched",status="404"}'), 2);
  });

  test('housekeeping sweeps and query timings are counted', async () => {
    metrics.observeSweep(await sweepExpired(store, Date.now() + 400 * 24 * 3600 * 1000));
    metrics.observeQuery({ level: 'query', queryDurationMillis: 3, query: { sql: 'select 1', parameters: [], query: {} as never, queryId: {} as never } } as never);
    const text = await scrape();
    assert.equal(sample(text, 'latchkey_housekeeping_sweeps_total{outcome="ok"}'), 1);
    assert.ok((sample(text, 'latchkey_housekeeping_deleted_total{table="access_tokens"}') ?? 0) >= 1, text);
    assert.equal(sample(text, 'latchkey_db_query_duration_seconds_count{kind="select",outcome="ok"}'), 1);
  });
});

describe('/readyz', () => {
  test('503 while migrations are pending, 200 once current; /healthz is always 200', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-ready-'));
    const store = openStore({ sqliteFile: join(dir, 'latchkey.sqlite') });
    const app = await buildApp({ config: loadConfig({ issuer: ISSUER }, {}), store, logger: false });
    try {
      const pending = await app.inject({ url: '/readyz' });
      assert.equal(pending.statusCode, 503);
      assert.equal(pending.json().migrations, 'pending');
      assert.ok(pending.json().pending.length > 0);
      assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
      await migrateToLatest(store);
      const ready = await app.inject({ url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { status: 'ready', database: 'ok', migrations: 'current' });
      assert.equal(ready.headers['cache-control'], 'no-store');
      await store.close();
      // The database gone: not ready.
      const gone = await app.inject({ url: '/readyz' });
      assert.equal(gone.statusCode, 503);
      assert.equal(gone.json().database, 'unreachable');
      await app.close();
    } finally {
      await store.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

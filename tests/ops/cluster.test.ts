/**
 * The multi-instance deployment: three Latchkey processes started at the same
 * moment on one fresh PostgreSQL database, sharing Redis, behind a round-robin
 * reverse proxy. The schema is migrated (and the first run bootstrapped) once;
 * a browser-less flow (authorize → sign-in → consent → token → refresh →
 * /api/me) has each step land on another instance; then one instance is
 * killed (SIGKILL) under load and the others keep serving.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { pendingMigrations } from '../../src/store/open.js';
import { CHALLENGE, csrfFrom, formAction, PASSWORD, REDIRECT_URI, VERIFIER } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser } from '../support/fixtures.js';
import { type ServerProcess, startServerProcess } from '../support/process.js';
import { type ReverseProxy, startProxy } from '../support/proxy.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';

const postgres = (await dialects()).find((dialect) => dialect.name === 'postgres') as NonNullable<Awaited<ReturnType<typeof dialects>>[number]>;
const skip = postgres.skip || (await redisSkip());

/** fetch with a cookie jar, never following redirects. */
class Browser {
  readonly cookies = new Map<string, string>();
  /** x-upstream of each response. */
  readonly upstreams: string[] = [];
  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<{ status: number; location: string | null; body: string }> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    const response = await fetch(new URL(path, this.base), { ...init, redirect: 'manual', headers: { ...(cookie ? { cookie } : {}), ...(init.headers as Record<string, string>) } });
    for (const set of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = set.split(';');
      const [name = '', value = ''] = pair.split('=');
      if (value === '' || attributes.some((attribute) => /^\s*max-age=0$/i.test(attribute))) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    this.upstreams.push(response.headers.get('x-upstream') ?? '?');
    return { status: response.status, location: response.headers.get('location'), body: await response.text() };
  }

  postForm(path: string, fields: Record<string, string>) {
    return this.request(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields).toString() });
  }
}

/** authorize → sign-in → consent, each page and post through the proxy; returns the code. */
async function authorizeCode(browser: Browser, clientId: string): Promise<string> {
  const query = new URLSearchParams({ response_type: 'code', client_id: clientId, redirect_uri: REDIRECT_URI, scope: 'profile read', state: 'st', code_challenge: CHALLENGE, code_challenge_method: 'S256' });
  let page = await browser.request(`/oauth/authorize?${query}`);
  for (let step = 0; step < 12; step++) {
    if (page.location?.startsWith(REDIRECT_URI)) {
      const url = new URL(page.location);
      assert.equal(url.searchParams.get('state'), 'st');
      return url.searchParams.get('code') as string;
    }
    if (page.location) {
      page = await browser.request(page.location);
      continue;
    }
    assert.equal(page.status, 200, page.body.slice(0, 300));
    if (page.body.includes('action="/login"')) {
      const interaction = /name="interaction" value="([^"]+)"/.exec(page.body)?.[1] ?? '';
      page = await browser.postForm('/login', { csrf_token: csrfFrom(page.body), interaction, email: 'ada@example.com', password: PASSWORD });
    } else if (page.body.includes('value="allow"')) {
      const approve: Record<string, string> = page.body.includes('name="approve"') ? { approve: 'yes' } : {};
      page = await browser.postForm(formAction(page.body, /\/consent$/), { csrf_token: csrfFrom(page.body), decision: 'allow', ...approve });
    } else {
      throw new Error(`unexpected page: ${page.body.slice(0, 300)}`);
    }
  }
  throw new Error('the flow did not finish');
}

describe('three instances, one PostgreSQL database, Redis, a load balancer', { skip }, () => {
  let database: TestDatabase;
  let store: KyselyStore;
  let proxy: ReverseProxy;
  let instances: ServerProcess[] = [];
  let clientId: string;
  let authorization: string;

  before(async () => {
    database = await postgres.create();
    proxy = await startProxy(() => instances.map((instance) => instance.url));
    const env = { REDIS_URL: TEST_REDIS_URL, LATCHKEY_ISSUER: proxy.url, LATCHKEY_TRUST_PROXY: 'true', LATCHKEY_DATABASE_POOL_SIZE: '4', LATCHKEY_SHUTDOWN_GRACE_SECONDS: '5' };
    // All three at the same moment, on a database nobody has migrated.
    instances = await Promise.all([0, 1, 2].map(() => startServerProcess({ databaseUrl: database.databaseUrl as string, env })));
    store = await database.open();
  });
  after(async () => {
    await Promise.all(instances.map((instance) => instance.stop('SIGKILL')));
    await proxy?.close();
    await database?.drop();
  });

  test('started together, they migrated the schema and bootstrapped the first run once', async () => {
    assert.deepEqual(await pendingMigrations(store), []);
    const migrations = await sql<{ n: string; names: string }>`select count(*) as n, count(distinct name) as names from kysely_migration`.execute(store.db);
    assert.equal(Number(migrations.rows[0]?.n), Number(migrations.rows[0]?.names));
    assert.ok(Number(migrations.rows[0]?.n) > 0);
    assert.equal(await store.countUsers(), 1, 'one first-run admin');
    const keys = await sql<{ n: string }>`select count(*) as n from signing_keys where retired_at is null`.execute(store.db);
    assert.equal(Number(keys.rows[0]?.n), 1, 'one active signing key');
    const banners = instances.filter((instance) => instance.output().includes('Latchkey is set up.'));
    assert.equal(banners.length, 1, 'one instance printed the first-run banner');
    for (const instance of instances) assert.equal((await fetch(`${instance.url}/readyz`)).status, 200);
  });

  test('a full flow whose consecutive steps land on different instances', async () => {
    await makeUser(store);
    const { client, secret } = await makeClient(store);
    clientId = client.id;
    authorization = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
    const browser = new Browser(proxy.url);
    const code = await authorizeCode(browser, client.id);
    const token = async (fields: Record<string, string>) =>
      browser.request('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: new URLSearchParams(fields).toString() });
    const issued = await token({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER });
    assert.equal(issued.status, 200, issued.body);
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: JSON.parse(issued.body).refresh_token });
    assert.equal(refreshed.status, 200, refreshed.body);
    const me = await browser.request('/api/me', { headers: { authorization: `Bearer ${JSON.parse(refreshed.body).access_token}` } });
    assert.equal(me.status, 200, me.body);
    assert.equal(JSON.parse(me.body).user.email, 'ada@example.com');
    const steps = browser.upstreams;
    assert.ok(steps.length >= 6, steps.join(','));
    for (let index = 1; index < steps.length; index++) assert.notEqual(steps[index], steps[index - 1], `steps ${index - 1} and ${index} on one instance: ${steps.join(',')}`);
    assert.deepEqual([...new Set(steps)].sort(), ['0', '1', '2']);
  });

  test('one instance killed under load: no request to the others fails, and the flow goes on through the proxy', async (t) => {
    // A refresh-token chain per worker, pinned to one instance.
    // (One sign-in after the other: concurrent sign-ins to one account are throttled.)
    const chains: Array<{ target: number; token: string }> = [];
    for (const target of [0, 1, 2, 0, 1, 2]) {
      const code = await authorizeCode(new Browser(proxy.url), clientId);
      const response = await fetch(`${proxy.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }) });
      chains.push({ target, token: ((await response.json()) as { refresh_token: string }).refresh_token });
    }
    const results: Array<{ target: number; ok: boolean; detail: string }> = [];
    let stopped = false;
    const victim = instances[2] as ServerProcess;
    const worker = async (chain: { target: number; token: string }) => {
      const instance = instances[chain.target] as ServerProcess;
      while (!stopped) {
        try {
          const response = await fetch(`${instance.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: chain.token }) });
          const body = (await response.json()) as { refresh_token?: string };
          results.push({ target: chain.target, ok: response.status === 200, detail: String(response.status) });
          if (response.status !== 200) return;
          chain.token = body.refresh_token as string;
        } catch (error) {
          results.push({ target: chain.target, ok: false, detail: String((error as { cause?: { code?: string } }).cause?.code ?? error) });
          if (chain.target === 2) return;
        }
      }
    };
    const load = Promise.all(chains.map(worker));
    await new Promise((resolve) => setTimeout(resolve, 700));
    victim.child.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 1200));
    // Through the proxy, the flow still works: the dead upstream is skipped.
    const afterKill = new Browser(proxy.url);
    const code = await authorizeCode(afterKill, clientId);
    const issued = await fetch(`${proxy.url}/oauth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }) });
    assert.equal(issued.status, 200);
    stopped = true;
    await load;
    const survivors = results.filter((result) => result.target !== 2);
    t.diagnostic(`${results.length} requests; ${survivors.length} to the survivors; to the killed one: ${results.filter((result) => result.target === 2 && result.ok).length} ok, then ${results.filter((result) => result.target === 2 && !result.ok).map((result) => result.detail).join(',')}`);
    assert.ok(survivors.length > 20, `${survivors.length} requests to the survivors`);
    assert.deepEqual(survivors.filter((result) => !result.ok), []);
    assert.ok(results.some((result) => result.target === 2 && !result.ok), 'the killed instance stopped answering');
    assert.ok(!afterKill.upstreams.includes('2'), afterKill.upstreams.join(','));
  });
});

/**
 * Shared limits (issue 8, part 5): with REDIS_URL set, two app instances on one
 * Redis count sign-in failures together, on the sign-in page and the password
 * grant alike (OWASP "account lockout"; the CVE class "lockout bypassed
 * through another instance or grant type"). When Redis cannot be reached,
 * both fail closed: the sign-in page answers 503, the password grant answers
 * 503 temporarily_unavailable, and neither checks a password without the limit.
 * (tests/http/web-signin.test.ts covers the sign-in page and sign-up on two
 * instances; this suite adds the password grant and 100 parallel failures.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Client } from '../../src/core/model.js';
import { Agent, basic, PASSWORD, testApp } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';
import { randomIp, signInForm } from '../support/web.js';

function passwordGrant(app: FastifyInstance, client: Client, secret: string, username: string, password: string) {
  return app.inject({
    method: 'POST',
    url: '/oauth/token',
    remoteAddress: randomIp(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, secret) },
    payload: new URLSearchParams({ grant_type: 'password', username, password }).toString(),
  });
}

async function seed(database: TestDatabase) {
  const store = await database.open();
  await seedScopes(store);
  const { client, secret } = await makeClient(store, { name: 'Legacy App', isLegacy: true, grantTypes: ['password', 'refresh_token'] });
  return { store, client, secret };
}

describe('one limit across two instances on one Redis (REDIS_URL)', { skip: await redisSkip() }, async () => {
  const [sqlite] = await dialects();
  const database = await (sqlite as NonNullable<typeof sqlite>).create();
  let instances: [FastifyInstance, FastifyInstance];
  let client: Client;
  let secret: string;
  let store: Awaited<ReturnType<typeof seed>>['store'];

  before(async () => {
    ({ store, client, secret } = await seed(database));
    const other = await database.open();
    // lockoutIpThreshold high: each request comes from its own address anyway; only the account limit decides.
    const config = { redisUrl: TEST_REDIS_URL, lockoutIpThreshold: 100000 };
    instances = [await testApp(store, { config }), await testApp(other, { config })];
  });
  after(async () => {
    await Promise.all(instances.map((app) => app.close()));
    await database.drop();
  });

  test('OWASP lockout / RFC 6749 §10.3: 100 parallel password-grant failures split over two instances are one count: exactly five passwords checked (the threshold)', async () => {
    const email = `shared-${randomBytes(4).toString('hex')}@example.com`;
    await makeUser(store, email);
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => passwordGrant(instances[i % 2] as FastifyInstance, client, secret, email, `guess ${i}`)),
    );
    const tally: Record<string, number> = {};
    for (const response of responses) {
      assert.equal(response.statusCode, 400, response.body);
      assert.equal(response.json().error, 'invalid_grant');
      const kind = /Too many failed attempts/.test(response.json().error_description) ? 'locked' : 'checked';
      tally[kind] = (tally[kind] ?? 0) + 1;
    }
    assert.deepEqual(tally, { checked: 5, locked: 95 });
    // Locked on both instances, for the grant and for the sign-in page, even with the right password.
    for (const app of instances) {
      const right = await passwordGrant(app, client, secret, email, PASSWORD);
      assert.deepEqual([right.statusCode, right.json().error], [400, 'invalid_grant']);
      assert.match(right.json().error_description, /Too many failed attempts/);
      const submit = await signInForm(new Agent(app), randomIp());
      const page = await submit(email, PASSWORD);
      assert.equal(page.statusCode, 429);
      assert.equal(page.headers.location, undefined);
    }
    const rows = await store.db.selectFrom('rate_limits').selectAll().execute();
    assert.deepEqual(rows, [], 'the counters live in Redis, not in the database');
  });

  test('failures on the sign-in page of one instance lock the password grant on the other', async () => {
    const email = `cross-${randomBytes(4).toString('hex')}@example.com`;
    await makeUser(store, email);
    const submit = await signInForm(new Agent(instances[0]), randomIp());
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) codes.push((await submit(email, `wrong ${i}`)).statusCode);
    assert.deepEqual(codes, [401, 401, 401, 401, 429]);
    const right = await passwordGrant(instances[1], client, secret, email, PASSWORD);
    assert.deepEqual([right.statusCode, right.json().error], [400, 'invalid_grant']);
    assert.match(right.json().error_description, /Too many failed attempts/);
  });
});

describe('when Redis is down: fail closed', () => {
  test('the password grant answers 503 temporarily_unavailable (never a 500, never an unlimited password check)', async () => {
    const [sqlite] = await dialects();
    const database = await (sqlite as NonNullable<typeof sqlite>).create();
    const { store, client, secret } = await seed(database);
    await makeUser(store, 'down@example.com');
    // Nothing listens on port 1.
    const app = await testApp(store, { config: { redisUrl: 'redis://127.0.0.1:1' } });
    try {
      for (const password of [PASSWORD, 'wrong']) {
        const response = await passwordGrant(app, client, secret, 'down@example.com', password);
        assert.equal(response.statusCode, 503, response.body);
        assert.equal(response.json().error, 'temporarily_unavailable');
        assert.equal(response.headers['cache-control'], 'no-store');
        assert.equal(response.json().access_token, undefined);
      }
      assert.deepEqual(await store.db.selectFrom('access_tokens').selectAll().execute(), [], 'no token was issued');
      const submit = await signInForm(new Agent(app), randomIp());
      const page = await submit('down@example.com', PASSWORD);
      assert.equal(page.statusCode, 503);
      assert.equal(page.headers.location, undefined);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});

describe('when Redis is down: fail open, where the operator chose it for the password grant', () => {
  test('passwordGrantWhenCountersDown=open checks the password without the limit; the sign-in page still fails closed', async () => {
    const [sqlite] = await dialects();
    const database = await (sqlite as NonNullable<typeof sqlite>).create();
    const { store, client, secret } = await seed(database);
    await makeUser(store, 'open@example.com');
    const app = await testApp(store, { config: { redisUrl: 'redis://127.0.0.1:1', passwordGrantWhenCountersDown: 'open' } });
    try {
      const right = await passwordGrant(app, client, secret, 'open@example.com', PASSWORD);
      assert.equal(right.statusCode, 200, right.body);
      const wrong = await passwordGrant(app, client, secret, 'open@example.com', 'wrong password');
      assert.deepEqual([wrong.statusCode, wrong.json().error], [400, 'invalid_grant']);
      const submit = await signInForm(new Agent(app), randomIp());
      assert.equal((await submit('open@example.com', PASSWORD)).statusCode, 503);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});

/**
 * Sign-in throttling over HTTP: per-account and per-IP lockout, counted in
 * the database (both dialects) or in Redis when REDIS_URL is set, audited,
 * and revealing nothing about which emails exist.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Agent, location, PASSWORD, testApp } from '../support/agent.js';
import { dialects } from '../support/databases.js';
import { makeUser } from '../support/fixtures.js';
import { redisSkip, TEST_REDIS_URL } from '../support/redis.js';
import { useServer } from '../support/server.js';
import { auditEvents, randomIp, signInForm } from '../support/web.js';

const LOCKED = /Too many failed attempts\. For your security, sign-in is paused: try again in 15 minutes\./;

for (const dialect of await dialects()) {
  describe(`sign-in lockout (${dialect.name})`, { skip: dialect.skip }, () => {
    const server = useServer(dialect, { lockoutIpThreshold: 8 });

    test('five wrong passwords lock the account for 15 minutes; even the right password is refused until then', async () => {
      const { user } = await makeUser(server.store, 'lock1@example.com');
      const agent = new Agent(server.app);
      const submit = await signInForm(agent, randomIp());
      for (let i = 0; i < 4; i++) {
        const wrong = await submit('lock1@example.com', `wrong password ${i}`);
        assert.equal(wrong.statusCode, 401);
        assert.match(wrong.body, /Incorrect email or password\./);
      }
      const fifth = await submit('lock1@example.com', 'wrong password 5');
      assert.equal(fifth.statusCode, 429);
      assert.match(fifth.body, LOCKED);
      assert.match(fifth.body, /role="alert"/);
      assert.equal(fifth.headers['retry-after'], '900');

      const cookie = agent.cookies.get('latchkey_session');
      const right = await submit('lock1@example.com', PASSWORD);
      assert.equal(right.statusCode, 429, 'the right password does not open a locked account');
      assert.equal(right.headers.location, undefined);
      assert.equal(agent.cookies.get('latchkey_session'), cookie, 'no session was started');

      server.clock.advance(15 * 60 * 1000);
      const later = await submit('lock1@example.com', PASSWORD);
      assert.equal(later.statusCode, 303);
      assert.equal(location(later), '/account');

      const failures = await auditEvents(server.store, 'signin.failed', user.id);
      assert.deepEqual(
        failures.map((event) => event.detail.reason),
        ['invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'invalid_credentials', 'locked'],
      );
      const locks = await auditEvents(server.store, 'signin.locked', user.id);
      assert.equal(locks.length, 1);
      assert.equal(locks[0]?.detail.scope, 'account');
      assert.equal(locks[0]?.detail.channel, 'web');
      assert.ok(!JSON.stringify([...failures, ...locks]).includes('wrong password'), 'no password in the audit trail');
    });

    test('an unknown email gets exactly the same answers, lockout included', async () => {
      await makeUser(server.store, 'known@example.com');
      const statuses = async (email: string) => {
        const agent = new Agent(server.app);
        const submit = await signInForm(agent, randomIp());
        const bodies: string[] = [];
        const codes: number[] = [];
        for (let i = 0; i < 6; i++) {
          const response = await submit(email, 'not the password');
          codes.push(response.statusCode);
          bodies.push(response.body.replace(/value="[^"]*"/g, ''));
        }
        return { codes, bodies };
      };
      const known = await statuses('known@example.com');
      const unknown = await statuses('unknown@example.com');
      assert.deepEqual(known.codes, [401, 401, 401, 401, 429, 429]);
      assert.deepEqual(unknown.codes, known.codes);
      assert.deepEqual(unknown.bodies, known.bodies);
    });

    test('per IP: failures on many accounts from one address lock that address; other addresses still sign in', async () => {
      const ip = randomIp();
      const agent = new Agent(server.app);
      const submit = await signInForm(agent, ip);
      const codes: number[] = [];
      for (let i = 0; i < 8; i++) codes.push((await submit(`spray${i}@example.com`, 'Summer2024!')).statusCode);
      assert.deepEqual(codes, [401, 401, 401, 401, 401, 401, 401, 429]);
      const blocked = await submit('ada@example.com', PASSWORD);
      assert.equal(blocked.statusCode, 429);
      assert.match(blocked.body, LOCKED);
      const elsewhere = await signInForm(new Agent(server.app), randomIp());
      assert.equal((await elsewhere('ada@example.com', PASSWORD)).statusCode, 303);
      const locks = await auditEvents(server.store, 'signin.locked');
      assert.ok(locks.some((event) => event.ip === ip && event.detail.scope === 'ip'));
    });

    test('a success gives the IP its attempt back: signing in often from one address never locks it', async () => {
      const ip = randomIp();
      for (let i = 0; i < 12; i++) {
        const submit = await signInForm(new Agent(server.app), ip);
        assert.equal((await submit('ada@example.com', PASSWORD)).statusCode, 303);
      }
    });

    test('parallel wrong passwords: each is counted, exactly five are checked, the rest are refused', async () => {
      await makeUser(server.store, 'parallel@example.com');
      // Each from its own address, so only the account's count decides.
      const forms = await Promise.all(Array.from({ length: 12 }, () => signInForm(new Agent(server.app), randomIp())));
      const responses = await Promise.all(forms.map((submit, i) => submit('parallel@example.com', `guess ${i}`)));
      const codes = responses.map((response) => response.statusCode).sort();
      assert.deepEqual(codes, [...Array(4).fill(401), ...Array(8).fill(429)]);
      const row = await server.store.db
        .selectFrom('rate_limits')
        .select('count')
        .where('bucket', 'like', 'signin:account:%')
        .orderBy('count', 'desc')
        .executeTakeFirstOrThrow();
      assert.equal(Number(row.count), 12);
    });

    test('empty fields are refused with a message and are not counted as failures', async () => {
      const submit = await signInForm(new Agent(server.app), randomIp());
      for (let i = 0; i < 7; i++) {
        const response = await submit('ada@example.com', '');
        assert.equal(response.statusCode, 400);
        assert.match(response.body, /Enter your email and password\./);
      }
      const submitAgain = await signInForm(new Agent(server.app), randomIp());
      assert.equal((await submitAgain('ada@example.com', PASSWORD)).statusCode, 303);
    });
  });
}

describe('sign-in lockout shared through Redis (REDIS_URL)', { skip: await redisSkip() }, async () => {
  const [sqlite] = await dialects();
  const database = await (sqlite as NonNullable<typeof sqlite>).create();
  let instances: FastifyInstance[] = [];
  const email = `redis-${randomBytes(4).toString('hex')}@example.com`;

  before(async () => {
    const first = await database.open();
    const second = await database.open();
    await makeUser(first, email);
    // Two instances on one database, counting in Redis.
    instances = [await testApp(first, { config: { redisUrl: TEST_REDIS_URL } }), await testApp(second, { config: { redisUrl: TEST_REDIS_URL } })];
  });
  after(async () => {
    await Promise.all(instances.map((app) => app.close()));
    await database.drop();
  });

  test('failures on two instances add up to one lockout, and the database table stays empty', async () => {
    const ip = randomIp();
    const [one, two] = instances as [FastifyInstance, FastifyInstance];
    const submitOne = await signInForm(new Agent(one), ip);
    const submitTwo = await signInForm(new Agent(two), ip);
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await (i % 2 === 0 ? submitOne : submitTwo)(email, `wrong ${i}`)).statusCode);
    assert.deepEqual(codes, [401, 401, 401, 401, 429]);
    assert.equal((await submitTwo(email, PASSWORD)).statusCode, 429);
    assert.equal((await submitOne(email, PASSWORD)).statusCode, 429);
    const store = await database.open();
    const rows = await store.db.selectFrom('rate_limits').selectAll().execute();
    assert.deepEqual(rows, [], 'the counters live in Redis');
  });
});

describe('when the shared counters cannot be reached', () => {
  test('sign-in and sign-up fail closed with a 503 page, never skipping the limit', async () => {
    const [sqlite] = await dialects();
    const database = await (sqlite as NonNullable<typeof sqlite>).create();
    const store = await database.open();
    await makeUser(store, 'closed@example.com');
    // Nothing listens on port 1.
    const app = await testApp(store, { config: { redisUrl: 'redis://127.0.0.1:1' } });
    try {
      const agent = new Agent(app);
      const submit = await signInForm(agent, randomIp());
      const response = await submit('closed@example.com', PASSWORD);
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers['retry-after'], '30');
      assert.match(response.body, /Sign-in is unavailable right now/);
      assert.equal(response.headers.location, undefined, 'not signed in');
      const page = await agent.get('/signup');
      const signUp = await agent.postForm('/signup', {
        csrf_token: /name="csrf_token" value="([^"]+)"/.exec(page.body)?.[1] as string,
        first_name: 'Closed',
        last_name: 'Door',
        email: 'door@example.com',
        password: 'a long and unusual passphrase',
        account_name: 'Door Co',
      });
      assert.equal(signUp.statusCode, 503);
      assert.equal(await store.findUserByEmail('door@example.com'), undefined);
    } finally {
      await app.close();
      await database.drop();
    }
  });
});

/**
 * Logs: a full flow on the default preset (sign-in, consent, token, refresh,
 * reuse, revoke, introspect) and the GoTo preset's password grant (where the
 * password travels in the query string), at the most verbose level; the
 * captured logs carry a request id on every request line and none of the
 * secrets, codes, tokens, passwords or cookies. The line of every answered
 * request, which Latchkey builds itself, is the line pino would write.
 */
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { CompletedLines, deferChildLoggers, directStream, epochTime, loggerOptions, OneLinePerRequest, roundedMs, roundedMsText } from '../../src/http/logging.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { Agent, ISSUER, PASSWORD, REDIRECT_URI, VERIFIER, basic, runBrowserFlow, tokenRequest } from '../support/agent.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, seedScopes } from '../support/fixtures.js';

const sqlite = (await dialects()).find((dialect) => dialect.name === 'sqlite');

describe('logs carry request ids and no credentials', () => {
  let database: TestDatabase;
  let store: KyselyStore;
  const apps: FastifyInstance[] = [];
  let logs = '';
  /** Every credential seen during the flows, by what it is. */
  const secrets: Record<string, string> = { password: PASSWORD, verifier: VERIFIER };

  async function app(preset: string): Promise<FastifyInstance> {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => void (logs += chunk.toString()));
    const built = await buildApp({ config: loadConfig({ issuer: ISSUER, logLevel: 'trace', preset }, {}), store, logStream: stream });
    apps.push(built);
    return built;
  }

  before(async () => {
    database = await (sqlite as NonNullable<typeof sqlite>).create();
    store = await database.open();
    await seedScopes(store);
    await makeUser(store);
  });
  after(async () => {
    await Promise.all(apps.map((built) => built.close()));
    await database?.drop();
  });

  test('the default preset: sign-in, consent, token, refresh, reuse, revoke, introspect', async () => {
    const server = await app('default');
    const { client, secret } = await makeClient(store);
    const resource = await makeClient(store, { name: 'Platform API', isResourceServer: true, grantTypes: [], redirectUris: [] });
    secrets.clientSecret = secret;
    secrets.resourceSecret = resource.secret;
    const agent = new Agent(server);
    // A failed sign-in first: the wrong password must not be logged either.
    const wrong = 'an-incorrect-password-42';
    secrets.wrongPassword = wrong;
    await assert.rejects(runBrowserFlow(new Agent(server), { clientId: client.id, password: wrong }));
    const redirect = await runBrowserFlow(agent, { clientId: client.id });
    const code = redirect.searchParams.get('code') as string;
    secrets.code = code;
    assert.ok(agent.cookies.size > 0, 'the sign-in set a cookie');
    for (const [name, value] of agent.cookies) secrets[`cookie ${name}`] = value;
    await server.inject({ method: 'GET', url: `/demo/callback?code=${code}&state=x` });
    const auth = { authorization: basic(client.id, secret) };
    const issued = await tokenRequest(server, { grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI, code_verifier: VERIFIER }, auth);
    assert.equal(issued.statusCode, 200, issued.body);
    const tokens = issued.json() as { access_token: string; refresh_token: string };
    secrets.access = tokens.access_token;
    secrets.refresh = tokens.refresh_token;
    const refreshed = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: client.id, client_secret: secret });
    assert.equal(refreshed.statusCode, 200, refreshed.body);
    const next = refreshed.json() as { access_token: string; refresh_token: string };
    secrets.access2 = next.access_token;
    secrets.refresh2 = next.refresh_token;
    await server.inject({ url: '/api/me', headers: { authorization: `Bearer ${next.access_token}` } });
    const introspected = await server.inject({
      method: 'POST',
      url: '/oauth/introspect',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(resource.client.id, resource.secret) },
      payload: new URLSearchParams({ token: next.access_token }).toString(),
    });
    assert.equal(introspected.statusCode, 200, introspected.body);
    assert.equal(introspected.json().active, true);
    const revoked = await server.inject({
      method: 'POST',
      url: '/oauth/revoke',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...auth },
      payload: new URLSearchParams({ token: next.refresh_token, token_type_hint: 'refresh_token' }).toString(),
    });
    assert.equal(revoked.statusCode, 200);
    // Replaying the first refresh token is reuse: the grant is revoked, and that is logged.
    const replay = await tokenRequest(server, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token }, auth);
    assert.equal(replay.statusCode, 400);
    // A credential in a query string, where a careless logger would print it.
    await server.inject({ method: 'GET', url: `/oauth/token?access_token=${next.access_token}&client_secret=${secret}` });
  });

  test('the goto preset: the password grant, legacy (query string) and v2 (form)', async () => {
    const server = await app('goto');
    const legacy = await makeClient(store, { name: 'Old Integration', isLegacy: true });
    secrets.legacySecret = legacy.secret;
    const query = new URLSearchParams({ grant_type: 'password', user_id: 'ada@example.com', password: PASSWORD, client_id: legacy.client.id });
    const old = await server.inject({ method: 'GET', url: `/oauth/access_token?${query}` });
    assert.equal(old.statusCode, 200, old.body);
    secrets.legacyAccess = old.json().access_token;
    const v2 = await tokenRequest(server, { grant_type: 'password', username: 'ada@example.com', password: PASSWORD }, { authorization: basic(legacy.client.id, legacy.secret) }, '/oauth/v2/token');
    assert.equal(v2.statusCode, 200, v2.body);
    secrets.v2Access = v2.json().access_token;
    secrets.v2Refresh = v2.json().refresh_token;
  });

  test('no captured log line holds any of them', () => {
    assert.ok(logs.length > 1000, 'the logs were captured');
    assert.match(logs, /access_token=(%5Bredacted%5D|\[redacted\])/, 'the query-string credentials were logged masked');
    for (const [what, value] of Object.entries(secrets)) {
      assert.ok(value, `${what} was not captured by the flow`);
      assert.ok(!logs.includes(value), `${what} leaked into the logs`);
    }
  });

  test('every line about a request carries its request id', () => {
    const lines = logs.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const aboutRequests = lines.filter((line) => 'req' in line || 'res' in line || 'reqId' in line);
    assert.ok(aboutRequests.length > 10, `${aboutRequests.length} request lines`);
    for (const line of aboutRequests) assert.match(String(line.reqId), /^[0-9a-f-]{36}$/, JSON.stringify(line));
    // Lines without one are the application's own (start-up, schedules), never a request's.
    for (const line of lines.filter((entry) => !('reqId' in entry))) assert.ok(!('req' in line) && !('res' in line), JSON.stringify(line));
  });
});

describe('the "request completed" line', () => {
  /** A Fastify logger configured as buildApp configures it, and the lines it writes. */
  function logger(stream: NodeJS.WritableStream = new PassThrough()): { log: FastifyBaseLogger; lines: string[] } {
    const lines: string[] = [];
    if (stream instanceof PassThrough) stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split(/(?<=\n)/)));
    return { log: Fastify({ logger: loggerOptions('info', stream) }).log, lines };
  }
  const withoutTime = (line: string) => line.replace(/"time":\d+/, '"time":0');
  const requests = [
    { id: 'c3d1f0a2-0000-4000-8000-000000000001', method: 'GET', url: '/healthz', ip: '127.0.0.1' },
    { id: 'c3d1f0a2-0000-4000-8000-000000000002', method: 'POST', url: '/oauth/token?code=secret-code&state=%22x%22', ip: '::1' },
    { id: 'c3d1f0a2-0000-4000-8000-000000000003', method: 'GET', url: '/p?q="quoted"\\back\u0001\u00fc\u2028', ip: undefined },
    // A request id with characters JSON escapes (CompletedLines writes whatever id Fastify was given).
    { id: 'partner-"7"\\x', method: 'DELETE', url: '/api/"me"', ip: '10.0.0.7' },
  ];
  const replies = [
    { statusCode: 200, elapsedTime: 0.123456789 },
    { statusCode: 302, elapsedTime: 12 },
    { statusCode: 401, elapsedTime: 3.1000004 },
  ];

  test('is, byte for byte, the line pino writes for the same request (but for the time)', async () => {
    const { log, lines } = logger();
    for (const request of requests) {
      for (const reply of replies) {
        assert.ok(directStream(log), 'the line is written directly for the logger buildApp configures');
        const fast = (CompletedLines.of(log) as CompletedLines).line('reqId', request as unknown as FastifyRequest, reply as unknown as FastifyReply);
        log.info({ reqId: request.id, req: request, res: reply, responseTime: roundedMs(reply.elapsedTime) }, 'request completed');
        await new Promise((resolve) => setImmediate(resolve));
        const byPino = lines.pop() as string;
        assert.equal(withoutTime(fast), withoutTime(byPino));
        assert.ok(!fast.includes('secret-code'), 'a credential parameter of the URL is masked');
      }
    }
  });

  test('its response time is in milliseconds to the microsecond, written as JavaScript writes the rounded number', () => {
    const samples = [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.12, 0.123456789, 1.0005, 2.5, 3.1000004, 12, 99.999, 99.9996, 1234.5, 2_147_483.647, 2_147_483.648, 1e12 + 0.25, Number.NaN];
    for (let index = 0; index < 2000; index++) samples.push(Math.random() * 10 ** Math.floor(Math.random() * 6));
    for (const ms of samples) assert.equal(roundedMsText(ms), `${roundedMs(ms)}`, String(ms));
    assert.deepEqual([roundedMsText(0.123456789), roundedMsText(12), roundedMsText(0.1204)], ['0.123', '12', '0.12']);
  });

  test("its time is pino's epoch time, made once per millisecond", () => {
    const before = Date.now();
    const time = epochTime();
    const after = Date.now();
    const match = /^,"time":(\d+)$/.exec(time);
    assert.ok(match, time);
    assert.ok(Number(match[1]) >= before && Number(match[1]) <= after);
    assert.match(pino.stdTimeFunctions.epochTime(), /^,"time":\d+$/, "pino's own, in the same form");
  });

  test('OneLinePerRequest writes it, and leaves it to pino where the stream wants metadata', async () => {
    const plain = logger();
    const request = { ...requests[1], server: { log: plain.log } };
    new OneLinePerRequest().requestCompleted(null, request as unknown as FastifyRequest, replies[0] as unknown as FastifyReply);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(plain.lines.length, 1);
    assert.deepEqual(JSON.parse(plain.lines[0] as string).req, { method: 'POST', url: '/oauth/token?code=%5Bredacted%5D&state=%22x%22', remoteAddress: '::1' });

    // pino.multistream reads the level and object of each line from the logger (needsMetadata).
    const target = new PassThrough();
    let written = '';
    target.on('data', (chunk: Buffer) => void (written += chunk.toString()));
    const multi = logger(pino.multistream([{ stream: target, level: 'info' }]) as unknown as NodeJS.WritableStream);
    assert.equal(directStream(multi.log), undefined);
    new OneLinePerRequest().requestCompleted(null, { ...request, server: { log: multi.log } } as unknown as FastifyRequest, replies[0] as unknown as FastifyReply);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(JSON.parse(written).msg, 'request completed');
    assert.equal(JSON.parse(written).res.statusCode, 200);
  });

  test('one controller writes each line to its own logger, with the bindings the logger has now', async () => {
    const first = logger();
    const second = logger();
    const controller = new OneLinePerRequest();
    const complete = (log: FastifyBaseLogger, index: number) =>
      controller.requestCompleted(null, { ...requests[index], server: { log } } as unknown as FastifyRequest, replies[0] as unknown as FastifyReply);
    complete(first.log, 0);
    complete(second.log, 1);
    (first.log as pino.Logger).setBindings({ zone: 'eu' });
    complete(first.log, 2);
    await new Promise((resolve) => setImmediate(resolve));
    const ids = (lines: string[]) => lines.map((line) => JSON.parse(line) as { reqId: string; zone?: string });
    assert.deepEqual(
      ids(first.lines).map(({ reqId, zone }) => [reqId, zone]),
      [
        [requests[0]?.id, undefined],
        [requests[2]?.id, 'eu'],
      ],
    );
    assert.deepEqual(
      ids(second.lines).map(({ reqId }) => reqId),
      [requests[1]?.id],
    );
  });

  test('with logging off (Fastify\'s null logger) there is nothing to write to, and nothing fails', () => {
    const log = Fastify({ logger: false }).log;
    assert.equal(directStream(log), undefined);
    new OneLinePerRequest().requestCompleted(null, { ...requests[0], server: { log } } as unknown as FastifyRequest, replies[0] as unknown as FastifyReply);
  });

  test('below the info level nothing is written', async () => {
    const lines: string[] = [];
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const log = Fastify({ logger: loggerOptions('warn', stream) }).log;
    new OneLinePerRequest().requestCompleted(null, { ...requests[0], server: { log } } as unknown as FastifyRequest, replies[0] as unknown as FastifyReply);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(lines, []);
  });
});

describe("a request's logger", () => {
  test('is made on first use, with the request id bound, and not at all for a request that logs nothing', async () => {
    const stream = new PassThrough();
    let written = '';
    stream.on('data', (chunk: Buffer) => void (written += chunk.toString()));
    const app = Fastify({
      logger: loggerOptions('info', stream),
      logController: new OneLinePerRequest(),
      genReqId: () => 'request-1',
    });
    // Counts the children pino makes: deferChildLoggers calls this one when a logger first logs.
    let children = 0;
    const child = app.log.child;
    app.log.child = function counted(this: typeof app.log, ...args: Parameters<typeof child>) {
      children += 1;
      return child.apply(this, args);
    } as typeof app.log.child;
    deferChildLoggers(app.log);
    app.get('/quiet', async () => ({ ok: true }));
    app.get('/chatty', async (request) => {
      request.log.warn({ detail: 'something' }, 'a warning');
      request.log.child({ step: 'two' }).warn('a nested warning');
      return { ok: true };
    });
    assert.equal((await app.inject('/quiet')).statusCode, 200);
    assert.equal(children, 0, 'no child logger for a request that logs nothing of its own');
    assert.equal((await app.inject('/chatty')).statusCode, 200);
    assert.equal(children, 2, "the request's logger, then its own child");
    await new Promise((resolve) => setImmediate(resolve));
    const lineSaying = (msg: string) =>
      written
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .find((line) => line.msg === msg);
    const warning = lineSaying('a warning');
    assert.equal(warning?.reqId, 'request-1');
    assert.equal(warning?.level, 40);
    // A child of the request's logger is pino's own, with both bindings.
    const nested = lineSaying('a nested warning');
    assert.deepEqual([nested?.reqId, nested?.step], ['request-1', 'two']);
    await app.close();
  });

  test('takes a route’s own level, before and after it is made', () => {
    const parent = Fastify({ logger: loggerOptions('info', new PassThrough()) }).log;
    deferChildLoggers(parent);
    const logger = parent.child({ reqId: 'r' }, { level: 'warn' });
    assert.equal(logger.level, 'warn');
    logger.info('not written at warn');
    assert.equal(logger.level, 'warn');
    logger.level = 'debug';
    assert.equal(logger.level, 'debug');
  });
});

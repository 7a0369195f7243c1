/**
 * Graceful shutdown: SIGTERM to a server process under a steady load of token
 * requests (refresh-token rotation, several clients at once). Every request
 * the server had accepted is answered, every answer is a success, and the
 * process exits 0 once drained. Connections refused or cut after the signal,
 * before the server read a request, are the load balancer's to retry.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';
import { protocolSettings } from '../../src/app.js';
import { loadConfig } from '../../src/config/schema.js';
import { approveAuthorization } from '../../src/core/authorize.js';
import type { KyselyStore } from '../../src/store/kysely/store.js';
import { dialects, type TestDatabase } from '../support/databases.js';
import { makeClient, makeUser, REDIRECT_URI, seedScopes } from '../support/fixtures.js';
import { type ServerProcess, startServerProcess } from '../support/process.js';

// Enough clients that requests queue: some are then still being answered well after they were sent.
const WORKERS = 64;
/**
 * The signal goes once this many requests have been answered, not after a fixed time: on a
 * machine busy with other test files, 1.5 s of load was once only 320 requests.
 */
const ANSWERED_BEFORE_SIGNAL = WORKERS * 6;
const LOAD_LIMIT_MS = 60_000;
/** A request started this long before the signal was certainly read by the server before it stopped accepting. */
const ON_THE_WIRE_MS = 25;

const sqlite = (await dialects()).find((dialect) => dialect.name === 'sqlite') as NonNullable<Awaited<ReturnType<typeof dialects>>[number]>;

interface Outcome {
  startedAt: number;
  endedAt: number;
  status: number | undefined;
  error: string | undefined;
}

describe('SIGTERM under load', () => {
  let database: TestDatabase;
  let store: KyselyStore;
  let server: ServerProcess;
  let authorization: string;
  let clientId: string;
  let userId: string;
  let accountId: string;

  before(async () => {
    database = await sqlite.create();
    store = await database.open();
    await seedScopes(store);
    const { user, accounts } = await makeUser(store);
    userId = user.id;
    accountId = (accounts[0] as { id: string }).id;
    const { client, secret } = await makeClient(store);
    clientId = client.id;
    authorization = `Basic ${Buffer.from(`${client.id}:${secret}`).toString('base64')}`;
    server = await startServerProcess({ dataDir: (database.sqliteFile as string).replace(/\/latchkey\.sqlite$/, ''), env: { LATCHKEY_SHUTDOWN_GRACE_SECONDS: '10' } });
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await database?.drop();
  });

  async function post(fields: Record<string, string>): Promise<{ status: number; body: Record<string, string> }> {
    const response = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization },
      body: new URLSearchParams(fields),
    });
    return { status: response.status, body: (await response.json()) as Record<string, string> };
  }

  async function firstRefreshToken(): Promise<string> {
    const request = {
      clientId,
      redirectUri: REDIRECT_URI,
      redirectUriExplicit: true,
      scopes: ['profile'],
      state: undefined,
      codeChallenge: undefined,
      codeChallengeMethod: undefined,
      prompt: [],
      channel: 'default',
      extensions: {},
    };
    const { code } = await approveAuthorization(request, { userId, accountId, partnerId: null }, { store, settings: protocolSettings(loadConfig({}, {})), now: Date.now() });
    const issued = await post({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT_URI });
    assert.equal(issued.status, 200, JSON.stringify(issued.body));
    return issued.body.refresh_token as string;
  }

  test('requests accepted before the signal all succeed, and the process exits 0', async (t) => {
    const tokens = await Promise.all(Array.from({ length: WORKERS }, () => firstRefreshToken()));
    const outcomes: Outcome[] = [];
    let stopped = false;
    const worker = async (initial: string) => {
      let token = initial;
      while (!stopped) {
        const startedAt = performance.now();
        try {
          const { status, body } = await post({ grant_type: 'refresh_token', refresh_token: token });
          outcomes.push({ startedAt, endedAt: performance.now(), status, error: undefined });
          if (status !== 200) return;
          token = body.refresh_token as string;
        } catch (error) {
          const cause = (error as { cause?: { code?: string; message?: string } }).cause;
          outcomes.push({ startedAt, endedAt: performance.now(), status: undefined, error: cause?.code ?? cause?.message ?? String(error) });
          return;
        }
      }
    };
    const load = Promise.all(tokens.map(worker));
    const loadStartedAt = performance.now();
    while (outcomes.length < ANSWERED_BEFORE_SIGNAL) {
      assert.ok(performance.now() - loadStartedAt < LOAD_LIMIT_MS, `only ${outcomes.length} requests answered in ${LOAD_LIMIT_MS} ms`);
      assert.ok(outcomes.every((outcome) => outcome.status === 200), `a request failed before the signal: ${JSON.stringify(outcomes.find((outcome) => outcome.status !== 200))}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const exited = once(server.child, 'exit') as Promise<[number | null, string | null]>;
    const signalledAt = performance.now();
    server.child.kill('SIGTERM');
    const [code] = await exited;
    const exitedAt = performance.now();
    stopped = true;
    await load;

    const before = outcomes.filter((outcome) => outcome.startedAt < signalledAt - ON_THE_WIRE_MS);
    const inFlight = before.filter((outcome) => outcome.endedAt > signalledAt);
    const answered = outcomes.filter((outcome) => outcome.status !== undefined);
    const report = `${outcomes.length} requests, ${before.length} before the signal (${inFlight.length} in flight at it), exit after ${Math.round(exitedAt - signalledAt)} ms; failures: ${JSON.stringify(outcomes.filter((outcome) => outcome.status !== 200).map((outcome) => ({ at: Math.round(outcome.startedAt - signalledAt), status: outcome.status, error: outcome.error })))}`;
    t.diagnostic(report);
    assert.equal(code, 0, `exit code; ${report}\n${server.output()}`);
    assert.ok(inFlight.length > 0, `no request was in flight at the signal: ${report}`);
    for (const outcome of before) assert.equal(outcome.status, 200, report);
    // Whatever the server answered, even after the signal, it answered with success: no 503s, no 500s.
    for (const outcome of answered) assert.equal(outcome.status, 200, report);
  });
});

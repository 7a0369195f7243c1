/**
 * `latchkey serve` run for real on port 0: the first-run banner, the health
 * check, the printed credentials at work, and a clean exit on SIGTERM; and
 * how port 0 is held until the server binds it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ENV_VARS } from '../../src/config/schema.js';
import { reservePort } from '../../src/server.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin', 'latchkey.js');
/** Settings the CLI reads from the environment: none may leak in from the shell running the tests. */
function isSetting(name: string): boolean {
  return Object.hasOwn(ENV_VARS, name) || name.startsWith('LATCHKEY_') || name === 'NODE_TEST_CONTEXT' || name === 'NODE_OPTIONS';
}
/** Generous: the machine may be busy with other test files. */
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 10_000;

interface Served {
  child: ChildProcess;
  /** The base URL from the "listening on" line. */
  url: string;
  /** Everything printed on stdout up to and including the "listening on" line. */
  banner: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: ChildProcess[] = [];

function serve(dataDir: string): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (isSetting(name)) delete env[name];
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--data-dir', dataDir], {
    cwd: REPO,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not print "listening on" within ${START_TIMEOUT_MS} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, START_TIMEOUT_MS);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const match = /^.*listening on (http:\/\/[^\s;]+).*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1] as string, banner: stdout.slice(0, (match.index ?? 0) + match[0].length), exited });
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`serve exited (${code ?? signal}) before listening\nstdout: ${stdout}\nstderr: ${stderr}`));
    });
  });
}

async function stop(served: Served): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const start = Date.now();
  served.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running ${STOP_TIMEOUT_MS} ms after SIGTERM`)), STOP_TIMEOUT_MS);
  });
  try {
    const result = await Promise.race([served.exited, timeout]);
    return { ...result, ms: Date.now() - start };
  } finally {
    clearTimeout(timer);
  }
}

/** The value printed after `label` on a banner line ("  Admin password  xyz"). */
function bannerValue(banner: string, label: string): string {
  const value = new RegExp(`^\\s*${label}\\s+(\\S+)\\s*$`, 'm').exec(banner)?.[1];
  assert.ok(value, `no "${label}" line in:\n${banner}`);
  return value;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

/** A token request that needs no earlier flow: a made-up refresh token, authenticated with Basic. */
function bogusRefresh(url: string, authorization: string): Promise<Response> {
  return fetch(`${url}/oauth/token`, {
    method: 'POST',
    headers: { authorization },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: 'lk_rt_bogus' }),
  });
}

function sessionCookie(response: Response): string {
  const cookie = response.headers.getSetCookie().find((value) => value.startsWith('latchkey_session='));
  assert.ok(cookie, `no session cookie in ${JSON.stringify(response.headers.getSetCookie())}`);
  return cookie.split(';')[0] as string;
}

describe('latchkey serve', { concurrency: false }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'latchkey-serve-'));
  let first: Served;
  let admin: { email: string; password: string };
  let demo: { clientId: string; secret: string };

  before(async () => {
    first = await serve(dataDir);
  });
  after(() => {
    for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the first start prints the admin user, its password, the demo client and an authorize URL', () => {
    assert.match(first.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(new URL(first.url).port, '0', 'the printed URL should carry the bound port');
    for (const label of ['Admin user', 'Admin password', 'client_id', 'client_secret']) assert.ok(first.banner.includes(label), `no "${label}"`);
    admin = { email: bannerValue(first.banner, 'Admin user'), password: bannerValue(first.banner, 'Admin password') };
    demo = { clientId: bannerValue(first.banner, 'client_id'), secret: bannerValue(first.banner, 'client_secret') };
    assert.match(admin.email, /@/);
    assert.ok(admin.password.length >= 10, admin.password);
    assert.match(demo.clientId, /^lkc_/);
    assert.match(demo.secret, /^lk_cs_[A-Za-z0-9_-]{43}$/);

    const authorize = /^\s*(http\S*\/oauth\/authorize\?\S+)\s*$/m.exec(first.banner)?.[1];
    assert.ok(authorize, `no authorize URL in:\n${first.banner}`);
    const params = new URL(authorize).searchParams;
    assert.equal(params.get('response_type'), 'code');
    assert.equal(params.get('client_id'), demo.clientId);
    assert.match(params.get('redirect_uri') ?? '', /\/demo\/callback$/);
    // With --port 0 the issuer, the authorize URL and the demo redirect use the bound port.
    assert.equal(new URL(authorize).origin, first.url);
    assert.equal(params.get('redirect_uri'), `${first.url}/demo/callback`);
  });

  test('GET /healthz answers 200 {"status":"ok"}', async () => {
    const response = await fetch(`${first.url}/healthz`);
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { status: 'ok' });
  });

  test('the printed demo client secret authenticates at the token endpoint; a wrong one does not', async () => {
    const right = await bogusRefresh(first.url, basic(demo.clientId, demo.secret));
    assert.equal(right.status, 400);
    assert.equal(((await right.json()) as { error: string }).error, 'invalid_grant');

    const wrong = await bogusRefresh(first.url, basic(demo.clientId, `${demo.secret.slice(0, -1)}${demo.secret.endsWith('A') ? 'B' : 'A'}`));
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_client');
  });

  test('the printed admin credentials sign in; a wrong password does not', async () => {
    const page = await fetch(`${first.url}/login`);
    assert.equal(page.status, 200);
    const anonymous = sessionCookie(page);
    const csrf = /name="csrf_token" value="([^"]+)"/.exec(await page.text())?.[1];
    assert.ok(csrf, 'no CSRF token on the sign-in page');
    const signIn = (password: string) =>
      fetch(`${first.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { cookie: anonymous },
        body: new URLSearchParams({ csrf_token: csrf, email: admin.email, password }),
      });

    const refused = await signIn(`${admin.password}x`);
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();

    const accepted = await signIn(admin.password);
    assert.equal(accepted.status, 303);
    assert.equal(accepted.headers.get('location'), '/account');
    const home = await fetch(`${first.url}/account`, { redirect: 'manual', headers: { cookie: sessionCookie(accepted) } });
    assert.equal(home.status, 200);
    const html = await home.text();
    assert.ok(html.includes(admin.email), 'the account page should show the signed-in email');
    assert.ok(html.includes('Demo Company'), 'the account page should list the admin account');
  });

  test('SIGTERM makes it exit with code 0 within a few seconds', async () => {
    const { code, signal, ms } = await stop(first);
    assert.equal(signal, null);
    assert.equal(code, 0);
    assert.ok(ms < STOP_TIMEOUT_MS, `took ${ms} ms`);
  });

  test('a second start on the same data directory prints no credentials and keeps the demo client', async () => {
    const second = await serve(dataDir);
    try {
      assert.ok(!second.banner.includes('Admin password'), second.banner);
      assert.ok(!second.banner.includes('client_secret'), second.banner);
      assert.ok(!second.banner.includes(admin.password), 'the admin password was printed again');
      assert.ok(!second.banner.includes(demo.secret), 'the demo secret was printed again');

      const health = await fetch(`${second.url}/healthz`);
      assert.equal(health.status, 200);
      await health.arrayBuffer();
      const token = await bogusRefresh(second.url, basic(demo.clientId, demo.secret));
      assert.equal(token.status, 400, 'the demo client from the first start should still authenticate');
      assert.equal(((await token.json()) as { error: string }).error, 'invalid_grant');
    } finally {
      const { code } = await stop(second);
      assert.equal(code, 0);
    }
  });
});

describe('port 0: the port is held from the start until the server binds it', () => {
  const bind = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve(server));
    });

  test('no one else can bind a reserved port; the server can once it is released, released once however often asked', async () => {
    const reserved = await reservePort('127.0.0.1');
    assert.ok(reserved.port > 0);
    await assert.rejects(bind(reserved.port), { code: 'EADDRINUSE' });
    await Promise.all([reserved.release(), reserved.release()]);
    await reserved.release();
    const server = await bind(reserved.port);
    await new Promise((resolve) => server.close(resolve));
  });
});

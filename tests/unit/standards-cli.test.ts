/** The CLI for the standards: `keys list`, `keys rotate`, and the new client options. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { ENV_VARS } from '../../src/config/schema.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'latchkey-standards-cli-'));

function latchkey(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) {
    if (Object.hasOwn(ENV_VARS, name) || name.startsWith('LATCHKEY_') || name === 'NODE_TEST_CONTEXT' || name === 'NODE_OPTIONS') delete env[name];
  }
  const child = spawn(process.execPath, [join(REPO, 'bin', 'latchkey.js'), ...args, '--data-dir', dir], { cwd: REPO, env });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => void (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

async function json(args: string[]): Promise<Record<string, unknown>> {
  const run = await latchkey([...args, '--json']);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe('latchkey keys and client options', { concurrency: false }, () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys rotate creates a signing key; a second rotation retires the first; keys list shows both', async () => {
    assert.deepEqual(await json(['keys', 'list']), { keys: [] });
    const first = await json(['keys', 'rotate']);
    assert.match(first.kid as string, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(first.retired, []);
    const second = await json(['keys', 'rotate']);
    assert.deepEqual(second.retired, [first.kid]);
    const { keys } = (await json(['keys', 'list'])) as { keys: Array<{ kid: string; status: string; alg: string; retired_at: string | null }> };
    assert.deepEqual(
      keys.map((key) => [key.kid, key.status, key.alg]),
      [
        [second.kid, 'active', 'ES256'],
        [first.kid, 'retired', 'ES256'],
      ],
    );
    assert.ok(keys[1]?.retired_at);
    const text = await latchkey(['keys', 'list']);
    assert.ok(!text.stdout.includes('"d"'), 'no private key material is printed');
    // A leaked key: --drop-previous deletes every previous key at once.
    const dropped = await json(['keys', 'rotate', '--drop-previous']);
    assert.deepEqual([...(dropped.dropped as string[])].sort(), [first.kid, second.kid].sort());
    assert.equal(dropped.revoked_tokens, 0);
    const after = (await json(['keys', 'list'])) as { keys: Array<{ kid: string }> };
    assert.deepEqual(after.keys.map((key) => key.kid), [dropped.kid]);
  });

  test('a machine client and a resource server need no redirect URI', async () => {
    const machine = await json(['clients', 'create', '--name', 'Nightly sync', '--grant-type', 'client_credentials', '--scope', 'read']);
    assert.deepEqual(machine.redirect_uris, []);
    assert.deepEqual(machine.grant_types, ['client_credentials']);
    assert.match(machine.client_secret as string, /^lk_cs_/);
    const resourceServer = await json(['clients', 'create', '--name', 'Platform API', '--resource-server']);
    assert.equal(resourceServer.resource_server, true);
    assert.deepEqual(resourceServer.grant_types, []);
    const missing = await latchkey(['clients', 'create', '--name', 'Web']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /required option '--redirect-uri/);
    const publicResourceServer = await latchkey(['clients', 'create', '--name', 'X', '--resource-server', '--public']);
    assert.equal(publicResourceServer.code, 2);
    assert.match(publicResourceServer.stderr, /confidential/);
  });

  test('--access-token-format on create and update', async () => {
    const created = await json(['clients', 'create', '--name', 'JWT App', '--redirect-uri', 'https://a.example/cb', '--access-token-format', 'jwt']);
    assert.equal(created.access_token_format, 'jwt');
    const cleared = await json(['clients', 'update', created.client_id as string, '--access-token-format', 'default']);
    assert.equal(cleared.access_token_format, null);
    const opaque = await json(['clients', 'update', created.client_id as string, '--access-token-format', 'opaque', '--resource-server']);
    assert.equal(opaque.access_token_format, 'opaque');
    assert.equal(opaque.resource_server, true);
    const bogus = await latchkey(['clients', 'update', created.client_id as string, '--access-token-format', 'paseto']);
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /invalid/);
  });
});

/**
 * Configuration: one schema read from a config file, overridden by the
 * environment, overridden by flags; `latchkey config check`; the generated
 * settings table in docs/configuration.md.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { configurationDocs } from '../../src/config/docs.js';
import { ConfigError, configSchema, ENV_VARS, loadConfig, maskedConfig, resolveConfig } from '../../src/config/schema.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'latchkey-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, values: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof values === 'string' ? values : JSON.stringify(values));
  return path;
}

function assertOneLine(load: () => unknown, pattern: RegExp): void {
  assert.throws(load, (error: unknown) => {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(!error.message.includes('\n'), error.message);
    assert.match(error.message, pattern);
    return true;
  });
}

describe('config file, environment, flags', () => {
  test('the file sets settings, the environment overrides it, flags override both', () => {
    const file = writeConfig('layers.json', { port: 4000, host: '0.0.0.0', brandName: 'From file', lockoutThreshold: 7 });
    const { config, origins } = resolveConfig({ port: '5000' }, { LATCHKEY_HOST: '10.0.0.1', LATCHKEY_BRAND_NAME: 'From env' }, { file });
    assert.equal(config.port, 5000);
    assert.equal(config.host, '10.0.0.1');
    assert.equal(config.brandName, 'From env');
    assert.equal(config.lockoutThreshold, 7);
    assert.equal(config.logLevel, 'info');
    assert.deepEqual([origins.port, origins.host, origins.lockoutThreshold, origins.logLevel], ['flag', 'env', 'file', 'default']);
  });

  test('latchkey.config.json in the working directory is read when no file is named', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, 'latchkey.config.json'), JSON.stringify({ preset: 'go1' }));
    assert.equal(resolveConfig({}, {}, { cwd }).config.preset, 'go1');
    assert.equal(resolveConfig({}, {}, { cwd: dir }).config.preset, 'default');
    // loadConfig without sources reads no file (library use, tests).
    assert.equal(loadConfig({}, {}).preset, 'default');
  });

  test('a LATCHKEY_* variable wins over the short name', () => {
    assert.equal(loadConfig({}, { PORT: '1111', LATCHKEY_PORT: '2222' }).port, 2222);
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgres://a/x', LATCHKEY_DATABASE_URL: 'postgres://b/y' }).databaseUrl, 'postgres://b/y');
  });

  test('every setting has a LATCHKEY_* environment variable, and every variable names a setting', () => {
    const keys = Object.keys(configSchema.shape);
    for (const key of keys) {
      assert.ok(
        Object.entries(ENV_VARS).some(([name, setting]) => setting === key && name.startsWith('LATCHKEY_')),
        `${key} has no LATCHKEY_* variable`,
      );
    }
    for (const setting of Object.values(ENV_VARS)) assert.ok(keys.includes(setting), setting);
  });

  test('every setting is described', () => {
    for (const [key, field] of Object.entries(configSchema.shape)) assert.ok(field.description, `${key} has no .describe()`);
  });

  test('an invalid value in the file stops with one line naming the setting and the file', () => {
    const file = writeConfig('bad-port.json', { port: 70000 });
    assertOneLine(() => resolveConfig({}, {}, { file }), /^invalid setting port: .*bad-port\.json/);
    const level = writeConfig('bad-level.json', { logLevel: 'loud' });
    assertOneLine(() => resolveConfig({}, {}, { file: level }), /^invalid setting logLevel: /);
  });

  test('an unknown key in the file is refused, naming it', () => {
    const file = writeConfig('typo.json', { prot: 3000 });
    assertOneLine(() => resolveConfig({}, {}, { file }), /^unknown setting prot in .*typo\.json$/);
  });

  test('a file that is not JSON, not an object, or missing is refused in one line', () => {
    assertOneLine(() => resolveConfig({}, {}, { file: writeConfig('broken.json', '{"port": 3000,') }), /broken\.json is not valid JSON/);
    assertOneLine(() => resolveConfig({}, {}, { file: writeConfig('array.json', '[1]') }), /must hold one JSON object/);
    assertOneLine(() => resolveConfig({}, {}, { file: join(dir, 'absent.json') }), /cannot read config file .*absent\.json: ENOENT/);
  });

  test('a valid file value overridden by an invalid variable names the setting', () => {
    const file = writeConfig('fine.json', { lockoutSeconds: 60 });
    assertOneLine(() => resolveConfig({}, { LATCHKEY_LOCKOUT_SECONDS: '-1' }, { file }), /^invalid setting lockoutSeconds: /);
  });

  test('secrets are masked: the database and Redis passwords', () => {
    const config = loadConfig({}, { DATABASE_URL: 'postgres://latchkey:s3cr3t-db@db/latchkey', REDIS_URL: 'redis://:s3cr3t-redis@cache:6379' });
    const masked = JSON.stringify(maskedConfig(config));
    assert.ok(!masked.includes('s3cr3t'), masked);
    assert.match(masked, /postgres:\/\/latchkey:\*\*\*\*\*@db\/latchkey/);
  });
});

describe('docs/configuration.md', () => {
  test('is generated from the schema and up to date (regenerate: node bin/latchkey.js config docs > docs/configuration.md)', () => {
    const committed = readFileSync(join(REPO, 'docs', 'configuration.md'), 'utf8');
    assert.equal(committed, configurationDocs());
    for (const key of Object.keys(configSchema.shape)) assert.ok(committed.includes(`| \`${key}\` |`), key);
  });
});

function latchkey(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!Object.hasOwn(ENV_VARS, name) && !name.startsWith('LATCHKEY_') && name !== 'NODE_TEST_CONTEXT') clean[name] = value;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(REPO, 'bin', 'latchkey.js'), ...args], { cwd: dir, env: { ...clean, ...env }, timeout: 60_000, encoding: 'utf8' }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

describe('latchkey config check and serve', () => {
  test('config check --json prints the effective configuration with secrets masked', async () => {
    const file = writeConfig('check.json', { databaseUrl: 'postgres://latchkey:file-password@db/latchkey', brandName: 'Acme' });
    const run = await latchkey(['config', 'check', '--config', file, '--json'], { REDIS_URL: 'redis://user:redis-password@cache:6379', LATCHKEY_PORT: '8443' });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes('password@'), run.stdout);
    const printed = JSON.parse(run.stdout) as { valid: boolean; file: string; config: Record<string, unknown>; sources: Record<string, string> };
    assert.equal(printed.valid, true);
    assert.equal(printed.file, file);
    assert.equal(printed.config.port, 8443);
    assert.equal(printed.config.brandName, 'Acme');
    assert.equal(printed.config.databaseUrl, 'postgres://latchkey:*****@db/latchkey');
    assert.equal(printed.config.redisUrl, 'redis://user:*****@cache:6379');
    assert.equal(printed.sources.port, 'env');
  });

  test('serve with an invalid config file stops before listening, with one line naming the setting', async () => {
    const file = writeConfig('serve-bad.json', { shutdownGraceSeconds: 'soon' });
    const run = await latchkey(['serve', '--config', file, '--port', '0', '--data-dir', join(dir, 'data')], {});
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /^latchkey: invalid setting shutdownGraceSeconds: .*\n$/);
  });
});

/** Server settings: defaults, environment variables, flags and validation. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/schema.js';

/** Asserts that loading fails with a one-line ConfigError naming the setting. */
function assertConfigError(load: () => unknown, setting: string, detail?: RegExp): void {
  assert.throws(load, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${String(error)}`);
    assert.equal(error.name, 'ConfigError');
    assert.ok(!error.message.includes('\n'), `message is not one line: ${error.message}`);
    assert.ok(error.message.startsWith(`invalid setting ${setting}: `), error.message);
    if (detail) assert.match(error.message, detail);
    return true;
  });
}

describe('loadConfig defaults', () => {
  test('with no environment and no flags every setting has its default', () => {
    const config = loadConfig({}, {});
    assert.equal(config.port, 3000);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.issuer, undefined);
    assert.equal(config.preset, 'default');
    assert.equal(config.dataDir, 'data');
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.trustProxy, false);
    assert.equal(config.sessionTtlSeconds, 8 * 3600);
    assert.equal(config.interactionTtlSeconds, 15 * 60);
    assert.equal(config.bodyLimitBytes, 64 * 1024);
    assert.equal(config.secretRotationOverlapSeconds, 24 * 3600);
    assert.equal(config.codeTtlSeconds, undefined);
    assert.equal(config.accessTokenTtlSeconds, undefined);
    assert.equal(config.refreshTokenTtlSeconds, undefined);
    assert.equal(config.refreshReuseGraceSeconds, undefined);
  });
});

describe('loadConfig from the environment', () => {
  test('each documented variable sets its setting, with numbers coerced', () => {
    const config = loadConfig(
      {},
      {
        PORT: '8080',
        HOST: '0.0.0.0',
        LATCHKEY_ISSUER: 'https://auth.example',
        LATCHKEY_PRESET: 'default',
        LATCHKEY_DATA_DIR: '/var/lib/latchkey',
        DATABASE_URL: 'postgres://latchkey@db.internal/latchkey',
        LOG_LEVEL: 'debug',
        LATCHKEY_TRUST_PROXY: 'true',
      },
    );
    assert.equal(config.port, 8080);
    assert.equal(config.host, '0.0.0.0');
    assert.equal(config.issuer, 'https://auth.example');
    assert.equal(config.preset, 'default');
    assert.equal(config.dataDir, '/var/lib/latchkey');
    assert.equal(config.databaseUrl, 'postgres://latchkey@db.internal/latchkey');
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.trustProxy, true);
  });

  test('postgresql:// is accepted as well as postgres://', () => {
    assert.equal(loadConfig({}, { DATABASE_URL: 'postgresql://h/db' }).databaseUrl, 'postgresql://h/db');
  });

  test('LATCHKEY_TRUST_PROXY=false is false (not a truthy string); 0 and no are false too', () => {
    for (const value of ['false', '0', 'no']) {
      assert.equal(loadConfig({}, { LATCHKEY_TRUST_PROXY: value }).trustProxy, false, value);
    }
    for (const value of ['true', '1', 'yes']) {
      assert.equal(loadConfig({}, { LATCHKEY_TRUST_PROXY: value }).trustProxy, true, value);
    }
  });

  test('an empty variable counts as unset', () => {
    const config = loadConfig({}, { PORT: '', LATCHKEY_PRESET: '', DATABASE_URL: '' });
    assert.equal(config.port, 3000);
    assert.equal(config.preset, 'default');
    assert.equal(config.databaseUrl, undefined);
  });

  test('unrelated variables are ignored', () => {
    assert.equal(loadConfig({}, { SESSION_TTL_SECONDS: '5', port: '1' }).port, 3000);
  });
});

describe('loadConfig flags', () => {
  test('an explicit value (a flag) overrides the environment', () => {
    const config = loadConfig({ port: 4000, host: 'example.internal', trustProxy: false }, { PORT: '8080', HOST: '0.0.0.0', LATCHKEY_TRUST_PROXY: 'true' });
    assert.equal(config.port, 4000);
    assert.equal(config.host, 'example.internal');
    assert.equal(config.trustProxy, false);
  });

  test('a flag left undefined does not hide the environment value', () => {
    assert.equal(loadConfig({ port: undefined }, { PORT: '8080' }).port, 8080);
  });

  test('settings without a variable can be given as flags', () => {
    const config = loadConfig({ codeTtlSeconds: 30, refreshReuseGraceSeconds: 0, bodyLimitBytes: 2048 }, {});
    assert.equal(config.codeTtlSeconds, 30);
    assert.equal(config.refreshReuseGraceSeconds, 0);
    assert.equal(config.bodyLimitBytes, 2048);
  });
});

describe('loadConfig validation', () => {
  test('an invalid port is a ConfigError naming port', () => {
    for (const value of ['abc', '70000', '-1', '80.5']) {
      assertConfigError(() => loadConfig({}, { PORT: value }), 'port');
    }
    assertConfigError(() => loadConfig({ port: 65536 }, {}), 'port');
  });

  test('an unknown preset is a ConfigError naming preset and listing the presets', () => {
    assertConfigError(() => loadConfig({}, { LATCHKEY_PRESET: 'nope' }), 'preset', /must be one of: default/);
    assertConfigError(() => loadConfig({ preset: 'nope' }, {}), 'preset');
  });

  test('a database URL that is not postgres:// is a ConfigError naming databaseUrl', () => {
    for (const value of ['mysql://h/db', 'sqlite:data.db', 'data/latchkey.sqlite']) {
      assertConfigError(() => loadConfig({}, { DATABASE_URL: value }), 'databaseUrl', /postgres:\/\//);
    }
  });

  test('an issuer that is not an http(s) URL is a ConfigError naming issuer', () => {
    for (const value of ['auth.example', 'ftp://auth.example']) {
      assertConfigError(() => loadConfig({}, { LATCHKEY_ISSUER: value }), 'issuer');
    }
  });

  test('a trust-proxy value that is not a boolean word is a ConfigError naming trustProxy', () => {
    assertConfigError(() => loadConfig({}, { LATCHKEY_TRUST_PROXY: 'maybe' }), 'trustProxy');
  });

  test('an unknown log level is a ConfigError naming logLevel', () => {
    assertConfigError(() => loadConfig({}, { LOG_LEVEL: 'verbose' }), 'logLevel');
  });

  test('lifetimes must be positive whole seconds and the body limit within bounds', () => {
    assertConfigError(() => loadConfig({ sessionTtlSeconds: 0 }, {}), 'sessionTtlSeconds');
    assertConfigError(() => loadConfig({ accessTokenTtlSeconds: -5 }, {}), 'accessTokenTtlSeconds');
    assertConfigError(() => loadConfig({ codeTtlSeconds: 1.5 }, {}), 'codeTtlSeconds');
    assertConfigError(() => loadConfig({ refreshReuseGraceSeconds: -1 }, {}), 'refreshReuseGraceSeconds');
    assertConfigError(() => loadConfig({ bodyLimitBytes: 1023 }, {}), 'bodyLimitBytes');
    assertConfigError(() => loadConfig({ bodyLimitBytes: 10 * 1024 * 1024 + 1 }, {}), 'bodyLimitBytes');
  });
});
